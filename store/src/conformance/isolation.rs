//! Serializability: which concurrent transactions conflict, and which never do.

use super::{
    OPS_PER_TASK, TASKS, commit, fresh_subspace, get, int_keys, range, read_counter, write_ints,
};
use crate::{Database, RangeOption, StoreError, decode_counter};

/// Two transactions read-modify-write one key: the first commit wins, the second conflicts.
pub async fn read_modify_write_conflicts(db: &Database) {
    let space = fresh_subspace("rmw");
    let key = space.pack(&("n",));
    let t1 = db.begin();
    let t2 = db.begin();
    let v1 = read_counter(&t1, &key).await;
    let v2 = read_counter(&t2, &key).await;
    assert_eq!((v1, v2), (0, 0));
    t1.set(&key, &(v1 + 1).to_le_bytes());
    t2.set(&key, &(v2 + 1).to_le_bytes());
    commit(t1, "first writer").await;
    let err = t2.commit().await.expect_err("second writer must conflict");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
    assert!(err.is_retryable());
    assert_eq!(decode_counter(&get(db, &key).await.expect("counter")), 1);
}

/// Racing read-modify-write commits: exactly one of each racing pair commits.
pub async fn concurrent_read_modify_write_commits_once(db: &Database) {
    let space = fresh_subspace("rmw-race");
    let key = space.pack(&("n",));
    for round in 0..10i64 {
        let t1 = db.begin();
        let t2 = db.begin();
        for tx in [&t1, &t2] {
            let v = read_counter(tx, &key).await;
            assert_eq!(v, round);
            tx.set(&key, &(v + 1).to_le_bytes());
        }
        let (r1, r2) = tokio::join!(t1.commit(), t2.commit());
        let wins = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {r1:?} {r2:?}");
        for r in [r1, r2] {
            if let Err(e) = r {
                assert!(matches!(e, StoreError::Conflict), "got {e:?}");
            }
        }
    }
    assert_eq!(decode_counter(&get(db, &key).await.expect("counter")), 10);
}

/// `Database::run` retries conflicting read-modify-writes until each applies exactly once.
pub async fn run_retries_to_an_exact_count(db: &Database) {
    let space = fresh_subspace("run");
    let key = space.pack(&("n",));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let db = db.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..4 {
                db.run(|tx| {
                    let key = key.clone();
                    async move {
                        let v = read_counter(&tx, &key).await;
                        tx.set(&key, &(v + 1).to_le_bytes());
                        Ok::<_, StoreError>(())
                    }
                })
                .await
                .expect("run");
            }
        }));
    }
    for task in tasks {
        task.await.expect("run task");
    }
    assert_eq!(
        decode_counter(&get(db, &key).await.expect("counter")),
        TASKS * 4
    );
}

/// Concurrent random transfers between accounts (read both, write both) never create or
/// destroy money, and every transaction's range read of all accounts sees the exact total:
/// lost updates or torn snapshots would break one or the other.
pub async fn transfers_preserve_the_total(db: &Database) {
    use rand::Rng;
    const ACCOUNTS: i64 = 6;
    const START: i64 = 100;
    let space = fresh_subspace("transfers");
    let tx = db.begin();
    for account in 0..ACCOUNTS {
        tx.set(&space.pack(&(account,)), &START.to_le_bytes());
    }
    commit(tx, "open accounts").await;

    let mut tasks = Vec::new();
    for _ in 0..TASKS / 2 {
        let db = db.clone();
        let space = space.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..OPS_PER_TASK / 2 {
                let (from, to, amount, audit) = {
                    let mut rng = rand::thread_rng();
                    let from = rng.gen_range(0..ACCOUNTS);
                    let to = (from + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
                    (from, to, rng.gen_range(1..=20i64), rng.gen_bool(0.3))
                };
                db.run(|tx| {
                    let space = space.clone();
                    async move {
                        if audit {
                            let all = tx.get_range(RangeOption::prefix(space.bytes())).await?;
                            let total: i64 = all.iter().map(|(_, v)| decode_counter(v)).sum();
                            assert_eq!(total, ACCOUNTS * START, "a snapshot saw a torn total");
                        }
                        let a = read_counter(&tx, &space.pack(&(from,))).await;
                        let b = read_counter(&tx, &space.pack(&(to,))).await;
                        tx.set(&space.pack(&(from,)), &(a - amount).to_le_bytes());
                        tx.set(&space.pack(&(to,)), &(b + amount).to_le_bytes());
                        Ok::<_, StoreError>(())
                    }
                })
                .await
                .expect("transfer");
            }
        }));
    }
    for task in tasks {
        task.await.expect("transfer task");
    }
    let all = range(db, RangeOption::prefix(space.bytes())).await;
    assert_eq!(all.len() as i64, ACCOUNTS);
    let total: i64 = all.iter().map(|(_, v)| decode_counter(v)).sum();
    assert_eq!(total, ACCOUNTS * START);
}

