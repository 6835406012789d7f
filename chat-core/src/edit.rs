//! Edits: only the sender of a text message may replace its text, and not
//! once it is deleted. The edit is its own entry; folding it keeps the old
//! text in the message's history until a delete erases both.

use protocol::chats::{Message, MessageKind};

use crate::ChatError;

/// Whether `author` may edit `target`; with `exact` false (an edit another
/// region took and checked) its deletion is not checked again.
pub(crate) fn check(author: &str, target: &Message, exact: bool) -> Result<(), ChatError> {
    if target.kind != MessageKind::Text {
        return Err(ChatError::Invalid(format!(
            "message {} is not a text message; only text messages can be edited",
            target.seq
        )));
    }
    if target.sender_id != author {
        return Err(ChatError::Forbidden(
            "only its sender may edit a message".into(),
        ));
    }
    if exact && target.deleted {
        return Err(ChatError::Conflict(format!(
            "message {} was deleted",
            target.seq
        )));
    }
    Ok(())
}
