//! The store conformance suite against a live FoundationDB cluster.
//!
//! Built only with `--features integration` (the test target requires it): linking needs
//! `libfdb_c`, and running needs a reachable cluster, named by the `FDB_CLUSTER_FILE`
//! environment variable or else FDB's default cluster file. Every case writes under its own
//! fresh `("conformance", case, nonce)` subspace, so the cluster may hold other data, but use
//! a cluster dedicated to testing: the cases leave their keys behind.
//!
//! ```sh
//! FDB_CLUSTER_FILE=/etc/foundationdb/fdb.cluster \
//!     cargo test -p chatmesh-store-fdb --features integration
//! ```

use std::path::PathBuf;

use store::{Database, StoreError, conformance};
use store_fdb::FdbBackend;

/// The cluster file to test against: `FDB_CLUSTER_FILE`, else FDB's default resolution.
fn cluster_file() -> Option<PathBuf> {
    std::env::var_os("FDB_CLUSTER_FILE")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

async fn open() -> Result<Database, StoreError> {
    FdbBackend::open(cluster_file().as_deref()).map(FdbBackend::into_database)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite() {
    let db = open().await.expect("open the FoundationDB cluster");
    conformance::run_all(&db).await;
    db.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durable_after_reopen() {
    conformance::durable_after_reopen(open).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_fail_after_commit_and_close() {
    let backend = FdbBackend::open(cluster_file().as_deref()).expect("open");
    let db = backend.into_database();
    let key = conformance::fresh_subspace("fdb-lifecycle").pack(&("k",));

    let tx = db.begin();
    tx.set(&key, b"v");
    tx.clone().commit().await.expect("first commit");
    let err = tx.clone().commit().await.expect_err("second commit");
    assert!(matches!(err, StoreError::AlreadyCommitted), "got {err:?}");
    let err = tx.get(&key).await.expect_err("read after commit");
    assert!(matches!(err, StoreError::AlreadyCommitted), "got {err:?}");

    let pending = db.begin();
    pending.set(&key, b"late");
    db.close().await.expect("close");
    let err = pending.commit().await.expect_err("commit after close");
    assert!(matches!(err, StoreError::Closed), "got {err:?}");
    let err = db.begin().get(&key).await.expect_err("begin after close");
    assert!(matches!(err, StoreError::Closed), "got {err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_ranges_stream_every_page() {
    let db = open().await.expect("open");
    let space = conformance::fresh_subspace("fdb-pages");
    // Enough data for FDB to answer in several pages.
    let count = 3_000i64;
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let tx = db.begin();
        for i in chunk {
            tx.set(&space.pack(&(*i,)), &[b'x'; 1_000]);
        }
        tx.commit().await.expect("write chunk");
    }
    let all = store::RangeOption::prefix(space.bytes());
    let tx = db.begin();
    let forward = tx.get_range(all.clone()).await.expect("forward");
    assert_eq!(forward.len() as i64, count);
    assert!(forward.windows(2).all(|w| w[0].0 < w[1].0));
    let backward = tx.get_range(all.clone().reverse()).await.expect("backward");
    assert_eq!(backward.len() as i64, count);
    assert_eq!(
        backward.first().map(|kv| &kv.0),
        forward.last().map(|kv| &kv.0)
    );
    let limited = tx
        .get_range(all.clone().reverse().limit(2_500).snapshot())
        .await
        .expect("limited");
    assert_eq!(limited.len(), 2_500);
    assert_eq!(limited[..], backward[..2_500]);
}
