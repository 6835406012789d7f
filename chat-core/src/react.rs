//! Reactions: any member adds or removes one emoji on a text message that
//! is not deleted; each user holds each emoji at most once, so adding one
//! held, or removing one not held, is refused.

use protocol::chats::{Message, MessageKind};

use crate::ChatError;

/// Whether `author` may add (`on`) or remove `emoji` on `target`; with
/// `exact` false (a reaction another region took and checked) deletion and
/// the one-per-user rule are not checked again.
pub(crate) fn check(
    author: &str,
    emoji: &str,
    on: bool,
    target: &Message,
    exact: bool,
) -> Result<(), ChatError> {
    if target.kind != MessageKind::Text {
        return Err(ChatError::Invalid(format!(
            "message {} is not a text message; only text messages take reactions",
            target.seq
        )));
    }
    if !exact {
        return Ok(());
    }
    if target.deleted {
        return Err(ChatError::Conflict(format!(
            "message {} was deleted",
            target.seq
        )));
    }
    let holds = target
        .reactions
        .get(emoji)
        .is_some_and(|users| users.iter().any(|u| u == author));
    if on && holds {
        return Err(ChatError::Conflict(format!(
            "you already reacted with {emoji} to message {}",
            target.seq
        )));
    }
    if !on && !holds {
        return Err(ChatError::Conflict(format!(
            "you have no {emoji} reaction on message {} to remove",
            target.seq
        )));
    }
    Ok(())
}
