//! Who may see whose presence. The rule lives here, in one function,
//! [`may_see_presence`]: a user sees their own presence and that of every
//! user they share a chat with, both as current members (of a chat not
//! deleted). Contacts extend it where the relation is known.
//!
//! The rule is applied when a connection subscribes; a subscription held
//! while the two stop sharing a chat lasts until the connection closes.

use std::collections::HashSet;

use protocol::records::{ChatRecord, MemberRecord};
use store::{Database, Transaction};

use super::{Error, keys, reads};
use crate::codec::decode;

/// What the rule knows of one watcher: the chats they are a current member of.
pub struct Watcher {
    user: String,
    chats: HashSet<String>,
}

impl Watcher {
    /// Loads what the rule needs to know of `user`.
    pub async fn load(db: &Database, user: &str) -> Result<Self, Error> {
        let tx = db.begin();
        let mut chats = HashSet::new();
        for chat in reads::user_chat_ids(db, user).await? {
            if is_current_member(&tx, &chat, user).await? {
                chats.insert(chat);
            }
        }
        Ok(Self {
            user: user.to_owned(),
            chats,
        })
    }
}

/// Whether `watcher` may see `target`'s presence.
pub async fn may_see_presence(
    db: &Database,
    watcher: &Watcher,
    target: &str,
) -> Result<bool, Error> {
    if watcher.user == target {
        return Ok(true);
    }
    let tx = db.begin();
    for chat in reads::user_chat_ids(db, target).await? {
        if watcher.chats.contains(&chat) && is_current_member(&tx, &chat, target).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn is_current_member(tx: &Transaction, chat: &str, user: &str) -> Result<bool, Error> {
    let Some(member) = tx.get_snapshot(&keys::member(chat, user)).await? else {
        return Ok(false);
    };
    if !decode::<MemberRecord>(&member)?.is_current() {
        return Ok(false);
    }
    let Some(meta) = tx.get_snapshot(&keys::meta(chat)).await? else {
        return Ok(false);
    };
    Ok(!decode::<ChatRecord>(&meta)?.deleted)
}
