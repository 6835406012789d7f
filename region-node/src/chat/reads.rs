//! Reads straight from the store: a chat, the caller's chat list, history
//! pages and replay, each checked against what the reader may see.

use chat_core::ChatError;
use protocol::chats::{Chat, ChatSummary, History, MemberInfo, Message};
use protocol::records::{ChatRecord, Marks, MemberRecord, Setting, SettingKind};
use store::{Database, RangeOption, Transaction};

use super::{Error, keys};
use crate::accounts::settings;
use crate::codec::{counter, decode};
use crate::limits::MAX_PAGE_TEXT_BYTES;

async fn read_seq(tx: &Transaction, key: &[u8]) -> Result<u64, Error> {
    Ok(counter(tx.get_snapshot(key).await?.as_deref()))
}

/// `user`'s mute of `chat_id` (0: not muted), kept with their account
/// settings.
pub async fn muted_until(tx: &Transaction, user: &str, chat_id: &str) -> Result<u64, Error> {
    let key = settings::key(SettingKind::Mute, user, chat_id);
    Ok(match tx.get_snapshot(&key).await? {
        Some(bytes) => decode::<Setting>(&bytes)?.value,
        None => 0,
    })
}

/// Largest history page.
pub const MAX_PAGE: usize = 500;
/// History page size when none is asked for.
pub const DEFAULT_PAGE: usize = 50;

/// A chat with its current members, as stored.
pub async fn load_chat(db: &Database, chat_id: &str) -> Result<Chat, Error> {
    let tx = db.begin();
    let record: ChatRecord = match tx.get_snapshot(&keys::meta(chat_id)).await? {
        Some(bytes) => decode(&bytes)?,
        None => return Err(Error::not_found("no such chat")),
    };
    let last_seq = read_seq(&tx, &keys::last_seq(chat_id)).await?;
    let mut members = Vec::new();
    for (_, value) in tx
        .get_range(RangeOption::subspace(&keys::members(chat_id)).snapshot())
        .await?
    {
        let m: MemberRecord = decode(&value)?;
        if m.is_current() {
            members.push(MemberInfo {
                user_id: m.user_id,
                role: m.role,
                joined_seq: m.joined_seq,
            });
        }
    }
    Ok(Chat {
        chat_id: record.chat_id,
        kind: record.kind,
        title: record.title,
        description: record.description,
        home_region: record.home_region,
        created_at: record.created_at,
        last_seq,
        members,
        deleted: record.deleted,
        muted_until: None,
    })
}

/// The highest `seq` `user` may read in `chat_id` (`u64::MAX`: everything);
/// `not_found` for an unknown or deleted chat, `not_member` for a stranger.
pub async fn visible_limit(db: &Database, user: &str, chat_id: &str) -> Result<u64, Error> {
    let tx = db.begin();
    let Some(meta) = tx.get_snapshot(&keys::meta(chat_id)).await? else {
        return Err(Error::not_found("no such chat"));
    };
    let record: ChatRecord = decode(&meta)?;
    let member = match tx.get_snapshot(&keys::member(chat_id, user)).await? {
        Some(bytes) => decode::<MemberRecord>(&bytes)?,
        None => {
            return Err(ChatError::NotMember.into());
        }
    };
    if record.deleted {
        return Err(Error::not_found("chat was deleted"));
    }
    Ok(member.read_limit().unwrap_or(u64::MAX))
}

/// A chat for a current member.
pub async fn chat_for(db: &Database, user: &str, chat_id: &str) -> Result<Chat, Error> {
    let limit = visible_limit(db, user, chat_id).await?;
    if limit != u64::MAX {
        return Err(ChatError::NotMember.into());
    }
    let mut chat = load_chat(db, chat_id).await?;
    chat.muted_until = Some(muted_until(&db.begin(), user, chat_id).await?);
    Ok(chat)
}

/// A page of history in ascending `seq`: after `after` (exclusive) going
/// forward, or before `before` (exclusive) going back, or the newest page.
pub async fn history(
    db: &Database,
    user: &str,
    chat_id: &str,
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
) -> Result<History, Error> {
    let visible = visible_limit(db, user, chat_id).await?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_PAGE}")));
    }
    let top = before.map_or(visible, |b| b.saturating_sub(1).min(visible));
    let bottom = after.map_or(1, |a| a.saturating_add(1));
    if bottom > top {
        return Ok(History {
            messages: Vec::new(),
            has_more: false,
        });
    }
    // With only `after`, read forward from it; otherwise the newest page below `before`.
    let forward = after.is_some() && before.is_none();
    let (mut messages, has_more) = read_bounded(db, chat_id, bottom, top, limit, !forward).await?;
    if !forward {
        messages.reverse();
    }
    Ok(History { messages, has_more })
}

