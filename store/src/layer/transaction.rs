//! A transaction of the layer: reads at its view's version through its own write buffer,
//! records the keys and ranges it read for conflict checks, and hands its writes to the
//! committer at commit.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::committer::{CommitRequest, Message};
use super::conflicts::ReadSet;
use super::write_buffer::{Lookup, WriteBuffer, merge_range};
use super::{MAX_KEY_BYTES, MAX_TRANSACTION_BYTES, MAX_VALUE_BYTES, Shared, View};
use crate::backend::{BackendTransaction, KeyValue};
use crate::error::{StorageFailure, StoreError};
use crate::range::{RangeOption, key_after};

/// Mutable state of one transaction.
#[derive(Default)]
struct State {
    writes: WriteBuffer,
    reads: ReadSet,
    /// A key or value over the limits was written; commit fails with `TooLarge`.
    oversized: bool,
    committed: bool,
}

/// One transaction over the layer.
pub(crate) struct LayerTransaction {
    shared: Arc<Shared>,
    /// `None` when the database was closed or unavailable when the transaction began.
    view: Option<Arc<View>>,
    /// The storage failure the store was in when the transaction began.
    refused: Option<StorageFailure>,
    started: Instant,
    state: Mutex<State>,
}

impl LayerTransaction {
    /// A transaction reading `view`, or one that fails every read and commit with
    /// [`StoreError::Unavailable`] when `refused` is set.
    pub(crate) fn new(
        shared: Arc<Shared>,
        view: Option<Arc<View>>,
        refused: Option<StorageFailure>,
    ) -> Self {
        let view = if refused.is_some() { None } else { view };
        LayerTransaction {
            shared,
            view,
            refused,
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("transaction state lock poisoned".into()))
    }

    /// The state of a transaction that has not committed yet.
    fn open_state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        let state = self.state()?;
        if state.committed {
            return Err(StoreError::AlreadyCommitted);
        }
        Ok(state)
    }

    /// The view the transaction began at.
    fn view(&self) -> Result<&View, StoreError> {
        self.view.as_deref().ok_or_else(|| match &self.refused {
            Some(failure) => StoreError::Unavailable(failure.clone()),
            None => StoreError::Closed,
        })
    }

    /// The view to read from, if the transaction may still read.
    fn readable_view(&self) -> Result<&View, StoreError> {
        let view = self.view()?;
        if self.started.elapsed() > self.shared.window {
            return Err(StoreError::TransactionTooOld);
        }
        Ok(view)
    }

    /// Runs a buffered write unless the transaction already committed.
    fn write(&self, oversized: bool, op: impl FnOnce(&mut WriteBuffer)) {
        // A poisoned lock means a panic elsewhere; the write is dropped and commit reports it.
        if let Ok(mut state) = self.state.lock() {
            if state.committed {
                tracing::warn!("write to a transaction after commit ignored");
                return;
            }
            op(&mut state.writes);
            if oversized || state.writes.bytes() > MAX_TRANSACTION_BYTES {
                state.oversized = true;
            }
        }
    }
}

#[async_trait]
impl BackendTransaction for LayerTransaction {
    async fn get(&self, key: &[u8], snapshot: bool) -> Result<Option<Vec<u8>>, StoreError> {
        // No stored key is longer; engines may panic on keys past their own limits.
        if key.len() > MAX_KEY_BYTES {
            return Err(StoreError::TooLarge);
        }
        let view = self.readable_view()?;
        let lookup = self.open_state()?.writes.lookup(key);
        let delta = match lookup {
            Lookup::Known(value) => return Ok(value),
            Lookup::Add(delta) => Some(delta),
            Lookup::Untouched => None,
        };
        let stored = view.snapshot.get(key)?;
        if !snapshot {
            self.state()?.reads.keys.push(key.to_vec());
        }
        Ok(match delta {
            Some(delta) => Some(crate::counter::add_to(stored.as_deref(), delta)),
            None => stored,
        })
    }

    async fn get_range(&self, range: RangeOption) -> Result<Vec<KeyValue>, StoreError> {
        if range.begin.len() > MAX_KEY_BYTES + 1 || range.end.len() > MAX_KEY_BYTES + 1 {
            return Err(StoreError::TooLarge);
        }
        let view = self.readable_view()?;
        if range.begin >= range.end {
            return Ok(Vec::new());
        }
        let (points, cleared) = {
            let state = self.open_state()?;
            let points = state
                .writes
                .points_in(&range.begin, &range.end, range.reverse);
            (points, state.writes.cleared().clone())
        };
        let scan = view.snapshot.scan(&range.begin, &range.end, range.reverse);
        let (pairs, cut) = merge_range(scan, points, &cleared, range.limit, range.reverse)?;
        if !range.snapshot {
            // Only the part actually read conflicts when the limit stopped the scan.
            let covered = match (cut, pairs.last()) {
                (false, _) => Some((range.begin, range.end)),
                (true, None) => None,
                (true, Some((last, _))) if range.reverse => Some((last.clone(), range.end)),
                (true, Some((last, _))) => Some((range.begin, key_after(last))),
            };
            if let Some(covered) = covered {
                self.state()?.reads.ranges.push(covered);
            }
        }
        Ok(pairs)
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        let oversized = key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES;
        self.write(oversized, |w| w.set(key, value));
    }

    fn clear(&self, key: &[u8]) {
        self.write(key.len() > MAX_KEY_BYTES, |w| w.clear(key));
    }

    fn clear_range(&self, begin: &[u8], end: &[u8]) {
        let oversized = begin.len() > MAX_KEY_BYTES + 1 || end.len() > MAX_KEY_BYTES + 1;
        self.write(oversized, |w| w.clear_range(begin, end));
    }

    fn atomic_add(&self, key: &[u8], delta: i64) {
        self.write(key.len() > MAX_KEY_BYTES, |w| w.atomic_add(key, delta));
    }

    async fn commit(&self) -> Result<(), StoreError> {
        let view = self.view()?;
        let (writes, reads) = {
            let mut state = self.state()?;
            if state.committed {
                return Err(StoreError::AlreadyCommitted);
            }
            state.committed = true;
            if state.oversized {
                return Err(StoreError::TooLarge);
            }
            (
                std::mem::take(&mut state.writes),
                std::mem::take(&mut state.reads),
            )
        };
        // A read-only transaction saw a consistent snapshot; there is nothing to commit.
        if writes.is_empty() {
            return Ok(());
        }
        let sender = self.shared.sender().ok_or(StoreError::Closed)?;
        let (reply, response) = oneshot::channel();
        let request = CommitRequest {
            read_version: view.version,
            reads,
            writes,
            reply,
        };
        sender
            .send(Message::Commit(request))
            .map_err(|_| StoreError::Closed)?;
        response.await.map_err(|_| StoreError::Closed)?
    }
}
