//! The redb engine: a copy-on-write B-tree with one durable commit per batch.

use std::path::Path;
use std::sync::Arc;

use redb::{
    Database as RedbDatabase, Durability, ReadOnlyTable, ReadableDatabase, TableDefinition,
};

use crate::backend::KeyValue;
use crate::error::StoreError;
use crate::layer::engine::{Engine, EngineBatch, EngineSnapshot, ScanIter};

/// The single table holding all keys.
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");
/// File name of the database inside the store directory.
const FILE: &str = "store.redb";

/// An open redb database.
pub(crate) struct RedbEngine {
    db: RedbDatabase,
}

impl RedbEngine {
    /// Opens (or creates) `store.redb` in `dir` and makes sure the table exists.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = RedbDatabase::create(dir.join(FILE)).map_err(StoreError::backend)?;
        let txn = db.begin_write().map_err(StoreError::backend)?;
        txn.open_table(TABLE).map_err(StoreError::backend)?;
        txn.commit().map_err(StoreError::backend)?;
        Ok(RedbEngine { db })
    }
}

impl Engine for RedbEngine {
    fn snapshot(&self) -> Result<Arc<dyn EngineSnapshot>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::backend)?;
        let table = txn.open_table(TABLE).map_err(StoreError::backend)?;
        Ok(Arc::new(RedbSnapshot { table }))
    }

    fn apply(&mut self, batch: &EngineBatch) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(StoreError::backend)?;
        txn.set_durability(Durability::Immediate)
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

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        // Every commit was durable; dropping the database releases the file lock.
        drop(self.db);
        Ok(())
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
