//! A chat task's store work: loading what a [`ChatCore`] starts from, and
//! committing one batch's [`Write`]s in one transaction. Reads here are
//! snapshot reads — the task is the only writer of its chat's keys, so
//! there is nothing to conflict with — except where a write claims a key
//! shared with other chats (a pair's direct chat).

use std::collections::HashMap;

use chat_core::{ChatError, Loaded, Write};
use protocol::chats::Message;
use protocol::records::{ChatRecord, Marks, MemberRecord};
use store::{Database, RangeOption, Transaction};

use super::{Error, keys, meta};
use crate::codec::{counter, decode, encode};

/// What the store holds of `chat_id`.
pub(super) async fn load(db: &Database, chat_id: &str) -> Result<Loaded, Error> {
    let tx = db.begin();
    let meta = meta::fields(&tx, chat_id).await?;
    let Some(bytes) = tx.get_snapshot(&keys::meta(chat_id)).await? else {
        return Ok(Loaded {
            meta,
            ..Loaded::default()
        });
    };
    let record: ChatRecord = decode(&bytes)?;
    let last_seq = counter(tx.get_snapshot(&keys::last_seq(chat_id)).await?.as_deref());
    let mut members = Vec::new();
    for (_, value) in tx
        .get_range(RangeOption::subspace(&keys::members(chat_id)).snapshot())
        .await?
    {
        members.push(decode::<MemberRecord>(&value)?);
    }
    let mut marks = HashMap::new();
    for (key, value) in tx
        .get_range(RangeOption::subspace(&keys::receipts(chat_id)).snapshot())
        .await?
    {
        marks.insert(keys::receipt_user(&key)?, decode::<Marks>(&value)?);
    }
    Ok(Loaded {
        record: Some(record),
        members,
        last_seq,
        marks,
        meta,
    })
}

/// The stored record of the message at `seq`, if any.
pub(super) async fn message(
    tx: &Transaction,
    chat_id: &str,
    seq: u64,
) -> Result<Option<Message>, Error> {
    match tx.get_snapshot(&keys::message(chat_id, seq)).await? {
        Some(bytes) => Ok(Some(decode(&bytes)?)),
        None => Ok(None),
    }
}

/// What the dedup table holds for `(sender, client_msg_id)`: the `seq` and
/// the stored message's clock.
pub(super) async fn dedup(
    tx: &Transaction,
    chat_id: &str,
    sender: &str,
    client_msg_id: &str,
) -> Result<Option<(u64, protocol::Hlc)>, Error> {
    let Some(bytes) = tx
        .get_snapshot(&keys::dedup(chat_id, sender, client_msg_id))
        .await?
    else {
        return Ok(None);
    };
    let seq = counter(Some(&bytes));
    let Some(stored) = tx.get_snapshot(&keys::message(chat_id, seq)).await? else {
        return Err(ChatError::Storage(format!(
            "dedup key of {chat_id} points at missing seq {seq}"
        ))
        .into());
    };
    let message: Message = decode(&stored)?;
    Ok(Some((seq, message.hlc)))
}

/// Commits one batch's writes.
pub(super) async fn commit(db: &Database, chat_id: &str, writes: Vec<Write>) -> Result<(), Error> {
    let tx = db.begin();
    for write in writes {
        apply(&tx, chat_id, write).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn apply(tx: &Transaction, chat: &str, write: Write) -> Result<(), Error> {
    match write {
        Write::Message(message) => tx.set(&keys::message(chat, message.seq), &encode(&message)),
        Write::Action(entry) => super::fold::apply(tx, chat, entry).await?,
        Write::MessageSwappedWithPrevious(message) => {
            swap_with_previous(tx, chat, &message).await?
        }
        Write::LastSeq(seq) => tx.set(&keys::last_seq(chat), &seq.to_le_bytes()),
        Write::Dedup {
            sender,
            client_msg_id,
            seq,
        } => tx.set(
            &keys::dedup(chat, &sender, &client_msg_id),
            &seq.to_le_bytes(),
        ),
        Write::Record(record) => {
            tx.set(&keys::meta(chat), &encode(&record));
            tx.set(&keys::homed(&record.home_region, chat), b"");
        }
        Write::Member(member) => {
            tx.set(&keys::member(chat, &member.user_id), &encode(&member));
            tx.set(&keys::user_chat(&member.user_id, chat), b"");
        }
        Write::MembersCount(count) => tx.set(&keys::members_count(chat), &count.to_le_bytes()),
        Write::Marks { user, marks } => tx.set(&keys::receipt(chat, &user), &encode(&marks)),
        Write::ClaimDirect { users: [a, b] } => {
            // A conflict-checked read: two chats claiming one pair at once
            // cannot both commit.
            if let Some(existing) = tx.get(&keys::direct(&a, &b)).await? {
                return Err(ChatError::Conflict(format!(
                    "the pair already has direct chat {}",
                    String::from_utf8_lossy(&existing)
                ))
                .into());
            }
            tx.set(&keys::direct(&a, &b), chat.as_bytes());
        }
        Write::Direct { users: [a, b] } => tx.set(&keys::direct(&a, &b), chat.as_bytes()),
    }
    Ok(())
}

/// The deliberate defect `reorder` (consistency tests only): stores
/// `message` one place early and the message before it in its place.
async fn swap_with_previous(tx: &Transaction, chat: &str, message: &Message) -> Result<(), Error> {
    let seq = message.seq;
    let Some(bytes) = tx.get(&keys::message(chat, seq - 1)).await? else {
        tx.set(&keys::message(chat, seq), &encode(message));
        return Ok(());
    };
    let mut previous: Message = decode(&bytes)?;
    previous.seq = seq;
    let early = Message {
        seq: seq - 1,
        ..message.clone()
    };
    tx.set(&keys::message(chat, seq - 1), &encode(&early));
    tx.set(&keys::message(chat, seq), &encode(&previous));
    Ok(())
}
