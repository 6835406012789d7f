//! Replicated logs in the store. A chat's log is its messages by `seq`;
//! each entry travels as an [`Envelope`]: the message, and, for the first
//! entry and every system message (the ones that change the chat), the
//! chat's record and members as the home holds them when it ships, so a
//! replica learns the chat and keeps its membership without replaying the
//! home's rules. A replica stores the same keys as the home (minus dedup
//! keys and receipts), so history reads are the same code everywhere.

use std::collections::BTreeMap;

use protocol::chats::{Message, MessageKind};
use protocol::frames::ServerFrame;
use protocol::peer::LogEntry;
use serde::{Deserialize, Serialize};
use store::RangeOption;

use crate::accounts::records::{decode, encode};
use crate::accounts::replication as accounts;
use crate::chat::keys;
use crate::chat::records::{ChatRecord, MemberRecord};
use crate::error::ApiError;
use crate::hub::Outbound;
use crate::state::AppState;
use crate::testing::Sabotage;

/// A chat log entry's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// The message at this `seq`.
    pub message: Message,
    /// The chat after it, for the first entry and system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ChatState>,
}

/// A chat's record and every member record (current and former).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatState {
    /// The record.
    pub chat: ChatRecord,
    /// The members.
    pub members: Vec<MemberRecord>,
}

/// Every log this region is home of, with its last `seq`.
pub async fn homed(state: &AppState, region: &str) -> Result<Vec<(String, u64)>, ApiError> {
    let mut logs = chats_homed_at(state, region).await?;
    logs.push(accounts::homed(&state.db, region).await?);
    Ok(logs)
}

/// The replica cursors here of every log `peer` is home of.
pub async fn replica_cursors(
    state: &AppState,
    peer: &str,
) -> Result<BTreeMap<String, u64>, ApiError> {
    let mut cursors: BTreeMap<String, u64> =
        chats_homed_at(state, peer).await?.into_iter().collect();
    cursors.insert(
        accounts::log_id(peer),
        accounts::replica_cursor(&state.db, peer).await?,
    );
    Ok(cursors)
}

async fn chats_homed_at(state: &AppState, region: &str) -> Result<Vec<(String, u64)>, ApiError> {
    let tx = state.db.begin();
    let rows = tx
        .get_range(RangeOption::subspace(&keys::homed_in(region)).snapshot())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (key, _) in rows {
        let chat_id = keys::homed_chat(&key)?;
        let seq = last_seq(&tx, &chat_id).await?;
        out.push((chat_id, seq));
    }
    Ok(out)
}

async fn last_seq(tx: &store::Transaction, chat_id: &str) -> Result<u64, ApiError> {
    Ok(match tx.get_snapshot(&keys::last_seq(chat_id)).await? {
        Some(bytes) => u64::try_from(store::decode_counter(&bytes)).unwrap_or(0),
        None => 0,
    })
}

/// Entries of a log homed here after `after_seq`, at most `limit`.
pub async fn read(
    state: &AppState,
    log_id: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<LogEntry>, ApiError> {
    if log_id.starts_with(accounts::ACCOUNT_LOG_PREFIX) {
        return accounts::read(&state.db, log_id, after_seq, limit).await;
    }
    let tx = state.db.begin();
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
        let message = crate::chat::decode_message(&value)?;
        let state = if message.seq == 1 || message.kind == MessageKind::System {
            if current.is_none() {
                current = Some(chat_state(&tx, log_id).await?);
            }
            current.clone()
        } else {
            None
        };
        let envelope = Envelope { message, state };
        entries.push(LogEntry {
            chat_id: log_id.to_owned(),
            seq: envelope.message.seq,
            hlc: envelope.message.hlc,
            body: serde_json::to_string(&envelope).map_err(|e| ApiError::internal(&e))?,
        });
    }
    Ok(entries)
}

