//! Conflict detection: what each recent commit batch wrote, so a committing transaction can
//! learn whether anything it read changed after its read version.
//!
//! A batch's write set is kept the way the engine applied it: its point keys sorted and
//! unique, its cleared ranges sorted and disjoint. The keys are the engine batch's own
//! vectors, moved here after the write, so no key byte is copied and no per-key index is
//! maintained. A transaction is checked only against the batches committed after its read
//! version (usually a handful: those written while it ran), by binary search in each; the
//! winners earlier in its own batch are checked by the committer through the batch's merged
//! write buffer. History is forgotten a whole batch at a time once it is older than the
//! window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most written keys and ranges remembered; beyond it the oldest batches are forgotten early.
const MAX_TRACKED_WRITES: usize = 2_000_000;

/// What a transaction read with conflict tracking on.
#[derive(Debug, Default)]
pub(crate) struct ReadSet {
    /// Keys read by point reads.
    pub keys: Vec<Vec<u8>>,
    /// `[begin, end)` ranges read by range reads.
    pub ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl ReadSet {
    /// Whether nothing was read (such a transaction cannot conflict).
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.ranges.is_empty()
    }
}

/// The writes of one commit batch, as the engine applied them.
#[derive(Debug)]
struct BatchWrites {
    version: u64,
    at: Instant,
    /// Point keys written, sorted, each once.
    keys: Vec<Vec<u8>>,
    /// Cleared `[begin, end)` ranges, sorted and disjoint.
    cleared: Vec<(Vec<u8>, Vec<u8>)>,
}

impl BatchWrites {
    fn wrote_key(&self, key: &[u8]) -> bool {
        self.keys
            .binary_search_by(|k| k.as_slice().cmp(key))
            .is_ok()
            || cleared_overlaps(&self.cleared, key, None)
    }

    fn wrote_in(&self, begin: &[u8], end: &[u8]) -> bool {
        if begin >= end {
            return false;
        }
        let first = self.keys.partition_point(|k| k.as_slice() < begin);
        self.keys.get(first).is_some_and(|k| k.as_slice() < end)
            || cleared_overlaps(&self.cleared, begin, Some(end))
    }

    fn size(&self) -> usize {
        self.keys.len() + self.cleared.len()
    }
}

/// Whether sorted, disjoint `ranges` overlap `[begin, end)`, or hold `begin` when `end` is
/// `None`. Only the last range starting before the end can reach back over `begin`: the
/// ranges are disjoint, so their ends ascend with their beginnings.
fn cleared_overlaps(ranges: &[(Vec<u8>, Vec<u8>)], begin: &[u8], end: Option<&[u8]>) -> bool {
    let before_end = match end {
        Some(end) => ranges.partition_point(|(b, _)| b.as_slice() < end),
        None => ranges.partition_point(|(b, _)| b.as_slice() <= begin),
    };
    before_end
        .checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|(_, e)| e.as_slice() > begin)
}

/// The write sets of recent commit batches, oldest first.
#[derive(Debug)]
pub(crate) struct ConflictHistory {
    batches: VecDeque<BatchWrites>,
    /// Every commit with a version above this one is still recorded.
    horizon: u64,
    window: Duration,
    tracked: usize,
}

impl ConflictHistory {
    pub(crate) fn new(window: Duration) -> Self {
        ConflictHistory {
            batches: VecDeque::new(),
            horizon: 0,
            window,
            tracked: 0,
        }
    }

    /// Forgets every recorded batch: only transactions reading at `version` or later can
    /// be checked from now on (the engine was reopened at `version`).
    pub(crate) fn restart_at(&mut self, version: u64) {
        self.batches.clear();
        self.tracked = 0;
        self.horizon = version;
    }

    /// Whether a transaction reading at `read_version` can still be checked.
    pub(crate) fn can_check(&self, read_version: u64) -> bool {
        read_version >= self.horizon
    }

    /// Whether a batch committed after `read_version` wrote anything in `reads`.
    pub(crate) fn conflicts(&self, read_version: u64, reads: &ReadSet) -> bool {
        self.batches
            .iter()
            .rev()
            .take_while(|batch| batch.version > read_version)
            .any(|batch| {
                reads.keys.iter().any(|key| batch.wrote_key(key))
                    || reads
                        .ranges
                        .iter()
                        .any(|(begin, end)| batch.wrote_in(begin, end))
            })
    }

