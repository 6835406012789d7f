//! Encoding for the wire and the store: server frames, encoded once and
//! shared by every recipient, and records stored as JSON.

use bytes::Bytes;
use protocol::frames::ServerFrame;
use serde::{Deserialize, Serialize};

/// A stored record that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("corrupt record: {0}")]
pub struct CorruptRecord(#[from] serde_json::Error);

/// Encodes a server frame once, to be shared by every recipient.
pub fn frame(frame: &ServerFrame) -> Bytes {
    // Server frames are plain data; serializing them cannot fail.
    Bytes::from(serde_json::to_vec(frame).unwrap_or_default())
}

/// Encodes a record for the store.
pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Serializing these plain structs to JSON cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

/// Decodes a record read from the store.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, CorruptRecord> {
    Ok(serde_json::from_slice(bytes)?)
}

/// Decodes an 8-byte little-endian counter (0 when absent or malformed).
pub fn counter(bytes: Option<&[u8]>) -> u64 {
    bytes.map_or(0, |b| u64::try_from(store::decode_counter(b)).unwrap_or(0))
}
