//! [`FdbTransaction`]: one FoundationDB transaction behind [`store::BackendTransaction`].
//!
//! FDB transactions already have the semantics the store asks for (one read version, reads
//! that see the transaction's own writes, serializable commit, snapshot reads without
//! conflict ranges), so this type is a thin adapter. The FDB transaction is held in a mutex
//! only long enough to issue an operation: FDB's read futures do not borrow the transaction,
//! so no lock is held across an `.await`. Commit takes the transaction out of the slot, which
//! makes every later operation fail with [`StoreError::AlreadyCommitted`] (reads) or be
//! ignored (writes), as in the embedded backend.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use foundationdb::options::{MutationType, StreamingMode};
use foundationdb::{KeySelector, RangeOption as FdbRangeOption};
use store::{
    BackendTransaction, KeyValue, MAX_KEY_BYTES, MAX_VALUE_BYTES, RangeOption, StoreError,
};

use crate::error::{backend_error, store_error};

/// The end of FDB's normal key space: keys at or above it are system keys. Tuple-encoded
/// keys never start with `0xff`, so range ends past it are clamped to it.
const KEY_SPACE_END: &[u8] = b"\xff";

/// Why a transaction has no FDB transaction to work with.
#[derive(Debug)]
enum Unavailable {
    /// The backend was closed before the transaction began.
    Closed,
    /// FDB could not create the transaction.
    Failed(String),
    /// The transaction was committed (or its commit is in flight).
    Committed,
}

impl Unavailable {
    fn to_error(&self) -> StoreError {
        match self {
            Unavailable::Closed => StoreError::Closed,
            Unavailable::Failed(message) => StoreError::Backend(message.clone()),
            Unavailable::Committed => StoreError::AlreadyCommitted,
        }
    }
}

/// Mutable state of one transaction.
#[derive(Debug)]
struct State {
    /// The FDB transaction and the database it belongs to (kept alive as long as the
    /// transaction), or why there is none.
    slot: Result<Open, Unavailable>,
    /// A key or value over the store's limits was written; commit fails with `TooLarge`.
    oversized: bool,
}

/// A live FDB transaction. Fields drop in order: the transaction before its database.
struct Open {
    tx: foundationdb::Transaction,
    _db: Arc<foundationdb::Database>,
}

impl std::fmt::Debug for Open {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open")
            .field("tx", &self.tx)
            .finish_non_exhaustive()
    }
}

/// One FoundationDB transaction, handed out by [`FdbBackend`](crate::FdbBackend).
#[derive(Debug)]
pub struct FdbTransaction {
    state: Mutex<State>,
    /// Set when the backend is closed; a commit after that fails with `Closed`.
    backend_closed: Arc<AtomicBool>,
}

impl FdbTransaction {
    /// Wraps a freshly created FDB transaction.
    pub(crate) fn new(
        tx: foundationdb::Transaction,
        db: Arc<foundationdb::Database>,
        backend_closed: Arc<AtomicBool>,
    ) -> Self {
        Self::with_slot(Ok(Open { tx, _db: db }), backend_closed)
    }

    /// A transaction whose every operation fails with [`StoreError::Closed`].
    pub(crate) fn closed(backend_closed: Arc<AtomicBool>) -> Self {
        Self::with_slot(Err(Unavailable::Closed), backend_closed)
    }

    /// A transaction whose every operation fails with the error FDB gave when creating it.
    pub(crate) fn failed(err: foundationdb::FdbError, backend_closed: Arc<AtomicBool>) -> Self {
        let message = match backend_error(err) {
            StoreError::Backend(message) => message,
            other => other.to_string(),
        };
        Self::with_slot(Err(Unavailable::Failed(message)), backend_closed)
    }

    fn with_slot(slot: Result<Open, Unavailable>, backend_closed: Arc<AtomicBool>) -> Self {
        FdbTransaction {
            state: Mutex::new(State {
                slot,
                oversized: false,
            }),
            backend_closed,
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("transaction state lock poisoned".into()))
    }

    /// Runs `op` on the FDB transaction (typically to issue a read) and returns its result.
    fn with_tx<T>(
        &self,
        op: impl FnOnce(&foundationdb::Transaction) -> T,
    ) -> Result<T, StoreError> {
        let state = self.state()?;
        match &state.slot {
            Ok(open) => Ok(op(&open.tx)),
            Err(why) => Err(why.to_error()),
        }
    }