    /// Records the batch committed at `version` (versions ascend): its point `keys`, sorted
    /// and unique, and its `cleared` ranges, sorted and disjoint.
    pub(crate) fn record(
        &mut self,
        version: u64,
        keys: Vec<Vec<u8>>,
        cleared: Vec<(Vec<u8>, Vec<u8>)>,
        now: Instant,
    ) {
        debug_assert!(keys.is_sorted(), "a batch's keys are sorted");
        debug_assert!(
            self.batches
                .back()
                .is_none_or(|last| last.version < version),
            "versions ascend"
        );
        let batch = BatchWrites {
            version,
            at: now,
            keys,
            cleared,
        };
        self.tracked += batch.size();
        self.batches.push_back(batch);
    }

    /// Forgets batches older than the window (or beyond the memory bound), raising the
    /// horizon.
    pub(crate) fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.batches.front() {
            let expired = now.duration_since(oldest.at) > self.window;
            if !expired && self.tracked <= MAX_TRACKED_WRITES {
                break;
            }
            if let Some(oldest) = self.batches.pop_front() {
                self.tracked -= oldest.size();
                self.horizon = oldest.version;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(keys: &[&[u8]], ranges: &[(&[u8], &[u8])]) -> ReadSet {
        ReadSet {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            ranges: ranges
                .iter()
                .map(|(b, e)| (b.to_vec(), e.to_vec()))
                .collect(),
        }
    }

    fn range(b: &[u8], e: &[u8]) -> ReadSet {
        reads(&[], &[(b, e)])
    }

    fn keys(keys: &[&[u8]]) -> Vec<Vec<u8>> {
        keys.iter().map(|k| k.to_vec()).collect()
    }

    #[test]
    fn detects_point_and_range_writes_after_read_version() {
        let mut history = ConflictHistory::new(Duration::from_secs(5));
        let now = Instant::now();
        history.record(3, keys(&[b"k"]), Vec::new(), now);
        history.record(4, Vec::new(), vec![(b"m".to_vec(), b"p".to_vec())], now);

        assert!(history.conflicts(2, &range(b"a", b"z")));
        assert!(!history.conflicts(3, &range(b"a", b"l")));
        assert!(history.conflicts(3, &range(b"o", b"q")));
        assert!(!history.conflicts(4, &range(b"a", b"z")));
        assert!(!history.conflicts(2, &range(b"k\0", b"m")));
        assert!(history.conflicts(2, &range(b"k", b"k\0")));
        assert!(!history.conflicts(2, &range(b"z", b"a")));

        assert!(history.conflicts(2, &reads(&[b"k"], &[])));
        assert!(!history.conflicts(3, &reads(&[b"k"], &[])));
        assert!(history.conflicts(3, &reads(&[b"m"], &[])));
        assert!(history.conflicts(3, &reads(&[b"o\xff"], &[])));
        assert!(!history.conflicts(3, &reads(&[b"p", b"l", b"k"], &[])));
        assert!(!history.conflicts(2, &ReadSet::default()));
    }

    #[test]
    fn ranges_are_found_among_many_keys_and_cleared_ranges() {
        let mut history = ConflictHistory::new(Duration::from_secs(5));
        let written = keys(&[b"b", b"d", b"f", b"h"]);
        let cleared = vec![
            (b"j".to_vec(), b"l".to_vec()),
            (b"n".to_vec(), b"p".to_vec()),
        ];
        history.record(1, written, cleared, Instant::now());
        for (begin, end, hit) in [
            (&b"a"[..], &b"b"[..], false),
            (b"a", b"b\0", true),
            (b"c", b"d", false),
            (b"d\0", b"f", false),
            (b"e", b"g", true),
            (b"h\0", b"j", false),
            (b"i", b"j\0", true),
            (b"l", b"n", false),
            (b"k", b"k\0", true),
            (b"l", b"z", true),
            (b"p", b"z", false),
            (b"a", b"z", true),
        ] {
            assert_eq!(
                history.conflicts(0, &range(begin, end)),
                hit,
                "{begin:?}..{end:?}"
            );
        }
        for (key, hit) in [
            (&b"a"[..], false),
            (b"b", true),
            (b"c", false),
            (b"j", true),
            (b"k\xff", true),
            (b"l", false),
            (b"o", true),
            (b"p", false),
        ] {
            assert_eq!(history.conflicts(0, &reads(&[key], &[])), hit, "{key:?}");
        }
    }

    #[test]
    fn only_batches_after_the_read_version_count() {
        let mut history = ConflictHistory::new(Duration::from_secs(5));
        let now = Instant::now();
        for version in 1..=10u64 {
            history.record(
                version,
                vec![version.to_be_bytes().to_vec()],
                Vec::new(),
                now,
            );
        }
        let key = |v: u64| v.to_be_bytes().to_vec();
        let read = |v: u64| ReadSet {
            keys: vec![key(v)],
            ranges: Vec::new(),
        };
        assert!(history.conflicts(4, &read(5)));
        assert!(!history.conflicts(5, &read(5)));
        assert!(history.conflicts(0, &read(1)));
        assert!(!history.conflicts(10, &read(10)));
    }

    proptest::proptest! {
        /// Binary searches in sorted batches answer what a scan of every write would.
        #[test]
        fn agrees_with_a_scan_of_every_write(
            batches in proptest::collection::vec(
                (
                    proptest::collection::btree_set(short_key(), 0..6),
                    proptest::collection::vec((short_key(), short_key()), 0..3),
                ),
                1..6,
            ),
            read_version in 0u64..6,
            read_keys in proptest::collection::vec(short_key(), 0..4),
            read_ranges in proptest::collection::vec((short_key(), short_key()), 0..4),
        ) {
            let mut history = ConflictHistory::new(Duration::from_secs(5));
            let mut every_write = Vec::new();
            for (i, (keys, ranges)) in batches.into_iter().enumerate() {
                let version = i as u64 + 1;
                let mut cleared = super::super::range_set::RangeSet::default();
                for (b, e) in &ranges {
                    cleared.insert(b, e);
                }
                let cleared: Vec<_> = cleared.iter().map(|(b, e)| (b.clone(), e.clone())).collect();
                for key in &keys {
                    every_write.push((version, key.clone(), key_after(key)));
                }
                for (b, e) in &cleared {
                    every_write.push((version, b.clone(), e.clone()));
                }
                history.record(version, keys.into_iter().collect(), cleared, Instant::now());
            }
            let reads = ReadSet { keys: read_keys, ranges: read_ranges };
            let read: Vec<(Vec<u8>, Vec<u8>)> = reads
                .keys
                .iter()
                .map(|k| (k.clone(), key_after(k)))
                .chain(reads.ranges.iter().cloned())
                .collect();
            let expected = every_write.iter().any(|(v, wb, we)| {
                *v > read_version && read.iter().any(|(rb, re)| rb < re && wb < re && rb < we)
            });
            proptest::prop_assert_eq!(history.conflicts(read_version, &reads), expected);
        }
    }

    fn short_key() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(vec![0u8, b'a', b'b', 0xff]), 0..3)
    }

    fn key_after(key: &[u8]) -> Vec<u8> {
        let mut next = key.to_vec();
        next.push(0);
        next
    }

    #[test]
    fn pruning_raises_the_horizon() {
        let mut history = ConflictHistory::new(Duration::from_millis(10));
        let start = Instant::now();
        history.record(1, keys(&[b"k"]), Vec::new(), start);
        history.record(
            2,
            keys(&[b"k"]),
            Vec::new(),
            start + Duration::from_millis(30),
        );
        assert!(history.can_check(0));
        history.prune(start + Duration::from_millis(25));
        assert!(!history.can_check(0));
        assert!(history.can_check(1));
        // Version 2 still wrote "k", so the key stays tracked.
        assert!(history.conflicts(1, &range(b"k", b"k\0")));
        history.prune(start + Duration::from_millis(45));
        assert!(!history.can_check(1));
        assert!(history.can_check(2));
        assert!(!history.conflicts(2, &range(b"a", b"z")));
    }
}
