//! What the accounts module keeps in the store, and under which keys.
//!
//! | key (tuple)                               | value                 |
//! |-------------------------------------------|-----------------------|
//! | `("user", user_id)`                       | [`UserRecord`] JSON   |
//! | `("username", username)`                  | user id (UTF-8)       |
//! | `("device", user_id, device_id)`          | [`DeviceRecord`] JSON |
//! | `("refresh", sha256(token) hex)`          | [`RefreshRecord`] JSON|
//! | `("device_refresh", user_id, device_id, hash)` | empty (index for revocation) |
//! | `("node", "token_secret")`                | 32 random bytes (region on its own) |
//! | `("username_claim", username)`            | user id (UTF-8), kept by the region owning the name |
//! | `("device_revoked", user_id, device_id)`  | revocation time, 8-byte LE ms (tombstone) |
//! | `("user_deleted", user_id)`              | deletion time, 8-byte LE ms (tombstone) |
//! | `("setting", kind, user_id, target)`      | [`Setting`](protocol::records::Setting) JSON (see `settings`) |
//! | `("acctlog", region, seq)`                | [`LogEntry`](protocol::peer::LogEntry) JSON of `region`'s account log |
//! | `("acctlog_last", region)`                | last `seq` of that log here, 8-byte LE |
//!
//! A revoked device has no record: its access tokens fail the device check
//! and its refresh tokens point at nothing. Its tombstone stays, so a
//! replicated "device created" that arrives late cannot bring it back.
//!
//! A region keeps its own account log and a replica of every peer's under
//! the same keys; for a peer's log, `acctlog_last` is the replica cursor.

use serde::{Deserialize, Serialize};
use store::tuple::pack;

pub use protocol::records::{DeviceRecord, UserRecord};

/// A refresh token ever issued, by the hash of its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// Owner.
    pub user_id: String,
    /// Device it belongs to.
    pub device_id: String,
    /// False once it has been exchanged; presenting it again is a reuse.
    pub current: bool,
}

pub(crate) fn user_key(user_id: &str) -> Vec<u8> {
    pack(&("user", user_id))
}

pub(crate) fn username_key(username: &str) -> Vec<u8> {
    pack(&("username", username))
}

pub(crate) fn device_key(user_id: &str, device_id: &str) -> Vec<u8> {
    pack(&("device", user_id, device_id))
}

pub(crate) fn devices_prefix(user_id: &str) -> Vec<u8> {
    pack(&("device", user_id))
}

pub(crate) fn refresh_key(hash: &str) -> Vec<u8> {
    pack(&("refresh", hash))
}

pub(crate) fn device_refresh_key(user_id: &str, device_id: &str, hash: &str) -> Vec<u8> {
    pack(&("device_refresh", user_id, device_id, hash))
}

pub(crate) fn device_refresh_prefix(user_id: &str, device_id: &str) -> Vec<u8> {
    pack(&("device_refresh", user_id, device_id))
}

pub(crate) fn token_secret_key() -> Vec<u8> {
    pack(&("node", "token_secret"))
}

pub(crate) fn username_claim_key(username: &str) -> Vec<u8> {
    pack(&("username_claim", username))
}

pub(crate) fn device_tombstone_key(user_id: &str, device_id: &str) -> Vec<u8> {
    pack(&("device_revoked", user_id, device_id))
}

pub(crate) fn user_tombstone_key(user_id: &str) -> Vec<u8> {
    pack(&("user_deleted", user_id))
}

pub(crate) fn acctlog_key(region: &str, seq: u64) -> Vec<u8> {
    pack(&("acctlog", region, seq))
}

pub(crate) fn acctlog_prefix(region: &str) -> Vec<u8> {
    pack(&("acctlog", region))
}

pub(crate) fn acctlog_last_key(region: &str) -> Vec<u8> {
    pack(&("acctlog_last", region))
}

pub(crate) use crate::codec::encode;

/// Decodes a record read from the store.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, super::Error> {
    Ok(crate::codec::decode(bytes)?)
}