async fn chat_state(tx: &store::Transaction, chat_id: &str) -> Result<ChatState, ApiError> {
    let chat: ChatRecord = match tx.get_snapshot(&keys::meta(chat_id)).await? {
        Some(bytes) => decode(&bytes)?,
        None => return Err(ApiError::not_found(format!("no chat {chat_id}"))),
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

/// Applies a contiguous run of another region's log entries in one
/// transaction, then shows the messages to the chat's members connected
/// here; answers the last `seq` applied.
pub async fn apply(state: &AppState, log_id: &str, entries: &[LogEntry]) -> Result<u64, ApiError> {
    if log_id.starts_with(accounts::ACCOUNT_LOG_PREFIX) {
        let seq = accounts::apply(&state.db, log_id, entries).await?;
        for (user, device) in accounts::revoked_devices(entries) {
            state.hub.kill_device(&user, &device);
        }
        return Ok(seq);
    }
    let Some(first) = entries.first() else {
        return Ok(0);
    };
    let mut envelopes = Vec::with_capacity(entries.len());
    for entry in entries {
        let envelope: Envelope = serde_json::from_str(&entry.body)
            .map_err(|e| ApiError::internal(&format!("entry {log_id}/{}: {e}", entry.seq)))?;
        envelopes.push(envelope);
    }
    let expected = first.seq;
    let last = entries.last().map_or(expected, |e| e.seq);
    let written = envelopes.clone();
    let reorder = state.config.sabotage == Some(Sabotage::Reorder);
    state
        .db
        .run(|tx| {
            let envelopes = written.clone();
            async move {
                let stored = last_seq(&tx, log_id).await?;
                if stored + 1 != expected {
                    return Err(ApiError::conflict(format!(
                        "replica of {log_id} is at {stored}; entries start at {expected}"
                    )));
                }
                for envelope in &envelopes {
                    let seq = envelope.message.seq;
                    if reorder && seq > 1 && Sabotage::hits(seq) {
                        swap_with_previous(&tx, log_id, &envelope.message).await?;
                    } else {
                        tx.set(&keys::message(log_id, seq), &encode(&envelope.message));
                    }
                    if let Some(chat_state) = &envelope.state {
                        write_state(&tx, chat_state).await?;
                    }
                }
                tx.set(&keys::last_seq(log_id), &last.to_le_bytes());
                Ok(())
            }
        })
        .await?;
    state.chats.reload(log_id);
    fan_out(state, log_id, &envelopes).await?;
    Ok(last)
}

/// The deliberate defect `reorder` (consistency tests only): stores
/// `message` one place early and the message before it in its place.
async fn swap_with_previous(
    tx: &store::Transaction,
    log_id: &str,
    message: &Message,
) -> Result<(), ApiError> {
    let seq = message.seq;
    let Some(bytes) = tx.get(&keys::message(log_id, seq - 1)).await? else {
        tx.set(&keys::message(log_id, seq), &encode(message));
        return Ok(());
    };
    let mut previous = crate::chat::decode_message(&bytes)?;
    previous.seq = seq;
    let early = Message {
        seq: seq - 1,
        ..message.clone()
    };
    tx.set(&keys::message(log_id, seq - 1), &encode(&early));
    tx.set(&keys::message(log_id, seq), &encode(&previous));
    Ok(())
}

/// Writes a chat's record and members as the home sent them; the title
/// and description are this region's merged metadata where edits set them
/// (the home may not have merged every edit yet).
async fn write_state(tx: &store::Transaction, chat_state: &ChatState) -> Result<(), ApiError> {
    let mut chat = chat_state.chat.clone();
    if let Some((fields, _)) = crate::chat::meta::fields(tx, &chat.chat_id).await? {
        fields.overlay(&mut chat);
    }
    let chat = &chat;
    tx.set(&keys::meta(&chat.chat_id), &encode(chat));
    tx.set(&keys::homed(&chat.home_region, &chat.chat_id), b"");
    for member in &chat_state.members {
        tx.set(
            &keys::member(&chat.chat_id, &member.user_id),
            &encode(member),
        );
        tx.set(&keys::user_chat(&member.user_id, &chat.chat_id), b"");
    }
    let current = chat_state.members.iter().filter(|m| m.is_current()).count() as u64;
    tx.set(&keys::members_count(&chat.chat_id), &current.to_le_bytes());
    if chat.kind == protocol::chats::ChatKind::Direct
        && let [a, b] = chat_state.members.as_slice()
    {
        tx.set(
            &keys::direct(&a.user_id, &b.user_id),
            chat.chat_id.as_bytes(),
        );
    }
    Ok(())
}

/// Delivers applied messages to the chat's current members connected
/// here, and the chat itself when it changed.
async fn fan_out(state: &AppState, chat_id: &str, envelopes: &[Envelope]) -> Result<(), ApiError> {
    let chat = crate::chat::reads::load_chat(&state.db, chat_id).await?;
    let members: Vec<&str> = chat.members.iter().map(|m| m.user_id.as_str()).collect();
    for envelope in envelopes {
        let frame = crate::ws::encode(&ServerFrame::Message(envelope.message.clone()));
        state.hub.send_to(
            members.iter().copied(),
            &Outbound::message(chat_id, envelope.message.seq, frame),
            None,
        );
    }
    if envelopes.iter().any(|e| e.state.is_some()) {
        let frame = crate::ws::encode(&ServerFrame::Chat { chat: chat.clone() });
        state
            .hub
            .send_to(members.iter().copied(), &Outbound::frame(frame), None);
    }
    Ok(())
}
