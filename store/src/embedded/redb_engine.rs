//! The redb engine: a copy-on-write B-tree. Batches are non-durable redb commits; the sync
//! thread makes them durable with an empty `Durability::Immediate` commit, which persists
//! every earlier non-durable commit.

use std::path::Path;
use std::sync::Arc;

use redb::{
    Database as RedbDatabase, Durability, ReadOnlyTable, ReadableDatabase, TableDefinition,
};

use crate::backend::KeyValue;
use crate::error::StoreError;
use crate::layer::engine::{Engine, EngineBatch, EngineSnapshot, ScanIter, Syncer};

/// The single table holding all keys.
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");
/// The table the recovery probe writes to, apart from the store's keys.
const PROBE_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("probe");
/// Size of the probe record: a page, so that it needs new room on the disk.
const PROBE_BYTES: usize = 4096;
/// File name of the database inside the store directory.
const FILE: &str = "store.redb";

/// An open redb database.
pub(crate) struct RedbEngine {
    db: Arc<RedbDatabase>,
}

impl RedbEngine {
    /// Opens (or creates) `store.redb` in `dir` and makes sure the table exists.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = RedbDatabase::create(dir.join(FILE)).map_err(StoreError::backend)?;
        let txn = db.begin_write().map_err(StoreError::backend)?;
        txn.open_table(TABLE).map_err(StoreError::backend)?;
        txn.commit().map_err(StoreError::backend)?;
        Ok(RedbEngine { db: Arc::new(db) })
    }
}

impl Engine for RedbEngine {
    fn snapshot(&self) -> Result<Arc<dyn EngineSnapshot>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::backend)?;
        let table = txn.open_table(TABLE).map_err(StoreError::backend)?;
        Ok(Arc::new(RedbSnapshot { table }))
    }

    fn write(&mut self, batch: &EngineBatch) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(StoreError::backend)?;
        txn.set_durability(Durability::None)
            .map_err(StoreError::backend)?;
        {
            let mut table = txn.open_table(TABLE).map_err(StoreError::backend)?;
            for (begin, end) in &batch.clear_ranges {
                table
                    .retain_in(begin.as_slice()..end.as_slice(), |_, _| false)
                    .map_err(StoreError::backend)?;
            }
            for (key, value) in &batch.points {
                match value {
                    Some(value) => {
                        table
                            .insert(key.as_slice(), value.as_slice())
                            .map_err(StoreError::backend)?;
                    }
                    None => {
                        table.remove(key.as_slice()).map_err(StoreError::backend)?;
                    }
                }
            }
        }
        txn.commit().map_err(StoreError::backend)
    }

    fn syncer(&self) -> Box<dyn Syncer> {
        Box::new(RedbSyncer {
            db: Arc::clone(&self.db),
        })
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        // The sync thread has stopped; one last durable commit covers anything unsynced.
        RedbSyncer {
            db: Arc::clone(&self.db),
        }
        .sync()?;
        // Dropping the last handle releases the file lock.
        drop(self.db);
        Ok(())
    }

    fn probe(&mut self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::backend)?;
        {
            let mut table = txn.open_table(PROBE_TABLE).map_err(StoreError::backend)?;
            table
                .insert(b"probe".as_slice(), [0u8; PROBE_BYTES].as_slice())
                .map_err(StoreError::backend)?;
        }
        // The default durability is immediate: the commit returns after an fsync.
        txn.commit().map_err(StoreError::backend)
    }
}

/// Makes earlier non-durable commits durable.
struct RedbSyncer {
    db: Arc<RedbDatabase>,
}

impl Syncer for RedbSyncer {
    fn sync(&mut self) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(StoreError::backend)?;
        txn.set_durability(Durability::Immediate)
            .map_err(StoreError::backend)?;
        txn.commit().map_err(StoreError::backend)
    }
}

/// A read transaction's view of the table.
struct RedbSnapshot {
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl EngineSnapshot for RedbSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.table.get(key).map_err(StoreError::backend)?;
        Ok(value.map(|guard| guard.value().to_vec()))
    }

    fn scan<'a>(&'a self, begin: &[u8], end: &[u8], reverse: bool) -> ScanIter<'a> {
        let range = match self.table.range(begin..end) {
            Ok(range) => range,
            Err(err) => return Box::new(std::iter::once(Err(StoreError::backend(err)))),
        };
        let pair = |item: Result<_, redb::StorageError>| -> Result<KeyValue, StoreError> {
            let (key, value): (redb::AccessGuard<'_, &[u8]>, redb::AccessGuard<'_, &[u8]>) =
                item.map_err(StoreError::backend)?;
            Ok((key.value().to_vec(), value.value().to_vec()))
        };
        if reverse {
            Box::new(range.rev().map(pair))
        } else {
            Box::new(range.map(pair))
        }
    }
}
