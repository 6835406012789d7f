//! The conformance suite every backend must pass (feature `conformance`).
//!
//! Each case takes a [`Database`] and works under its own fresh subspace
//! (`("conformance", case, nonce)`), so the cases can share one store — a FoundationDB
//! cluster or an embedded directory — and run in any order. Failures panic, as test
//! assertions do. [`run_all`] runs every case that needs only one open database;
//! [`durable_after_reopen`] also closes and reopens the store through a factory.
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread")]
//! async fn conformance() {
//!     let dir = tempfile::tempdir().unwrap();
//!     let open = || async { Database::open_embedded(dir.path(), EmbeddedOptions::default()) };
//!     store::conformance::run_all(&open().await.unwrap()).await;
//!     store::conformance::durable_after_reopen(open).await;
//! }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::tuple::Subspace;
use crate::{Database, KeyValue, RangeOption, StoreError, Transaction, decode_counter};

/// Concurrent tasks in the concurrency cases.
const TASKS: i64 = 16;
/// Operations per task in the concurrency cases.
const OPS_PER_TASK: i64 = 25;

/// Runs every single-database case, each in its own subspace.
pub async fn run_all(db: &Database) {
    tuple_keys_order_and_range_bounds(db).await;
    reverse_and_limits(db).await;
    prefix_ranges(db).await;
    clear_and_clear_range(db).await;
    read_your_writes(db).await;
    read_your_writes_in_ranges(db).await;
    atomic_add_semantics(db).await;
    atomic_add_concurrent_total(db).await;
    read_modify_write_conflicts(db).await;
    concurrent_read_modify_write_commits_once(db).await;
    run_retries_to_an_exact_count(db).await;
    transfers_preserve_the_total(db).await;
    snapshot_reads_do_not_conflict(db).await;
    write_only_transactions_never_conflict(db).await;
    limited_range_conflicts_only_on_what_was_read(db).await;
    atomic_add_conflicts_with_readers(db).await;
    clear_range_conflicts_with_readers(db).await;
    oversized_values_are_rejected(db).await;
    committed_transactions_refuse_reuse(db).await;
}

/// A subspace no other case (or earlier run against the same store) uses.
pub fn fresh_subspace(case: &str) -> Subspace {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let nonce = format!("{nanos:x}-{}", SEQ.fetch_add(1, Ordering::Relaxed));
    Subspace::all().subspace(&("conformance", case, nonce))
}

async fn commit(tx: Transaction, what: &str) {
    tx.commit()
        .await
        .unwrap_or_else(|e| panic!("{what}: commit failed: {e}"));
}

async fn get(db: &Database, key: &[u8]) -> Option<Vec<u8>> {
    db.begin().get(key).await.expect("get")
}

async fn range(db: &Database, range: RangeOption) -> Vec<KeyValue> {
    db.begin().get_range(range).await.expect("get_range")
}

fn int_keys(space: &Subspace, pairs: &[KeyValue]) -> Vec<i64> {
    pairs
        .iter()
        .map(|(k, _)| space.unpack::<(i64,)>(k).expect("unpack int key").0)
        .collect()
}

async fn write_ints(db: &Database, space: &Subspace, ints: impl IntoIterator<Item = i64>) {
    let tx = db.begin();
    for i in ints {
        tx.set(&space.pack(&(i,)), format!("v{i}").as_bytes());
    }
    commit(tx, "write ints").await;
}

/// Tuple-encoded integers and strings sort like the values; `between` is `[begin, end)`.
pub async fn tuple_keys_order_and_range_bounds(db: &Database) {
    let space = fresh_subspace("order");
    let ints = [-70000i64, -256, -1, 0, 1, 2, 255, 256, 70000];
    // Written in scrambled order; reads must come back sorted.
    write_ints(db, &space, ints.iter().rev().copied()).await;
    let all = range(db, RangeOption::prefix(space.bytes())).await;
    assert_eq!(
        int_keys(&space, &all),
        ints.to_vec(),
        "ints sort numerically"
    );
    assert_eq!(all[0].1, b"v-70000".to_vec());

    let between = range(
        db,
        RangeOption::between(&space.pack(&(-1i64,)), &space.pack(&(256i64,))),
    )
    .await;
    assert_eq!(int_keys(&space, &between), vec![-1, 0, 1, 2, 255]);

    let names = fresh_subspace("order-str");
    let tx = db.begin();
    for s in ["b", "a", "ab", "", "a\u{0}b", "\u{e9}"] {
        tx.set(&names.pack(&(s,)), b"");
    }
    commit(tx, "write strings").await;
    let got: Vec<String> = range(db, RangeOption::prefix(names.bytes()))
        .await
        .iter()
        .map(|(k, _)| names.unpack::<(String,)>(k).expect("unpack string").0)
        .collect();
    assert_eq!(got, vec!["", "a", "a\u{0}b", "ab", "b", "\u{e9}"]);
}

