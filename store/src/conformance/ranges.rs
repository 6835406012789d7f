//! Ordering, bounds, direction, limits and clears of range reads.

use super::{commit, fresh_subspace, get, int_keys, range, write_ints};
use crate::{Database, RangeOption};

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
