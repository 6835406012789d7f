//! Replies: a text message may answer an earlier message (a text or system
//! message, not an edit, delete or reaction entry) that its sender may
//! read.

use protocol::chats::Message;

use crate::ChatError;

/// Whether a reply may answer `target`.
pub(crate) fn check(target: &Message) -> Result<(), ChatError> {
    if target.kind.is_action() {
        return Err(ChatError::Invalid(format!(
            "message {} is an {:?} entry; a reply answers a message",
            target.seq, target.kind
        )));
    }
    Ok(())
}
