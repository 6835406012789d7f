//! The conformance suite every backend must pass (feature `conformance`).
//!
//! - `ranges`: ordering, bounds, direction, limits, clears.
//! - `own_writes`: read-your-writes and atomic adds.
//! - `isolation`: conflicts, retries, snapshot reads, serializable transfers.
//! - `lifecycle`: size limits, reuse after commit, durability across close and reopen.
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

mod isolation;
mod lifecycle;
mod own_writes;
mod ranges;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::tuple::Subspace;
use crate::{Database, KeyValue, RangeOption, Transaction, decode_counter};

pub use isolation::{
    atomic_add_conflicts_with_readers, clear_range_conflicts_with_readers,
    concurrent_read_modify_write_commits_once, limited_range_conflicts_only_on_what_was_read,
    read_modify_write_conflicts, run_retries_to_an_exact_count, snapshot_reads_do_not_conflict,
    transfers_preserve_the_total, write_only_transactions_never_conflict,
};
pub use lifecycle::{
    committed_transactions_refuse_reuse, durable_after_reopen, oversized_keys_are_refused_on_reads,
    oversized_values_are_rejected,
};
pub use own_writes::{
    atomic_add_concurrent_total, atomic_add_semantics, read_your_writes, read_your_writes_in_ranges,
};
pub use ranges::{
    clear_and_clear_range, prefix_ranges, reverse_and_limits, tuple_keys_order_and_range_bounds,
};

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
    oversized_keys_are_refused_on_reads(db).await;
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

async fn read_counter(tx: &Transaction, key: &[u8]) -> i64 {
    tx.get(key)
        .await
        .expect("get")
        .map_or(0, |v| decode_counter(&v))
}