/// Snapshot reads (point and range) add no read conflicts.
pub async fn snapshot_reads_do_not_conflict(db: &Database) {
    let space = fresh_subspace("snapshot");
    let key = space.pack(&("k",));
    let t1 = db.begin();
    assert_eq!(t1.get_snapshot(&key).await.expect("get"), None);
    t1.get_range(RangeOption::prefix(space.bytes()).snapshot())
        .await
        .expect("range");
    let t2 = db.begin();
    t2.set(&key, b"other");
    commit(t2, "writer").await;
    // t1 still reads its own snapshot.
    assert_eq!(t1.get_snapshot(&key).await.expect("get"), None);
    t1.set(&space.pack(&("out",)), b"x");
    commit(t1, "snapshot reader").await;
}

/// Transactions that only write never conflict, even on the same key; last commit wins.
pub async fn write_only_transactions_never_conflict(db: &Database) {
    let space = fresh_subspace("blind");
    let key = space.pack(&("k",));
    let t1 = db.begin();
    let t2 = db.begin();
    t1.set(&key, b"1");
    t2.set(&key, b"2");
    commit(t2, "blind write 2").await;
    commit(t1, "blind write 1").await;
    assert_eq!(get(db, &key).await, Some(b"1".to_vec()));
}

/// A limited range read conflicts only with writes into the part it returned.
pub async fn limited_range_conflicts_only_on_what_was_read(db: &Database) {
    let space = fresh_subspace("limit-conflict");
    // Unrelated writes that make the transactions read-write go elsewhere.
    let out = fresh_subspace("limit-conflict-out").pack(&("out",));
    write_ints(db, &space, 0..10).await;
    let all = RangeOption::prefix(space.bytes());

    let t1 = db.begin();
    let got = t1.get_range(all.clone().limit(3)).await.expect("range");
    assert_eq!(int_keys(&space, &got), vec![0, 1, 2]);
    write_ints(db, &space, [5]).await;
    t1.set(&out, b"x");
    commit(t1, "write beyond the limit").await;

    let t2 = db.begin();
    t2.get_range(all.clone().limit(3)).await.expect("range");
    write_ints(db, &space, [1]).await;
    t2.set(&out, b"x");
    let err = t2.commit().await.expect_err("write inside the read part");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");

    // The same for reverse reads: the read part is the top of the range.
    let t3 = db.begin();
    let got = t3
        .get_range(all.clone().reverse().limit(2))
        .await
        .expect("range");
    assert_eq!(int_keys(&space, &got), vec![9, 8]);
    write_ints(db, &space, [2]).await;
    t3.set(&out, b"x");
    commit(t3, "write below a reverse limit").await;

    let t4 = db.begin();
    t4.get_range(all.reverse().limit(2)).await.expect("range");
    // A new key inside the read part (between 8 and 9) is a phantom: conflict.
    let tx = db.begin();
    tx.set(&space.pack(&(8i64, "phantom")), b"x");
    commit(tx, "phantom").await;
    t4.set(&out, b"x");
    let err = t4.commit().await.expect_err("phantom inside the read part");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
}

/// An atomic add is a write: it conflicts with a transaction that read the key.
pub async fn atomic_add_conflicts_with_readers(db: &Database) {
    let space = fresh_subspace("add-reader");
    let key = space.pack(&("n",));
    let reader = db.begin();
    read_counter(&reader, &key).await;
    let adder = db.begin();
    adder.atomic_add(&key, 1);
    commit(adder, "adder").await;
    reader.set(&space.pack(&("out",)), b"x");
    let err = reader.commit().await.expect_err("reader must conflict");
    assert!(matches!(err, StoreError::Conflict), "got {err:?}");
}

/// A committed `clear_range` conflicts with transactions that read a key or range inside it,
/// not with ones that read next to it.
pub async fn clear_range_conflicts_with_readers(db: &Database) {
    let space = fresh_subspace("clear-reader");
    let out = fresh_subspace("clear-reader-out").pack(&("out",));
    write_ints(db, &space, 0..10).await;
    let point_reader = db.begin();
    point_reader.get(&space.pack(&(5i64,))).await.expect("get");
    let range_reader = db.begin();
    range_reader
        .get_range(RangeOption::between(
            &space.pack(&(6i64,)),
            &space.pack(&(8i64,)),
        ))
        .await
        .expect("range");
    let outside_reader = db.begin();
    outside_reader
        .get_range(RangeOption::between(
            &space.pack(&(0i64,)),
            &space.pack(&(4i64,)),
        ))
        .await
        .expect("range");

    let clearer = db.begin();
    clearer.clear_range(&space.pack(&(4i64,)), &space.pack(&(7i64,)));
    commit(clearer, "clear_range").await;

    for (tx, what) in [(point_reader, "point"), (range_reader, "range")] {
        tx.set(&out, b"x");
        let err = tx.commit().await.expect_err(what);
        assert!(matches!(err, StoreError::Conflict), "{what}: got {err:?}");
    }
    outside_reader.set(&out, b"x");
    commit(outside_reader, "reader next to the cleared range").await;
}