    /// Buffers a write unless the transaction is committed, closed or failed (the failure
    /// then surfaces at commit); `oversized` writes are not sent and make commit fail.
    fn write(&self, oversized: bool, op: impl FnOnce(&foundationdb::Transaction)) {
        // A poisoned lock means a panic elsewhere; the write is dropped and commit reports it.
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match &state.slot {
            Ok(_) if oversized => state.oversized = true,
            Ok(open) => op(&open.tx),
            Err(Unavailable::Committed) => {
                tracing::warn!("write to a transaction after commit ignored");
            }
            Err(_) => {}
        }
    }
}

/// Clamps a range end to the end of FDB's normal key space.
fn clamp_end(end: &[u8]) -> &[u8] {
    end.min(KEY_SPACE_END)
}

#[async_trait]
impl BackendTransaction for FdbTransaction {
    async fn get(&self, key: &[u8], snapshot: bool) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.with_tx(|tx| tx.get(key, snapshot))?;
        let value = read.await.map_err(store_error)?;
        Ok(value.map(|slice| slice.to_vec()))
    }

    async fn get_range(&self, range: RangeOption) -> Result<Vec<KeyValue>, StoreError> {
        // Surface a closed or committed transaction even for empty ranges.
        self.with_tx(|_| ())?;
        let end = clamp_end(&range.end);
        // FDB reads `limit: 0` as "no limit"; the store means "nothing".
        if range.begin.as_slice() >= end || range.limit == Some(0) {
            return Ok(Vec::new());
        }
        let mut page_option = FdbRangeOption {
            begin: KeySelector::first_greater_or_equal(range.begin.clone()),
            end: KeySelector::first_greater_or_equal(end.to_vec()),
            limit: range.limit,
            mode: StreamingMode::WantAll,
            reverse: range.reverse,
            ..FdbRangeOption::default()
        };
        let mut pairs = Vec::new();
        for iteration in 1usize.. {
            let read = self.with_tx(|tx| tx.get_range(&page_option, iteration, range.snapshot))?;
            let page = read.await.map_err(store_error)?;
            pairs.extend(
                page.iter()
                    .map(|kv| (kv.key().to_vec(), kv.value().to_vec())),
            );
            // `next_range` continues after the page's last key, lowers the remaining limit,
            // and returns `None` once FDB reports no more pairs or the limit is reached.
            match page_option.next_range(&page) {
                Some(next) => page_option = next,
                None => break,
            }
        }
        Ok(pairs)
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        let oversized = key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES;
        self.write(oversized, |tx| tx.set(key, value));
    }

    fn clear(&self, key: &[u8]) {
        self.write(key.len() > MAX_KEY_BYTES, |tx| tx.clear(key));
    }

    fn clear_range(&self, begin: &[u8], end: &[u8]) {
        let oversized = begin.len() > MAX_KEY_BYTES + 1 || end.len() > MAX_KEY_BYTES + 1;
        let end = clamp_end(end);
        // FDB rejects inverted ranges and makes the transaction unusable; an empty or
        // inverted range clears nothing.
        if begin >= end {
            return;
        }
        self.write(oversized, |tx| tx.clear_range(begin, end));
    }

    fn atomic_add(&self, key: &[u8], delta: i64) {
        self.write(key.len() > MAX_KEY_BYTES, |tx| {
            tx.atomic_op(key, &delta.to_le_bytes(), MutationType::Add);
        });
    }

    async fn commit(&self) -> Result<(), StoreError> {
        let Open { tx, _db: db } = {
            let mut state = self.state()?;
            let open = match std::mem::replace(&mut state.slot, Err(Unavailable::Committed)) {
                Ok(open) => open,
                Err(why) => {
                    let err = why.to_error();
                    state.slot = Err(why);
                    return Err(err);
                }
            };
            if state.oversized {
                return Err(StoreError::TooLarge);
            }
            open
        };
        if self.backend_closed.load(Ordering::Acquire) {
            drop(tx);
            drop(db);
            return Err(StoreError::Closed);
        }
        let outcome = match tx.commit().await {
            Ok(_committed) => Ok(()),
            Err(err) => Err(store_error(*err)),
        };
        // The committed (or failed) transaction was dropped above; now its database may go.
        drop(db);
        outcome
    }
}
