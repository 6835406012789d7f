//! Deletes for everyone: the sender, or an admin or the owner of a group,
//! deletes a text message once. The `delete` entry stays in the log; folding
//! it erases the message's text and edit history in every region.

use protocol::chats::{ChatKind, Message, MessageKind, Role};

use crate::ChatError;

/// Whether `author`, with `role` in a chat of `kind`, may delete `target`.
/// `role` is `None` for a delete another region took and checked: then
/// neither the role nor the deletion is checked again.
pub(crate) fn check(
    author: &str,
    role: Option<Role>,
    kind: ChatKind,
    target: &Message,
) -> Result<(), ChatError> {
    if target.kind != MessageKind::Text {
        return Err(ChatError::Invalid(format!(
            "message {} is not a text message; only text messages can be deleted",
            target.seq
        )));
    }
    if role.is_some() && target.deleted {
        return Err(ChatError::Conflict(format!(
            "message {} is already deleted",
            target.seq
        )));
    }
    if target.sender_id == author {
        return Ok(());
    }
    match role {
        None => Ok(()),
        Some(role) if kind == ChatKind::Group && role >= Role::Admin => Ok(()),
        Some(_) => Err(ChatError::Forbidden(
            "only its sender or a group admin may delete a message".into(),
        )),
    }
}
