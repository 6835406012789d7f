//! Limits, transaction reuse, and durability across close and reopen.

use std::future::Future;

use super::{OPS_PER_TASK, TASKS, commit, fresh_subspace, get, range};
use crate::{Database, RangeOption, StoreError, decode_counter};

/// Values over 100,000 bytes make the commit fail with `TooLarge` and write nothing.
pub async fn oversized_values_are_rejected(db: &Database) {
    let space = fresh_subspace("too-large");
    let tx = db.begin();
    tx.set(&space.pack(&("small",)), b"x");
    tx.set(&space.pack(&("big",)), &vec![0u8; 100_001]);
    let err = tx.commit().await.expect_err("oversized value");
    assert!(matches!(err, StoreError::TooLarge), "got {err:?}");
    assert_eq!(get(db, &space.pack(&("small",))).await, None);
}

/// Reading a key longer than any the store holds (70,000 bytes, past every
/// engine's own limit) is an error, not a panic; ranges with such ends too.
pub async fn oversized_keys_are_refused_on_reads(db: &Database) {
    let space = fresh_subspace("too-long-key");
    let long = space.pack(&("k".repeat(70_000),));
    let tx = db.begin();
    let err = tx.get(&long).await.expect_err("oversized key read");
    assert!(matches!(err, StoreError::TooLarge), "got {err:?}");
    let err = tx
        .get_snapshot(&long)
        .await
        .expect_err("oversized snapshot read");
    assert!(matches!(err, StoreError::TooLarge), "got {err:?}");
    let err = tx
        .get_range(RangeOption::prefix(&long))
        .await
        .expect_err("oversized range");
    assert!(matches!(err, StoreError::TooLarge), "got {err:?}");
    // The transaction still works for ordinary keys.
    assert_eq!(tx.get(&space.pack(&("small",))).await.expect("get"), None);
}

/// After commit, a transaction (any clone of it) refuses reads and a second commit with
/// [`StoreError::AlreadyCommitted`]; read-only transactions commit trivially.
pub async fn committed_transactions_refuse_reuse(db: &Database) {
    let space = fresh_subspace("reuse");
    let key = space.pack(&("k",));
    let tx = db.begin();
    tx.set(&key, b"v");
    tx.clone().commit().await.expect("first commit");
    let err = tx.clone().commit().await.expect_err("second commit");
    assert!(matches!(err, StoreError::AlreadyCommitted), "got {err:?}");
    let err = tx.get(&key).await.expect_err("read after commit");
    assert!(matches!(err, StoreError::AlreadyCommitted), "got {err:?}");
    let err = tx
        .get_range(RangeOption::prefix(space.bytes()))
        .await
        .expect_err("range read after commit");
    assert!(matches!(err, StoreError::AlreadyCommitted), "got {err:?}");

    let reader = db.begin();
    assert_eq!(reader.get(&key).await.expect("get"), Some(b"v".to_vec()));
    reader.commit().await.expect("read-only commit");
}

/// Committed data survives `close` and reopening through `open`; counters too. A closed
/// handle refuses reads with [`StoreError::Closed`].
pub async fn durable_after_reopen<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Database, StoreError>>,
{
    let space = fresh_subspace("durable");
    let counter = space.pack(&("n",));
    let db = open().await.expect("open");
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let db = db.clone();
        let space = space.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..OPS_PER_TASK {
                let tx = db.begin();
                tx.set(&space.pack(&("k", t, i)), &[7u8; 100]);
                tx.atomic_add(&counter, 1);
                tx.commit().await.expect("commit");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let tx = db.begin();
    tx.clear(&space.pack(&("k", 0i64, 0i64)));
    commit(tx, "clear one").await;
    db.close().await.expect("close");
    let err = db.begin().get(&counter).await.expect_err("closed database");
    assert!(matches!(err, StoreError::Closed), "got {err:?}");
    drop(db);

    let db = open().await.expect("reopen");
    let total = decode_counter(&get(&db, &counter).await.expect("counter after reopen"));
    assert_eq!(total, TASKS * OPS_PER_TASK);
    let keys = range(&db, RangeOption::prefix(&space.pack(&("k",)))).await;
    assert_eq!(keys.len() as i64, TASKS * OPS_PER_TASK - 1);
    assert!(keys.iter().all(|(_, v)| v == &vec![7u8; 100]));
    db.close().await.expect("close after reopen");
}
