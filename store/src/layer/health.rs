//! Whether the engine takes work: set by the committer or the sync thread when a write or
//! sync fails, read by every new transaction and by health checks, cleared by the committer
//! once it has reopened the engine and a probe write reached the disk.

use std::sync::RwLock;

use crate::error::StorageFailure;

/// The store's current storage failure, if any.
#[derive(Default)]
pub(crate) struct Health {
    failure: RwLock<Option<StorageFailure>>,
}

impl Health {
    /// The failure the store is in, if any.
    pub(crate) fn failure(&self) -> Option<StorageFailure> {
        match self.failure.read() {
            Ok(failure) => failure.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Records `failure` unless one is already recorded; true if this was the first.
    pub(crate) fn fail(&self, failure: StorageFailure) -> bool {
        let mut slot = match self.failure.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if slot.is_some() {
            return false;
        }
        *slot = Some(failure);
        true
    }

    /// The engine works again.
    pub(crate) fn clear(&self) {
        match self.failure.write() {
            Ok(mut slot) => *slot = None,
            Err(poisoned) => *poisoned.into_inner() = None,
        }
    }
}
