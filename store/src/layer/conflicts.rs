//! Conflict detection: which keys and ranges were written at which commit version over the
//! recent window, so a committing transaction can learn whether anything it read changed
//! after its read version.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::write_buffer::WriteBuffer;

/// Most key writes remembered; beyond it the oldest commits are forgotten early.
const MAX_TRACKED_WRITES: usize = 2_000_000;

/// When a commit version committed and which point keys it wrote.
#[derive(Debug)]
struct LoggedCommit {
    version: u64,
    at: Instant,
    keys: Vec<Arc<[u8]>>,
}

/// Recently committed write sets, indexed for range-intersection queries.
#[derive(Debug)]
pub(crate) struct ConflictHistory {
    /// Latest commit version that wrote each key (within the window). Keys are shared with
    /// `log`, so each written key is stored once.
    point_writes: BTreeMap<Arc<[u8]>, u64>,
    /// Cleared ranges with the version that cleared them.
    range_writes: VecDeque<(u64, Vec<u8>, Vec<u8>)>,
    /// Commits in version order, for pruning.
    log: VecDeque<LoggedCommit>,
    /// Every commit with a version above this one is still recorded.
    horizon: u64,
    window: Duration,
    tracked: usize,
}

impl ConflictHistory {
    pub(crate) fn new(window: Duration) -> Self {
        ConflictHistory {
            point_writes: BTreeMap::new(),
            range_writes: VecDeque::new(),
            log: VecDeque::new(),
            horizon: 0,
            window,
            tracked: 0,
        }
    }

    /// Whether a transaction reading at `read_version` can still be checked.
    pub(crate) fn can_check(&self, read_version: u64) -> bool {
        read_version >= self.horizon
    }

    /// Whether a commit after `read_version` wrote into any of `read_ranges`.
    pub(crate) fn conflicts(&self, read_version: u64, read_ranges: &[(Vec<u8>, Vec<u8>)]) -> bool {
        read_ranges.iter().any(|(begin, end)| {
            begin < end
                && (self
                    .point_writes
                    .range::<[u8], _>((
                        Bound::Included(begin.as_slice()),
                        Bound::Excluded(end.as_slice()),
                    ))
                    .any(|(_, v)| *v > read_version)
                    || self
                        .range_writes
                        .iter()
                        .any(|(v, b, e)| *v > read_version && b < end && begin < e))
        })
    }

    /// Records the writes of a transaction committing at `version` (versions never decrease).
    pub(crate) fn record(&mut self, version: u64, writes: &WriteBuffer, now: Instant) {
        for (begin, end) in writes.cleared().iter() {
            self.range_writes
                .push_back((version, begin.clone(), end.clone()));
        }
        let mut keys = Vec::with_capacity(writes.points().len());
        for key in writes.points().keys() {
            let key: Arc<[u8]> = Arc::from(key.as_slice());
            self.point_writes.insert(Arc::clone(&key), version);
            keys.push(key);
        }
        self.tracked += keys.len();
        match self.log.back_mut() {
            Some(last) if last.version == version => last.keys.extend(keys),
            _ => self.log.push_back(LoggedCommit {
                version,
                at: now,
                keys,
            }),
        }
    }

    /// Forgets commits older than the window (or beyond the memory bound), raising the horizon.
    pub(crate) fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.log.front() {
            let expired = now.duration_since(oldest.at) > self.window;
            if !expired && self.tracked <= MAX_TRACKED_WRITES {
                break;
            }
            let version = oldest.version;
            if let Some(LoggedCommit { keys, .. }) = self.log.pop_front() {
                self.tracked -= keys.len();
                for key in keys {
                    if self.point_writes.get(&key) == Some(&version) {
                        self.point_writes.remove(&key);
                    }
                }
            }
            while self
                .range_writes
                .front()
                .is_some_and(|(v, _, _)| *v <= version)
            {
                self.range_writes.pop_front();
            }
            self.horizon = version;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(b: &[u8], e: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (b.to_vec(), e.to_vec())
    }

    #[test]
    fn detects_point_and_range_writes_after_read_version() {
        let mut history = ConflictHistory::new(Duration::from_secs(5));
        let now = Instant::now();
        let mut w = WriteBuffer::default();
        w.set(b"k", b"v");
        history.record(3, &w, now);
        let mut c = WriteBuffer::default();
        c.clear_range(b"m", b"p");
        history.record(4, &c, now);

        assert!(history.conflicts(2, &[range(b"a", b"z")]));
        assert!(!history.conflicts(3, &[range(b"a", b"l")]));
        assert!(history.conflicts(3, &[range(b"o", b"q")]));
        assert!(!history.conflicts(4, &[range(b"a", b"z")]));
        assert!(!history.conflicts(2, &[range(b"k\0", b"m")]));
        assert!(history.conflicts(2, &[range(b"k", b"k\0")]));
    }

    #[test]
    fn pruning_raises_the_horizon() {
        let mut history = ConflictHistory::new(Duration::from_millis(10));
        let start = Instant::now();
        let mut w = WriteBuffer::default();
        w.set(b"k", b"v");
        history.record(1, &w, start);
        history.record(2, &w, start + Duration::from_millis(30));
        assert!(history.can_check(0));
        history.prune(start + Duration::from_millis(25));
        assert!(!history.can_check(0));
        assert!(history.can_check(1));
        // Version 2 still wrote "k", so the key stays tracked.
        assert!(history.conflicts(1, &[range(b"k", b"k\0")]));
    }
}
