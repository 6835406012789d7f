//! Replicated logs in the store. A chat's log is its messages by `seq`;
//! each entry travels with, for the first entry and every system message
//! (the ones that change the chat), the chat's record and members, so a
//! replica learns the chat and keeps its membership without replaying the
//! home's rules. A replica stores the same keys as the home (minus dedup
//! keys), so history reads are the same code everywhere.
//!
//! Entries just committed reach the shippers in memory; [`read`] serves
//! only a peer catching up.

use std::collections::BTreeMap;

use protocol::chats::{Message, MessageKind};
use protocol::peer::{EntryBody, LogEntry};
use protocol::records::{ChatRecord, ChatState, MemberRecord};
use store::RangeOption;

use super::Handles;
use crate::accounts::replication as accounts;
use crate::chat::{Error, keys};
use crate::codec::{counter, decode};

/// Every log this region is home of, with its last `seq`.
pub(super) async fn homed(handles: &Handles, region: &str) -> Result<Vec<(String, u64)>, Error> {
    let mut logs = chats_homed_at(handles, region).await?;
    logs.push(
        accounts::homed(&handles.db, region)
            .await
            .map_err(account_error)?,
    );
    Ok(logs)
}

/// The replica cursors here of every log `peer` is home of.
pub(super) async fn replica_cursors(
    handles: &Handles,
    peer: &str,
) -> Result<BTreeMap<String, u64>, Error> {
    let mut cursors: BTreeMap<String, u64> =
        chats_homed_at(handles, peer).await?.into_iter().collect();
    cursors.insert(
        accounts::log_id(peer),
        accounts::replica_cursor(&handles.db, peer)
            .await
            .map_err(account_error)?,
    );
    Ok(cursors)
}

/// An accounts failure as the replication driver sees it: store, record
/// and link failures as they are, anything else as a storage failure of the
/// account log.
fn account_error(error: crate::accounts::Error) -> Error {
    use crate::accounts::Error as Accounts;
    match error {
        Accounts::Store(error) => Error::Store(error),
        Accounts::Corrupt(error) => Error::Corrupt(error),
        Accounts::Link(error) => Error::Link(error),
        other => chat_core::ChatError::Storage(format!("account log: {other}")).into(),
    }
}

async fn chats_homed_at(handles: &Handles, region: &str) -> Result<Vec<(String, u64)>, Error> {
    let tx = handles.db.begin();
    let rows = tx
        .get_range(RangeOption::subspace(&keys::homed_in(region)).snapshot())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (key, _) in rows {
        let chat_id = keys::homed_chat(&key)?;
        let seq = counter(tx.get_snapshot(&keys::last_seq(&chat_id)).await?.as_deref());
        out.push((chat_id, seq));
    }
    Ok(out)
}

/// Entries of a log homed here after `after_seq`, at most `limit`.
pub(super) async fn read(
    handles: &Handles,
    log_id: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<LogEntry>, Error> {
    if log_id.starts_with(accounts::ACCOUNT_LOG_PREFIX) {
        return accounts::read(&handles.db, log_id, after_seq, limit)
            .await
            .map_err(account_error);
    }
    let tx = handles.db.begin();
    let range = RangeOption::between(
        &keys::message(log_id, after_seq + 1),
        &keys::message(log_id, u64::MAX),
    )
    .limit(limit)
    .snapshot();
    let rows = tx.get_range(range).await?;
    let mut current: Option<ChatState> = None;
    let mut entries = Vec::with_capacity(rows.len());
    for (_, value) in rows {
        let message: Message = decode(&value)?;
        let state = if message.seq == 1 || message.kind == MessageKind::System {
            if current.is_none() {
                current = Some(chat_state(&tx, log_id).await?);
            }
            current.clone()
        } else {
            None
        };
        entries.push(LogEntry {
            chat_id: log_id.to_owned(),
            seq: message.seq,
            hlc: message.hlc,
            body: EntryBody::Message { message, state },
        });
    }
    Ok(entries)
}

async fn chat_state(tx: &store::Transaction, chat_id: &str) -> Result<ChatState, Error> {
    let chat: ChatRecord = match tx.get_snapshot(&keys::meta(chat_id)).await? {
        Some(bytes) => decode(&bytes)?,
        None => return Err(Error::not_found(format!("no chat {chat_id}"))),
    };
    let mut members = Vec::new();
    for (_, value) in tx
        .get_range(RangeOption::subspace(&keys::members(chat_id)).snapshot())
        .await?
    {
        members.push(decode::<MemberRecord>(&value)?);
    }
    Ok(ChatState { chat, members })
}

/// Applies a contiguous run of another region's log entries — a chat's
/// through its task, an account log's into the accounts; answers the last
/// `seq` held.
pub(super) async fn apply(
    handles: &Handles,
    log_id: &str,
    entries: Vec<LogEntry>,
) -> Result<u64, Error> {
    if log_id.starts_with(accounts::ACCOUNT_LOG_PREFIX) {
        let seq = accounts::apply(&handles.db, log_id, &entries)
            .await
            .map_err(account_error)?;
        for (user, device) in accounts::revoked_devices(&entries) {
            handles.hub.kill_device(&user, &device);
        }
        for user in accounts::deleted_users(&entries) {
            handles.hub.kill_user(&user);
        }
        return Ok(seq);
    }
    handles.chats.apply_replicated(log_id, entries).await
}
