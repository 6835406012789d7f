//! [`FdbBackend`]: a FoundationDB cluster behind [`store::Backend`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use store::{Backend, BackendTransaction, Database, StoreError};

use crate::error::store_error;
use crate::network;
use crate::transaction::FdbTransaction;

/// The store backend on a FoundationDB cluster.
///
/// Cheap to share: wrap it in an [`Arc`] (or turn it into a [`store::Database`] with
/// [`FdbBackend::into_database`]) and use it from any thread.
pub struct FdbBackend {
    /// Shared with every transaction handed out, so the FDB database handle outlives them.
    db: Arc<foundationdb::Database>,
    /// Set by [`Backend::close`]; shared with every transaction handed out.
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for FdbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdbBackend")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl FdbBackend {
    /// Connects to the cluster described by `cluster_file`, or by FDB's default cluster file
    /// when `None` (the `FDB_CLUSTER_FILE` environment variable, then `fdb.cluster` in the
    /// working directory, then `/etc/foundationdb/fdb.cluster`).
    ///
    /// The first call in a process starts the FDB client network (see [`crate::network`]);
    /// it needs `libfdb_c` at run time, of a version that supports API version 730. Opening
    /// does not wait for the cluster: an unreachable cluster shows up as operations that
    /// wait and then fail.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the FDB network cannot be started, the path is not valid
    /// UTF-8 or contains a NUL byte, or FDB rejects the cluster file.
    pub fn open(cluster_file: Option<&Path>) -> Result<Self, StoreError> {
        let path = cluster_file
            .map(|path| {
                path.to_str().filter(|s| !s.contains('\0')).ok_or_else(|| {
                    StoreError::Backend(format!(
                        "FoundationDB cluster file path {} is not valid UTF-8 without NUL bytes",
                        path.display()
                    ))
                })
            })
            .transpose()?;
        network::ensure_started().map_err(|err| StoreError::Backend(err.to_string()))?;
        let db = foundationdb::Database::new(path).map_err(|err| {
            let shown = path.unwrap_or("(default cluster file)");
            match store_error(err) {
                StoreError::Backend(message) => {
                    StoreError::Backend(format!("opening FoundationDB cluster {shown}: {message}"))
                }
                other => other,
            }
        })?;
        Ok(FdbBackend {
            db: Arc::new(db),
            closed: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Wraps this backend in a [`store::Database`], the handle the chat logic uses.
    pub fn into_database(self) -> Database {
        Database::from_backend(Arc::new(self))
    }
}

#[async_trait]
impl Backend for FdbBackend {
    fn begin(&self) -> Arc<dyn BackendTransaction> {
        let closed = Arc::clone(&self.closed);
        if closed.load(Ordering::Acquire) {
            return Arc::new(FdbTransaction::closed(closed));
        }
        match self.db.create_trx() {
            Ok(tx) => Arc::new(FdbTransaction::new(tx, Arc::clone(&self.db), closed)),
            Err(err) => Arc::new(FdbTransaction::failed(err, closed)),
        }
    }

    /// Marks the backend closed: later transactions and commits fail with
    /// [`StoreError::Closed`]. Committed data is already durable in the cluster, so there is
    /// nothing to flush. The process-wide FDB network keeps running (FDB cannot restart it)
    /// until the process exits.
    async fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }
}
