//! The handles callers use: [`Database`] (cheap to clone) and [`Transaction`],
//! plus the FDB-style retry loop [`Database::run`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::backend::{Backend, BackendTransaction, KeyValue};
use crate::error::{AsStoreError, StoreError};
use crate::range::RangeOption;

/// How many times [`Database::run`] tries a transaction before giving up with the last error.
pub const MAX_ATTEMPTS: u32 = 100;

/// First retry backoff of [`Database::run`]; it doubles per attempt up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_micros(500);
/// Upper bound on the backoff between two attempts of [`Database::run`].
const MAX_BACKOFF: Duration = Duration::from_millis(50);

/// A handle to an ordered key-value database with serializable transactions.
#[derive(Clone)]
pub struct Database {
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").finish_non_exhaustive()
    }
}

impl Database {
    /// Wraps any backend (for example the FoundationDB one from `store-fdb`).
    pub fn from_backend(backend: Arc<dyn Backend>) -> Self {
        Database { backend }
    }

    /// Starts a transaction reading at the latest committed version.
    pub fn begin(&self) -> Transaction {
        Transaction {
            inner: self.backend.begin(),
        }
    }

    /// Runs `f` in a fresh transaction and commits it, retrying the whole closure on retryable
    /// errors ([`StoreError::is_retryable`]) with a small randomized exponential backoff, at
    /// most [`MAX_ATTEMPTS`] times. `f` may run several times, so it should have no side
    /// effects outside the transaction.
    pub async fn run<T, E, F, Fut>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<StoreError> + AsStoreError,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let tx = self.begin();
            let outcome = match f(tx.clone()).await {
                Ok(value) => tx.commit().await.map(|()| value).map_err(E::from),
                Err(err) => Err(err),
            };
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let retryable = err.as_store_error().is_some_and(StoreError::is_retryable);
            if !retryable || attempt >= MAX_ATTEMPTS {
                return Err(err);
            }
            tracing::trace!(attempt, "retrying transaction");
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    /// Whether the store takes work now: [`StoreError::Unavailable`] while a full disk or an
    /// I/O error keeps it from writing (the embedded store recovers by itself once the disk
    /// takes writes again). For readiness checks; cheap.
    pub fn health(&self) -> Result<(), StoreError> {
        self.backend.health()
    }

    /// Makes everything committed durable and stops the backend's background work. Later
    /// transactions fail with [`StoreError::Closed`]. Call it once at shutdown; further calls
    /// do nothing. On the embedded engines the files are released once the last transaction
    /// begun before `close` is dropped (it still pins its snapshot).
    pub async fn close(&self) -> Result<(), StoreError> {
        self.backend.close().await
    }
}

/// The randomized delay before attempt `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::thread_rng().gen_range(micros / 2..=micros))
}

/// A transaction: a consistent snapshot to read from and a buffer of writes applied
/// atomically at [`commit`](Transaction::commit). Clones share the same transaction.
///
/// On the embedded engines, reads run on the calling task's thread (they hit in-memory
/// structures or the page cache and never wait on a commit); only `commit` waits.
#[derive(Clone)]
pub struct Transaction {
    inner: Arc<dyn BackendTransaction>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Transaction {
    /// Reads `key`, seeing this transaction's own writes; adds a read-conflict range.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key, false).await
    }

    /// Reads `key` without adding a read-conflict range.
    pub async fn get_snapshot(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key, true).await
    }

    /// Reads a range of keys merged with this transaction's own writes. Unless
    /// `range.snapshot`, adds a read-conflict range over the part of the range actually read.
    pub async fn get_range(&self, range: RangeOption) -> Result<Vec<KeyValue>, StoreError> {
        self.inner.get_range(range).await
    }

    /// Writes `value` at `key`.
    pub fn set(&self, key: &[u8], value: &[u8]) {
        self.inner.set(key, value);
    }

    /// Removes `key`.
    pub fn clear(&self, key: &[u8]) {
        self.inner.clear(key);
    }

    /// Removes every key in `[begin, end)`.
    pub fn clear_range(&self, begin: &[u8], end: &[u8]) {
        self.inner.clear_range(begin, end);
    }

    /// Adds `delta` to the little-endian 8-byte counter at `key` (missing = 0) without reading
    /// it, so concurrent adders never conflict with each other.
    pub fn atomic_add(&self, key: &[u8], delta: i64) {
        self.inner.atomic_add(key, delta);
    }

    /// Commits the transaction; returns only once its writes are durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            assert!(d <= MAX_BACKOFF, "attempt {attempt}: {d:?}");
            assert!(d >= BASE_BACKOFF, "attempt {attempt}: {d:?}");
        }
    }
}
