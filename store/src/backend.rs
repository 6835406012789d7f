//! The object-safe traits a storage backend implements: the embedded layer in
//! this crate and the FoundationDB backend in `store-fdb` both sit behind them.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{RangeOption, StoreError};

/// A key and its value, as returned by range reads.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A database backend: hands out transactions and shuts down cleanly.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Starts a transaction at the latest committed version. Never fails: on a closed backend
    /// the transaction's operations return [`StoreError::Closed`].
    fn begin(&self) -> Arc<dyn BackendTransaction>;

    /// Makes every committed transaction durable, stops background work and releases files.
    /// Later transactions fail with [`StoreError::Closed`].
    async fn close(&self) -> Result<(), StoreError>;

    /// Whether the backend takes work now: [`StoreError::Unavailable`] while a storage
    /// failure keeps it from reading and writing. Backends that cannot tell answer `Ok`.
    fn health(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// One transaction of a backend, with FoundationDB semantics: reads at one read version,
/// buffered writes that later reads observe, serializable commit.
#[async_trait]
pub trait BackendTransaction: Send + Sync + 'static {
    /// Reads one key; `snapshot` reads add no read-conflict range.
    async fn get(&self, key: &[u8], snapshot: bool) -> Result<Option<Vec<u8>>, StoreError>;

    /// Reads a range, merged with this transaction's own writes.
    async fn get_range(&self, range: RangeOption) -> Result<Vec<KeyValue>, StoreError>;

    /// Buffers a write of `value` at `key`.
    fn set(&self, key: &[u8], value: &[u8]);

    /// Buffers the removal of `key`.
    fn clear(&self, key: &[u8]);

    /// Buffers the removal of every key in `[begin, end)`.
    fn clear_range(&self, begin: &[u8], end: &[u8]);

    /// Buffers an FDB `ADD` of `delta` to the little-endian counter at `key`; adds no read conflict.
    fn atomic_add(&self, key: &[u8], delta: i64);

    /// Commits the buffered writes; returns once they are durable, or fails with
    /// [`StoreError::Conflict`] if a read of this transaction was invalidated.
    async fn commit(&self) -> Result<(), StoreError>;
}
