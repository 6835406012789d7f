//! Storage failures, injected: a wrapper around the fjall engine fails writes or syncs with
//! `ENOSPC` while a switch is on, and, like fjall itself, keeps failing afterwards until it
//! is reopened. The store must refuse work while failing, acknowledge nothing it did not
//! sync, and take work again once the disk does.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::fjall_engine::FjallEngine;
use crate::error::{FailureCause, StorageFailure, StoreError};
use crate::layer::engine::{Engine, EngineBatch, EngineSnapshot, Reopen, Syncer};
use crate::layer::{LayeredBackend, TRANSACTION_WINDOW};
use crate::{Database, RangeOption};

/// Which step fails while the switch is on.
const HEALTHY: u8 = 0;
const WRITES_FAIL: u8 = 1;
const SYNCS_FAIL: u8 = 2;

fn disk_full() -> StoreError {
    let err = std::io::Error::from_raw_os_error(28);
    StoreError::Unavailable(StorageFailure::from_io(&err))
}

/// fjall behind a fault switch; once it failed it stays failed ("poisoned").
struct Faulty {
    inner: FjallEngine,
    mode: Arc<AtomicU8>,
    poisoned: Arc<AtomicBool>,
}

impl Faulty {
    fn check(&self, failing: u8) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(StorageFailure::new(
                FailureCause::Poisoned,
                "poisoned",
            )));
        }
        if self.mode.load(Ordering::SeqCst) == failing {
            self.poisoned.store(true, Ordering::SeqCst);
            return Err(disk_full());
        }
        Ok(())
    }
}

impl Engine for Faulty {
    fn snapshot(&self) -> Result<Arc<dyn EngineSnapshot>, StoreError> {
        self.inner.snapshot()
    }

    fn write(&mut self, batch: &EngineBatch) -> Result<(), StoreError> {
        self.check(WRITES_FAIL)?;
        self.inner.write(batch)
    }

    fn syncer(&self) -> Box<dyn Syncer> {
        Box::new(FaultySyncer {
            inner: self.inner.syncer(),
            mode: Arc::clone(&self.mode),
            poisoned: Arc::clone(&self.poisoned),
        })
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Box::new(self.inner).close()
    }

    fn probe(&mut self) -> Result<(), StoreError> {
        if self.mode.load(Ordering::SeqCst) != HEALTHY {
            return Err(disk_full());
        }
        self.inner.probe()
    }
}

struct FaultySyncer {
    inner: Box<dyn Syncer>,
    mode: Arc<AtomicU8>,
    poisoned: Arc<AtomicBool>,
}

impl Syncer for FaultySyncer {
    fn sync(&mut self) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::SeqCst) || self.mode.load(Ordering::SeqCst) == SYNCS_FAIL {
            self.poisoned.store(true, Ordering::SeqCst);
            return Err(disk_full());
        }
        self.inner.sync()
    }
}

fn open_faulty(dir: &Path, mode: &Arc<AtomicU8>) -> Result<Box<dyn Engine>, StoreError> {
    Ok(Box::new(Faulty {
        inner: FjallEngine::open(dir, false)?,
        mode: Arc::clone(mode),
        poisoned: Arc::new(AtomicBool::new(false)),
    }))
}

fn start(dir: &Path, mode: &Arc<AtomicU8>) -> Database {
    let engine = open_faulty(dir, mode).unwrap();
    let (owned, switch) = (dir.to_path_buf(), Arc::clone(mode));
    let reopen: Reopen = Box::new(move || open_faulty(&owned, &switch));
    let backend = LayeredBackend::start(engine, Some(reopen), "faulty", TRANSACTION_WINDOW);
    Database::from_backend(Arc::new(backend.unwrap()))
}

async fn put(db: &Database, key: &[u8]) -> Result<(), StoreError> {
    let tx = db.begin();
    tx.set(key, b"v");
    tx.commit().await
}

/// The keys stored, but `k2`: the commit that failed may or may not have reached the disk
/// (a failed sync leaves its batch in the journal), as after a crash.
async fn keys(db: &Database) -> Vec<Vec<u8>> {
    let pairs = db.begin().get_range(RangeOption::prefix(b"k")).await;
    let keys = pairs.unwrap().into_iter().map(|(k, _)| k);
    keys.filter(|k| k != b"k2").collect()
}

async fn until_healthy(db: &Database) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while db.health().is_err() {
        assert!(Instant::now() < deadline, "the store never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn fails_then_recovers(failing: u8) {
    let dir = tempfile::tempdir().unwrap();
    let mode = Arc::new(AtomicU8::new(HEALTHY));
    let db = start(dir.path(), &mode);
    put(&db, b"k1").await.unwrap();

    mode.store(failing, Ordering::SeqCst);
    let refused = put(&db, b"k2").await.unwrap_err();
    let StoreError::Unavailable(failure) = refused else {
        panic!("expected unavailable, got {refused:?}");
    };
    assert_eq!(failure.cause, FailureCause::DiskFull);
    assert!(matches!(db.health(), Err(StoreError::Unavailable(_))));
    let read = db.begin().get(b"k1").await.unwrap_err();
    assert!(matches!(read, StoreError::Unavailable(_)), "{read:?}");
    // Still refused while the disk stays full, through several reopen attempts.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        put(&db, b"k3").await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(db.health().is_err());
    let during = db.begin();
    during.set(b"k5", b"v");

    mode.store(HEALTHY, Ordering::SeqCst);
    until_healthy(&db).await;
    put(&db, b"k4").await.unwrap();
    // A transaction begun while the store was unavailable never had a view to commit on.
    let stale = during.commit().await.unwrap_err();
    assert!(matches!(stale, StoreError::Unavailable(_)), "{stale:?}");
    assert_eq!(keys(&db).await, vec![b"k1".to_vec(), b"k4".to_vec()]);
    db.close().await.unwrap();
    drop(db);

    let reopened = Database::open_embedded(dir.path(), super::EmbeddedOptions::default()).unwrap();
    assert_eq!(keys(&reopened).await, vec![b"k1".to_vec(), b"k4".to_vec()]);
    reopened.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_makes_the_store_unavailable_until_the_disk_takes_writes() {
    fails_then_recovers(WRITES_FAIL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_makes_the_store_unavailable_until_the_disk_takes_writes() {
    fails_then_recovers(SYNCS_FAIL).await;
}

#[tokio::test]
async fn the_memory_engine_reports_healthy() {
    let db = Database::in_memory().unwrap();
    assert!(db.health().is_ok());
    db.close().await.unwrap();
}
