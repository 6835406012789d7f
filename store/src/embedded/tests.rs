//! Runs the conformance suite against every embedded engine, plus layer-specific cases.

use std::time::Duration;

use super::{EmbeddedOptions, EngineKind};
use crate::{Database, StoreError, conformance};

async fn conformance_on(engine: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let open =
        || async { Database::open_embedded(dir.path(), EmbeddedOptions::with_engine(engine)) };
    let db = open().await.unwrap();
    conformance::run_all(&db).await;
    db.close().await.unwrap();
    drop(db);
    conformance::durable_after_reopen(open).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_fjall() {
    conformance_on(EngineKind::Fjall).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_redb() {
    conformance_on(EngineKind::Redb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_memory() {
    let db = Database::in_memory().unwrap();
    conformance::run_all(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn conformance_runs_on_a_current_thread_runtime() {
    let db = Database::in_memory().unwrap();
    conformance::read_modify_write_conflicts(&db).await;
    conformance::atomic_add_concurrent_total(&db).await;
}

#[tokio::test]
async fn reads_fail_after_the_transaction_window() {
    let db = Database::in_memory_with_window(Duration::from_millis(50)).unwrap();
    let tx = db.begin();
    tx.get(b"k").await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    let err = tx.get(b"k").await.unwrap_err();
    assert!(matches!(err, StoreError::TransactionTooOld), "got {err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn commits_older_than_the_conflict_window_are_too_old() {
    let db = Database::in_memory_with_window(Duration::from_millis(50)).unwrap();
    let old = db.begin();
    old.get(b"k").await.unwrap();
    old.set(b"k", b"old");
    // A commit ages past the window, and a later one makes the committer forget it.
    let tx = db.begin();
    tx.set(b"other", b"1");
    tx.commit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    let tx = db.begin();
    tx.set(b"other", b"2");
    tx.commit().await.unwrap();
    let err = old.commit().await.unwrap_err();
    assert!(matches!(err, StoreError::TransactionTooOld), "got {err:?}");
}

#[tokio::test]
async fn read_only_commits_succeed_and_closed_databases_reject_writes() {
    let db = Database::in_memory().unwrap();
    let tx = db.begin();
    assert_eq!(tx.get(b"k").await.unwrap(), None);
    tx.commit().await.unwrap();
    db.close().await.unwrap();
    let tx = db.begin();
    tx.set(b"k", b"v");
    assert!(matches!(tx.commit().await, Err(StoreError::Closed)));
    // Closing twice is harmless.
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_directory_stays_with_the_engine_that_created_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_embedded(dir.path(), EmbeddedOptions::with_engine(EngineKind::Fjall))
        .unwrap();
    db.close().await.unwrap();
    drop(db);
    let err = Database::open_embedded(dir.path(), EmbeddedOptions::with_engine(EngineKind::Redb))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("fjall")),
        "got {err:?}"
    );
    let db = Database::open_embedded(dir.path(), EmbeddedOptions::with_engine(EngineKind::Fjall))
        .unwrap();
    db.close().await.unwrap();
}
