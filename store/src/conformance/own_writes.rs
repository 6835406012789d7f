//! Read-your-writes and atomic adds.

use super::{OPS_PER_TASK, TASKS, commit, fresh_subspace, get, int_keys, write_ints};
use crate::{Database, RangeOption, decode_counter};

/// Point reads see the transaction's own sets, clears and adds before commit.
pub async fn read_your_writes(db: &Database) {
    let space = fresh_subspace("ryw");
    let key = space.pack(&("k",));
    let counter = space.pack(&("n",));
    write_ints(db, &space, [1]).await;
    let tx = db.begin();
    tx.set(&key, b"mine");
    assert_eq!(tx.get(&key).await.expect("get"), Some(b"mine".to_vec()));
    assert_eq!(
        tx.get_snapshot(&key).await.expect("get"),
        Some(b"mine".to_vec())
    );
    tx.clear(&key);
    assert_eq!(tx.get(&key).await.expect("get"), None);
    tx.clear_range(space.bytes(), &crate::prefix_end(space.bytes()));
    assert_eq!(tx.get(&space.pack(&(1i64,))).await.expect("get"), None);
    tx.atomic_add(&counter, 5);
    tx.atomic_add(&counter, -2);
    let value = tx.get(&counter).await.expect("get").expect("counter");
    assert_eq!(decode_counter(&value), 3);
    // Other transactions see nothing until commit.
    assert_eq!(get(db, &space.pack(&(1i64,))).await, Some(b"v1".to_vec()));
    commit(tx, "ryw").await;
    assert_eq!(get(db, &space.pack(&(1i64,))).await, None);

    // A pending add applies on top of the committed value.
    let tx = db.begin();
    tx.atomic_add(&counter, 10);
    let value = tx.get(&counter).await.expect("get").expect("counter");
    assert_eq!(decode_counter(&value), 13);
    commit(tx, "add").await;
    let value = get(db, &counter).await.expect("counter");
    assert_eq!(decode_counter(&value), 13);
}

/// Range reads merge committed keys with the transaction's sets, clears, cleared ranges and
/// pending adds, in both directions and with limits.
pub async fn read_your_writes_in_ranges(db: &Database) {
    let space = fresh_subspace("ryw-range");
    write_ints(db, &space, [0, 2, 4, 6, 8]).await;
    let tx = db.begin();
    tx.set(&space.pack(&(3i64,)), b"new3");
    tx.set(&space.pack(&(4i64,)), b"new4");
    tx.clear(&space.pack(&(6i64,)));
    tx.clear_range(&space.pack(&(7i64,)), &space.pack(&(9i64,)));
    tx.atomic_add(&space.pack(&(5i64,)), 7);
    tx.atomic_add(&space.pack(&(0i64,)), 1);
    let all = RangeOption::prefix(space.bytes());
    let merged = tx.get_range(all.clone()).await.expect("range");
    assert_eq!(int_keys(&space, &merged), vec![0, 2, 3, 4, 5]);
    assert_eq!(merged[2].1, b"new3".to_vec());
    assert_eq!(merged[3].1, b"new4".to_vec());
    assert_eq!(decode_counter(&merged[4].1), 7);
    // "v0" as a little-endian counter plus one.
    assert_eq!(decode_counter(&merged[0].1), decode_counter(b"v0") + 1);
    let back = tx
        .get_range(all.clone().reverse().limit(3))
        .await
        .expect("range");
    assert_eq!(int_keys(&space, &back), vec![5, 4, 3]);
    let first = tx.get_range(all.limit(2)).await.expect("range");
    assert_eq!(int_keys(&space, &first), vec![0, 2]);
}

/// Adds on a missing key start from zero; adds compose with sets; short values extend.
pub async fn atomic_add_semantics(db: &Database) {
    let space = fresh_subspace("add");
    let key = space.pack(&("n",));
    let tx = db.begin();
    tx.atomic_add(&key, 41);
    commit(tx, "add").await;
    let tx = db.begin();
    tx.atomic_add(&key, 1);
    commit(tx, "add").await;
    let value = get(db, &key).await.expect("counter");
    assert_eq!(value.len(), 8);
    assert_eq!(decode_counter(&value), 42);

    let tx = db.begin();
    tx.atomic_add(&key, -50);
    commit(tx, "add").await;
    assert_eq!(decode_counter(&get(db, &key).await.expect("counter")), -8);

    let short = space.pack(&("short",));
    let tx = db.begin();
    tx.set(&short, &[0x01, 0x01]);
    commit(tx, "set short").await;
    let tx = db.begin();
    tx.atomic_add(&short, 1);
    commit(tx, "add to short").await;
    assert_eq!(decode_counter(&get(db, &short).await.expect("short")), 258);
}

/// Concurrent atomic adds from many tasks sum exactly and never conflict.
pub async fn atomic_add_concurrent_total(db: &Database) {
    let space = fresh_subspace("add-concurrent");
    let key = space.pack(&("n",));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let db = db.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..OPS_PER_TASK {
                let tx = db.begin();
                tx.atomic_add(&key, 1);
                tx.commit().await.expect("atomic adds never conflict");
            }
        }));
    }
    for task in tasks {
        task.await.expect("adder task");
    }
    let total = decode_counter(&get(db, &key).await.expect("counter"));
    assert_eq!(total, TASKS * OPS_PER_TASK);
}