/// Messages read per store read while paging.
const CHUNK: usize = 32;

/// Up to `max` messages of `chat_id` with `seq` in `low..=high`, from the
/// low end (the high end when `newest_first`) in the order read, and
/// whether more lie beyond. A page stops early once its stored bytes would
/// pass [`MAX_PAGE_TEXT_BYTES`] (it always holds one message), and is read
/// in chunks, so a page of large messages never sits in memory whole.
async fn read_bounded(
    db: &Database,
    chat_id: &str,
    mut low: u64,
    mut high: u64,
    max: usize,
    newest_first: bool,
) -> Result<(Vec<Message>, bool), Error> {
    let tx = db.begin();
    let mut out: Vec<Message> = Vec::new();
    let mut bytes = 0;
    while low <= high {
        let want = (max + 1 - out.len()).min(CHUNK);
        let mut range = RangeOption::between(
            &keys::message(chat_id, low),
            &keys::message(chat_id, high.saturating_add(1)),
        )
        .limit(want)
        .snapshot();
        if newest_first {
            range = range.reverse();
        }
        let rows = tx.get_range(range).await?;
        let got = rows.len();
        for (_, value) in &rows {
            if out.len() == max || (!out.is_empty() && bytes + value.len() > MAX_PAGE_TEXT_BYTES) {
                return Ok((out, true));
            }
            bytes += value.len();
            let message: Message = decode(value)?;
            if newest_first {
                high = message.seq.saturating_sub(1);
            } else if let Some(next) = message.seq.checked_add(1) {
                low = next;
            } else {
                high = 0;
            }
            out.push(message);
        }
        if got < want || (newest_first && high == 0) {
            break;
        }
    }
    Ok((out, false))
}

/// Messages of `chat_id` with `seq` in `from..=to` visible to `user`, at
/// most `max`, ascending.
pub async fn replay(
    db: &Database,
    user: &str,
    chat_id: &str,
    from: u64,
    to: u64,
    max: usize,
) -> Result<Vec<Message>, Error> {
    let visible = visible_limit(db, user, chat_id).await?;
    let to = to.min(visible);
    if from > to || from == 0 && to == 0 {
        return Ok(Vec::new());
    }
    let (messages, _) = read_bounded(db, chat_id, from.max(1), to, max, false).await?;
    Ok(messages)
}

/// Every chat `user` is or was in.
pub async fn user_chat_ids(db: &Database, user: &str) -> Result<Vec<String>, Error> {
    let rows = db
        .begin()
        .get_range(RangeOption::subspace(&keys::user_chats(user)).snapshot())
        .await?;
    rows.iter()
        .map(|(k, _)| {
            store::tuple::unpack::<(String, String, String)>(k)
                .map(|t| t.2)
                .map_err(|e| ChatError::Storage(format!("corrupt user_chats key: {e}")).into())
        })
        .collect()
}

/// The caller's current chats, most recently active first.
pub async fn list(db: &Database, user: &str) -> Result<Vec<ChatSummary>, Error> {
    let mut out = Vec::new();
    for chat_id in user_chat_ids(db, user).await? {
        let tx = db.begin();
        let member = match tx.get_snapshot(&keys::member(&chat_id, user)).await? {
            Some(bytes) => decode::<MemberRecord>(&bytes)?,
            None => continue,
        };
        let Some(meta) = tx.get_snapshot(&keys::meta(&chat_id)).await? else {
            continue;
        };
        let record: ChatRecord = decode(&meta)?;
        if !member.is_current() || record.deleted {
            continue;
        }
        let last_seq = read_seq(&tx, &keys::last_seq(&chat_id)).await?;
        let marks: Marks = match tx.get_snapshot(&keys::receipt(&chat_id, user)).await? {
            Some(bytes) => decode(&bytes)?,
            None => Marks::default(),
        };
        let members_count = read_seq(&tx, &keys::members_count(&chat_id)).await?;
        let last = tx
            .get_range(
                RangeOption::subspace(&keys::messages(&chat_id))
                    .reverse()
                    .limit(1)
                    .snapshot(),
            )
            .await?;
        let last_message = last
            .first()
            .map(|(_, v)| decode::<Message>(v).map_err(Error::from))
            .transpose()?;
        out.push(ChatSummary {
            chat_id: record.chat_id,
            kind: record.kind,
            title: record.title,
            home_region: record.home_region,
            members_count,
            last_seq,
            read_seq: marks.read_seq,
            unread: last_seq.saturating_sub(marks.read_seq),
            last_message,
            muted_until: muted_until(&tx, user, &chat_id).await?,
        });
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.last_message.as_ref().map_or(0, |m| m.sent_at)));
    Ok(out)
}
