//! The fjall engine: an LSM tree; batches go to its journal unsynced, and the sync thread
//! fsyncs the journal (`fdatasync`; fjall fsyncs the directory when it rotates journals).

use std::path::Path;
use std::sync::Arc;

use fjall::{Database as FjallDatabase, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};

use crate::backend::KeyValue;
use crate::error::{FailureCause, StorageFailure, StoreError};
use crate::layer::engine::{Engine, EngineBatch, EngineSnapshot, ScanIter, Syncer};

/// Name of the keyspace holding all keys.
const KEYSPACE: &str = "kv";
/// Name of the keyspace the recovery probe writes to, apart from the store's keys.
const PROBE_KEYSPACE: &str = "probe";
/// Size of the probe record: a page, so that it needs new room on the disk.
const PROBE_BYTES: usize = 4096;

/// A fjall error as a store error: I/O errors and poisoning from the write path become
/// [`StoreError::Unavailable`], so callers can tell a full or failing disk apart.
fn classify(err: fjall::Error) -> StoreError {
    match err {
        fjall::Error::Io(io) | fjall::Error::Storage(fjall::LsmError::Io(io)) => {
            StoreError::Unavailable(StorageFailure::from_io(&io))
        }
        fjall::Error::Poisoned => {
            StoreError::Unavailable(StorageFailure::new(FailureCause::Poisoned, err))
        }
        other => StoreError::backend(other),
    }
}

/// fjall database plus the keyspace the store uses.
pub(crate) struct FjallEngine {
    db: FjallDatabase,
    keyspace: Keyspace,
    unsynced: bool,
}

impl FjallEngine {
    /// Opens (or creates) the database in `dir`. Journal writes are buffered and fsynced
    /// explicitly by the [`Syncer`] — unless `unsynced`, a deliberate defect for
    /// consistency tests, where the syncer acknowledges without writing anything out.
    pub(crate) fn open(dir: &Path, unsynced: bool) -> Result<Self, StoreError> {
        let db = FjallDatabase::builder(dir)
            .manual_journal_persist(true)
            .open()
            .map_err(StoreError::backend)?;
        let keyspace = db
            .keyspace(KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(StoreError::backend)?;
        Ok(FjallEngine {
            db,
            keyspace,
            unsynced,
        })
    }
}

impl Engine for FjallEngine {
    fn snapshot(&self) -> Result<Arc<dyn EngineSnapshot>, StoreError> {
        Ok(Arc::new(FjallSnapshot {
            snapshot: self.db.snapshot(),
            keyspace: self.keyspace.clone(),
        }))
    }

    fn write(&mut self, batch: &EngineBatch) -> Result<(), StoreError> {
        let mut write = self.db.batch().durability(None);
        // The committer is the only writer, so the live tree is the pre-batch state.
        for (begin, end) in &batch.clear_ranges {
            for guard in self.keyspace.range(begin.as_slice()..end.as_slice()) {
                let key = guard.key().map_err(StoreError::backend)?;
                if !batch.has_point(&key) {
                    write.remove(&self.keyspace, key);
                }
            }
        }
        for (key, value) in &batch.points {
            match value {
                Some(value) => write.insert(&self.keyspace, key.as_slice(), value.as_slice()),
                None => write.remove(&self.keyspace, key.as_slice()),
            }
        }
        write.commit().map_err(classify)
    }

    fn syncer(&self) -> Box<dyn Syncer> {
        Box::new(FjallSyncer {
            db: self.db.clone(),
            unsynced: self.unsynced,
        })
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncAll).map_err(classify)
    }

    fn probe(&mut self) -> Result<(), StoreError> {
        let probe = self
            .db
            .keyspace(PROBE_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(classify)?;
        let mut write = self.db.batch().durability(None);
        write.insert(&probe, b"probe", vec![0u8; PROBE_BYTES]);
        write.commit().map_err(classify)?;
        self.db.persist(PersistMode::SyncData).map_err(classify)
    }
}

/// Flushes and fsyncs fjall's journal.
struct FjallSyncer {
    db: FjallDatabase,
    unsynced: bool,
}

impl Syncer for FjallSyncer {
    fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced {
            // The journal stays in fjall's buffer: a crash loses acknowledged commits.
            return Ok(());
        }
        self.db.persist(PersistMode::SyncData).map_err(classify)
    }
}

/// A fjall cross-keyspace snapshot.
struct FjallSnapshot {
    snapshot: fjall::Snapshot,
    keyspace: Keyspace,
}

impl EngineSnapshot for FjallSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.snapshot
            .get(&self.keyspace, key)
            .map(|value| value.map(|v| v.to_vec()))
            .map_err(StoreError::backend)
    }

    fn scan<'a>(&'a self, begin: &[u8], end: &[u8], reverse: bool) -> ScanIter<'a> {
        let iter = self.snapshot.range(&self.keyspace, begin..end);
        let pair = |guard: fjall::Guard| -> Result<KeyValue, StoreError> {
            let (key, value) = guard.into_inner().map_err(StoreError::backend)?;
            Ok((key.to_vec(), value.to_vec()))
        };
        if reverse {
            Box::new(iter.rev().map(pair))
        } else {
            Box::new(iter.map(pair))
        }
    }
}
