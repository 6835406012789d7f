//! The narrow interface a storage engine offers the transaction layer: consistent snapshots
//! to read from, atomic application of one already-resolved write batch, and a separate
//! sync that makes every applied batch durable (so the next batch can be resolved and
//! applied while the previous one is being fsynced).

use std::sync::Arc;

use crate::backend::KeyValue;
use crate::error::StoreError;

/// A lazily evaluated range scan over a snapshot.
pub(crate) type ScanIter<'a> = Box<dyn Iterator<Item = Result<KeyValue, StoreError>> + 'a>;

/// A storage engine, owned by the committer thread (the only writer).
pub(crate) trait Engine: Send + 'static {
    /// A consistent view of everything applied so far.
    fn snapshot(&self) -> Result<Arc<dyn EngineSnapshot>, StoreError>;

    /// Applies `batch` atomically. Later snapshots see it; it is durable only once a
    /// [`Syncer::sync`] that starts after this call returns.
    fn write(&mut self, batch: &EngineBatch) -> Result<(), StoreError>;

    /// A handle for the sync thread.
    fn syncer(&self) -> Box<dyn Syncer>;

    /// Flushes everything to disk and releases the engine's files.
    fn close(self: Box<Self>) -> Result<(), StoreError>;

    /// Writes and syncs a small record outside the store's keys, to learn whether the disk
    /// takes writes again after a failure. Engines with nothing on disk answer `Ok`.
    fn probe(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Opens the engine again from its files, after a failure left the running one unusable.
pub(crate) type Reopen = Box<dyn FnMut() -> Result<Box<dyn Engine>, StoreError> + Send>;

/// Makes applied batches durable; runs on its own thread, concurrently with [`Engine::write`].
pub(crate) trait Syncer: Send + 'static {
    /// Returns once every batch whose `write` returned before this call is durable.
    fn sync(&mut self) -> Result<(), StoreError>;
}

/// A read-only, consistent view of the engine at one point in time.
pub(crate) trait EngineSnapshot: Send + Sync {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Pairs with keys in `[begin, end)`, ascending or descending. Callers pass `begin < end`.
    fn scan<'a>(&'a self, begin: &[u8], end: &[u8], reverse: bool) -> ScanIter<'a>;
}

/// One atomic engine write: every cleared range is applied first, then every point write.
#[derive(Debug, Default)]
pub(crate) struct EngineBatch {
    /// Disjoint ranges `[begin, end)` to empty.
    pub clear_ranges: Vec<(Vec<u8>, Vec<u8>)>,
    /// Point writes sorted by key, each key once: `Some` sets, `None` removes.
    pub points: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl EngineBatch {
    /// Whether a point write for `key` follows the cleared ranges (so clearing it is moot).
    pub(crate) fn has_point(&self, key: &[u8]) -> bool {
        self.points
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .is_ok()
    }
}
