//! Randomized check of read-your-writes against a model: a transaction applies random
//! sets, clears, clear-ranges and atomic adds on top of random committed data, and every
//! point and range read (both directions, with limits) must equal the same reads on a
//! `BTreeMap` that applied the same operations; after commit the store must equal the model.
//!
//! Failing cases are shrunk by proptest; `PROPTEST_CASES` raises the number of runs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use store::{Database, RangeOption, decode_counter};

#[derive(Clone, Debug)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Clear(Vec<u8>),
    ClearRange(Vec<u8>, Vec<u8>),
    Add(Vec<u8>, i64),
    Get(Vec<u8>),
    Range(Vec<u8>, Vec<u8>, Option<usize>, bool),
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![b'a', b'b', b'c', 0u8, 0xff]),
        0..3,
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), prop::collection::vec(any::<u8>(), 0..10)).prop_map(|(k, v)| Op::Set(k, v)),
        key().prop_map(Op::Clear),
        (key(), key()).prop_map(|(a, b)| Op::ClearRange(a, b)),
        (key(), -3i64..3).prop_map(|(k, d)| Op::Add(k, d)),
        key().prop_map(Op::Get),
        (key(), key(), prop::option::of(0usize..5), any::<bool>())
            .prop_map(|(a, b, l, r)| Op::Range(a, b, l, r)),
    ]
}

fn model_range(
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    begin: &[u8],
    end: &[u8],
    limit: Option<usize>,
    reverse: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if begin >= end {
        return Vec::new();
    }
    let pairs = model
        .range(begin.to_vec()..end.to_vec())
        .map(|(k, v)| (k.clone(), v.clone()));
    let limit = limit.unwrap_or(usize::MAX);
    if reverse {
        pairs.rev().take(limit).collect()
    } else {
        pairs.take(limit).collect()
    }
}

async fn check(initial: BTreeMap<Vec<u8>, Vec<u8>>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let db = Database::in_memory().expect("open in-memory store");
    let tx = db.begin();
    for (k, v) in &initial {
        tx.set(k, v);
    }
    tx.commit().await.expect("commit initial data");

    let mut model = initial;
    let tx = db.begin();
    for op in ops {
        match op {
            Op::Set(k, v) => {
                tx.set(&k, &v);
                model.insert(k, v);
            }
            Op::Clear(k) => {
                tx.clear(&k);
                model.remove(&k);
            }
            Op::ClearRange(a, b) => {
                tx.clear_range(&a, &b);
                if a < b {
                    model.retain(|k, _| !(a <= *k && *k < b));
                }
            }
            Op::Add(k, d) => {
                tx.atomic_add(&k, d);
                let base = model.get(&k).map_or(0, |v| decode_counter(v));
                model.insert(k, base.wrapping_add(d).to_le_bytes().to_vec());
            }
            Op::Get(k) => {
                prop_assert_eq!(tx.get(&k).await.expect("get"), model.get(&k).cloned());
            }
            Op::Range(a, b, limit, reverse) => {
                let mut range = RangeOption::between(&a, &b);
                range.limit = limit;
                range.reverse = reverse;
                let got = tx.get_range(range).await.expect("get_range");
                prop_assert_eq!(got, model_range(&model, &a, &b, limit, reverse));
            }
        }
    }
    tx.commit().await.expect("commit");
    let stored = db
        .begin()
        .get_range(RangeOption::between(b"", b"\xff\xff\xff"))
        .await
        .expect("read back");
    let expected: Vec<_> = model.into_iter().collect();
    prop_assert_eq!(stored, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn transaction_reads_match_the_model(
        initial in prop::collection::btree_map(key(), prop::collection::vec(any::<u8>(), 0..10), 0..8),
        ops in prop::collection::vec(op(), 0..24),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check(initial, ops))?;
    }
}
