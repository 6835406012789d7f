//! Who shares a chat with whom: both current members of a chat that is not
//! deleted. The presence rule asks it.

use std::collections::HashSet;

use protocol::records::{ChatRecord, MemberRecord};
use store::{Database, Transaction};

use super::{Error, keys, reads};
use crate::codec::decode;

/// The chats one user is a current member of.
pub struct Memberships {
    chats: HashSet<String>,
}

impl Memberships {
    /// Loads the chats `user` is a current member of.
    pub async fn load(db: &Database, user: &str) -> Result<Self, Error> {
        let tx = db.begin();
        let mut chats = HashSet::new();
        for chat in reads::user_chat_ids(db, user).await? {
            if is_current_member(&tx, &chat, user).await? {
                chats.insert(chat);
            }
        }
        Ok(Self { chats })
    }

    /// Whether `other` is a current member of one of these chats.
    pub async fn shared_with(&self, db: &Database, other: &str) -> Result<bool, Error> {
        let tx = db.begin();
        for chat in reads::user_chat_ids(db, other).await? {
            if self.chats.contains(&chat) && is_current_member(&tx, &chat, other).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
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
