//! Account logs across the mesh: what the mesh driver calls to ship this
//! region's account log and to apply its peers'.
//!
//! Each region ships its own log (`@accounts/<region>`, see [`super::log`])
//! to every peer, and applies each peer's log into its store: the user
//! records (so a password can be checked anywhere), the username index (so
//! login by name works anywhere), devices and device tombstones. A
//! replica's entries are stored under the same keys as the home's, so its
//! cursor is its counter.
//!
//! Applying is idempotent: entries at or below the cursor are skipped, and
//! every event can be applied twice with the same result. Conflicts between
//! logs resolve the same way in every region: a revoked device stays
//! revoked whatever arrives later; an existing user record is never
//! replaced; if two users ever hold one username (the claim at the name's
//! owner makes this impossible for accounts created in a mesh), the earlier
//! `(created_at, user_id)` keeps the name (a deleted account's name is
//! taken by a later user once its hold is over, see `deletion`); settings
//! keep the write with the greater clock; a deleted account stays deleted
//! whatever of it arrives later.

use protocol::peer::LogEntry;
use store::{Database, RangeOption};

use super::Error;
use super::deletion::{erase_in, is_deleted};
pub use super::log::{ACCOUNT_LOG_PREFIX, AccountEvent, DecodeAccountEvent, log_id};
use super::log::{last_seq, region_of, store_entry};
use super::records::{self, DeviceRecord, UserRecord, decode, encode};
use super::settings;

/// This region's own account log and its last seq (always present, seq 0
/// if empty).
pub async fn homed(db: &Database, region: &str) -> Result<(String, u64), Error> {
    let seq = last_seq(&db.begin(), region, true).await?;
    Ok((log_id(region), seq))
}

/// Replica cursor of `peer`'s account log here (0 if none).
pub async fn replica_cursor(db: &Database, peer: &str) -> Result<u64, Error> {
    last_seq(&db.begin(), peer, true).await
}

/// Entries of log `log_id` (this region's own) after `after_seq`, at most
/// `limit`.
pub async fn read(
    db: &Database,
    log_id: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<LogEntry>, Error> {
    let region = region_of(log_id)?;
    if limit == 0 || after_seq == u64::MAX {
        return Ok(Vec::new());
    }
    let end = RangeOption::subspace(&records::acctlog_prefix(region)).end;
    let range = RangeOption::between(&records::acctlog_key(region, after_seq + 1), &end)
        .limit(limit)
        .snapshot();
    db.begin()
        .get_range(range)
        .await?
        .iter()
        .map(|(_, value)| decode(value))
        .collect()
}

/// Applies a contiguous run of another region's account log entries in one
/// transaction: writes the records they describe, stores the entries and
/// moves the replica cursor. Entries already applied are skipped; the rest
/// must continue the cursor without a gap (`conflict` otherwise, nothing
/// written). Returns the last seq applied (the cursor).
pub async fn apply(db: &Database, log_id: &str, entries: &[LogEntry]) -> Result<u64, Error> {
    let peer = region_of(log_id)?;
    let mut run = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        if entry.chat_id != log_id {
            return Err(Error::invalid(format!(
                "entry {} of {} is in a run of {log_id}",
                entry.seq, entry.chat_id
            )));
        }
        if let Some(prev) = i.checked_sub(1).and_then(|p| entries.get(p))
            && prev.seq.checked_add(1) != Some(entry.seq)
        {
            return Err(Error::invalid(format!(
                "entries of {log_id} jump from {} to {}",
                prev.seq, entry.seq
            )));
        }
        run.push((entry, entry.account_event()?.clone()));
    }
    let run = &run;
    let applied = db
        .run(|tx| async move {
            let cursor = last_seq(&tx, peer, false).await?;
            let fresh: Vec<_> = run.iter().filter(|(e, _)| e.seq > cursor).collect();
            let Some((first, _)) = fresh.first() else {
                return Ok(cursor);
            };
            if first.seq != cursor + 1 {
                return Err(Error::conflict(format!(
                    "replica of {log_id} is at {cursor}; entries start at {}",
                    first.seq
                )));
            }
            let mut last = cursor;
            for (entry, event) in fresh {
                apply_event(&tx, peer, event).await?;
                store_entry(&tx, peer, entry);
                last = entry.seq;
            }
            tx.set(&records::acctlog_last_key(peer), &last.to_le_bytes());
            Ok(last)
        })
        .await?;
    tracing::debug!(%peer, seq = applied, "applied account log");
    Ok(applied)
}