/// Reverse reads return descending keys; limits keep the first keys in read order.
pub async fn reverse_and_limits(db: &Database) {
    let space = fresh_subspace("reverse");
    write_ints(db, &space, 0..10).await;
    let all = RangeOption::prefix(space.bytes());
    let reversed = range(db, all.clone().reverse()).await;
    assert_eq!(
        int_keys(&space, &reversed),
        (0..10).rev().collect::<Vec<_>>()
    );
    let first = range(db, all.clone().limit(3)).await;
    assert_eq!(int_keys(&space, &first), vec![0, 1, 2]);
    let last = range(db, all.clone().reverse().limit(3)).await;
    assert_eq!(int_keys(&space, &last), vec![9, 8, 7]);
    assert!(range(db, all.clone().limit(0)).await.is_empty());
    assert_eq!(range(db, all.limit(100)).await.len(), 10);
    let empty = RangeOption::between(&space.pack(&(5i64,)), &space.pack(&(5i64,)));
    assert!(range(db, empty).await.is_empty(), "begin == end is empty");
}

/// `RangeOption::prefix` covers exactly the keys under a tuple prefix.
pub async fn prefix_ranges(db: &Database) {
    let space = fresh_subspace("prefix");
    let tx = db.begin();
    for (name, n) in [("a", 1i64), ("a", 2), ("ab", 1), ("b", 1)] {
        tx.set(&space.pack(&(name, n)), b"x");
    }
    tx.set(&space.pack(&("a",)), b"bare");
    commit(tx, "write prefix keys").await;

    let under_a = range(db, RangeOption::prefix(&space.pack(&("a",)))).await;
    let keys: Vec<Vec<u8>> = under_a.into_iter().map(|(k, _)| k).collect();
    // The prefix itself is a key too, and "ab" is not under "a".
    assert_eq!(
        keys,
        vec![
            space.pack(&("a",)),
            space.pack(&("a", 1i64)),
            space.pack(&("a", 2i64))
        ]
    );
    assert_eq!(range(db, RangeOption::prefix(space.bytes())).await.len(), 5);
}

/// `clear` removes a key, `clear_range` removes `[begin, end)` and nothing else.
pub async fn clear_and_clear_range(db: &Database) {
    let space = fresh_subspace("clear");
    write_ints(db, &space, 0..10).await;
    let tx = db.begin();
    tx.clear_range(&space.pack(&(3i64,)), &space.pack(&(7i64,)));
    tx.clear(&space.pack(&(9i64,)));
    tx.clear(&space.pack(&(100i64,)));
    commit(tx, "clear").await;
    let left = range(db, RangeOption::prefix(space.bytes())).await;
    assert_eq!(int_keys(&space, &left), vec![0, 1, 2, 7, 8]);
    assert_eq!(get(db, &space.pack(&(3i64,))).await, None);
    assert_eq!(get(db, &space.pack(&(7i64,))).await, Some(b"v7".to_vec()));

    // Set after clear_range in one transaction survives; set before it does not.
    let tx = db.begin();
    tx.set(&space.pack(&(20i64,)), b"early");
    tx.clear_range(space.bytes(), &crate::prefix_end(space.bytes()));
    tx.set(&space.pack(&(21i64,)), b"late");
    commit(tx, "clear then set").await;
    let left = range(db, RangeOption::prefix(space.bytes())).await;
    assert_eq!(int_keys(&space, &left), vec![21]);
}

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

async fn read_counter(tx: &Transaction, key: &[u8]) -> i64 {
    tx.get(key)
        .await
        .expect("get")
        .map_or(0, |v| decode_counter(&v))
}

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