/// The devices a run of account log entries revokes, as `(user_id,
/// device_id)`: once the run is applied, their live sessions here should
/// close (revocation reaches other regions' sessions this way).
pub fn revoked_devices(entries: &[LogEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter_map(|entry| match entry.account_event() {
            Ok(AccountEvent::DeviceRevoked {
                user_id, device_id, ..
            }) => Some((user_id.clone(), device_id.clone())),
            _ => None,
        })
        .collect()
}

/// The users a run of account log entries deletes: once the run is
/// applied, every connection of theirs here should close.
pub fn deleted_users(entries: &[LogEntry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| match entry.account_event() {
            Ok(AccountEvent::UserDeleted { user_id, .. }) => Some(user_id.clone()),
            _ => None,
        })
        .collect()
}

/// Writes what one event of `peer`'s log describes, so that applying it
/// twice, or after a conflicting event of another log, ends the same.
async fn apply_event(
    tx: &store::Transaction,
    peer: &str,
    event: &AccountEvent,
) -> Result<(), Error> {
    match event {
        AccountEvent::UserCreated { user } => {
            let key = records::user_key(&user.user_id);
            // The record first seen stays, and only its name is indexed.
            let kept = match tx.get(&key).await? {
                Some(bytes) => decode::<UserRecord>(&bytes)?,
                None => {
                    let mut user = user.clone();
                    if user.home_region.is_empty() {
                        peer.clone_into(&mut user.home_region);
                    }
                    tx.set(&key, &encode(&user));
                    user
                }
            };
            index_username(tx, &kept).await?;
            // Deleted in another region before its creation arrived here.
            if let Some(at) = tx.get(&records::user_tombstone_key(&user.user_id)).await? {
                let at = u64::from_le_bytes(at.try_into().unwrap_or_default());
                erase_in(tx, &user.user_id, at).await?;
            }
            Ok(())
        }
        AccountEvent::DeviceCreated { user_id, device } => add_device(tx, user_id, device).await,
        AccountEvent::DeviceRevoked {
            user_id,
            device_id,
            revoked_at,
        } => super::revoke_in(tx, user_id, device_id, *revoked_at).await,
        AccountEvent::SettingChanged {
            user_id,
            kind,
            target,
            setting,
        } => {
            if !is_deleted(tx, user_id).await? {
                settings::put(tx, *kind, user_id, target, *setting).await?;
            }
            Ok(())
        }
        AccountEvent::UserDeleted {
            user_id,
            deleted_at,
        } => erase_in(tx, user_id, *deleted_at).await,
    }
}

/// Points the username index at `user` unless an earlier user holds it.
async fn index_username(tx: &store::Transaction, user: &UserRecord) -> Result<(), Error> {
    let key = records::username_key(&user.username);
    let holder = match tx.get(&key).await? {
        None => None,
        Some(id) if id == user.user_id.as_bytes() => return Ok(()),
        Some(id) => {
            let id = String::from_utf8(id)
                .map_err(|e| Error::CorruptKey(format!("user id of {}: {e}", user.username)))?;
            match tx.get(&records::user_key(&id)).await? {
                Some(bytes) => Some(decode::<UserRecord>(&bytes)?),
                None => None,
            }
        }
    };
    if let Some(holder) = holder.filter(|h| h.deleted_at.is_none()) {
        let keeps = (holder.created_at, &holder.user_id) < (user.created_at, &user.user_id);
        tracing::warn!(
            username = %user.username,
            holder = %holder.user_id,
            other = %user.user_id,
            "two users share a username; the earlier keeps it"
        );
        if keeps {
            return Ok(());
        }
    }
    tx.set(&key, user.user_id.as_bytes());
    Ok(())
}

/// Adds a replicated device unless it was revoked or is already here.
async fn add_device(
    tx: &store::Transaction,
    user_id: &str,
    device: &DeviceRecord,
) -> Result<(), Error> {
    let tombstone = records::device_tombstone_key(user_id, &device.device_id);
    if tx.get(&tombstone).await?.is_some() || is_deleted(tx, user_id).await? {
        return Ok(());
    }
    let key = records::device_key(user_id, &device.device_id);
    if tx.get(&key).await?.is_none() {
        tx.set(&key, &encode(device));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
