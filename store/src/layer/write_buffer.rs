//! A transaction's buffered writes (sets, clears, cleared ranges, pending atomic adds) and
//! the read-your-writes merge of those writes with what the snapshot holds.
//!
//! The committer reuses the same structure to fold a batch of winning transactions into one
//! engine write, so "clear ranges first, then point writes" is the only ordering rule.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::iter::Peekable;
use std::ops::Bound;

use super::conflicts::ReadSet;
use super::range_set::RangeSet;
use crate::backend::KeyValue;
use crate::counter::add_to;
use crate::error::StoreError;

/// The latest buffered write to one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PointWrite {
    /// The key holds this value.
    Set(Vec<u8>),
    /// The key is absent.
    Clear,
    /// `delta` is added to whatever the snapshot holds (the key was not otherwise written).
    Add(i64),
}

impl PointWrite {
    /// The value a reader sees, given the value below this write.
    pub(crate) fn resolve(&self, below: Option<&[u8]>) -> Option<Vec<u8>> {
        match self {
            PointWrite::Set(value) => Some(value.clone()),
            PointWrite::Clear => None,
            PointWrite::Add(delta) => Some(add_to(below, *delta)),
        }
    }
}

/// What the write buffer knows about one key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The buffer fully determines the value.
    Known(Option<Vec<u8>>),
    /// The snapshot's value with `delta` added.
    Add(i64),
    /// The buffer does not touch the key.
    Untouched,
}

/// Buffered writes, normalised so that cleared ranges apply first and point writes after.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteBuffer {
    points: BTreeMap<Vec<u8>, PointWrite>,
    cleared: RangeSet,
    /// Approximate bytes of keys and values written, for the transaction size limit.
    bytes: usize,
}

impl WriteBuffer {
    pub(crate) fn set(&mut self, key: &[u8], value: &[u8]) {
        self.bytes += key.len() + value.len();
        self.points
            .insert(key.to_vec(), PointWrite::Set(value.to_vec()));
    }

    pub(crate) fn clear(&mut self, key: &[u8]) {
        self.bytes += key.len();
        self.points.insert(key.to_vec(), PointWrite::Clear);
    }

    pub(crate) fn clear_range(&mut self, begin: &[u8], end: &[u8]) {
        if begin >= end {
            return;
        }
        self.bytes += begin.len() + end.len();
        let inside: Vec<Vec<u8>> = self
            .points
            .range(begin.to_vec()..end.to_vec())
            .map(|(k, _)| k.clone())
            .collect();
        for key in inside {
            self.points.remove(&key);
        }
        self.cleared.insert(begin, end);
    }

    pub(crate) fn atomic_add(&mut self, key: &[u8], delta: i64) {
        self.bytes += key.len() + 8;
        let next = self.added(key, delta);
        self.points.insert(key.to_vec(), next);
    }

    /// The write that adding `delta` to `key` leaves behind.
    fn added(&self, key: &[u8], delta: i64) -> PointWrite {
        match self.points.get(key) {
            Some(PointWrite::Add(old)) => PointWrite::Add(old.wrapping_add(delta)),
            Some(write) => PointWrite::Set(add_to(write.resolve(None).as_deref(), delta)),
            None if self.cleared.contains(key) => PointWrite::Set(add_to(None, delta)),
            None => PointWrite::Add(delta),
        }
    }

    /// Replays `other` on top of this buffer, as if its operations came after ours.
    pub(crate) fn absorb(&mut self, other: WriteBuffer) {
        for (begin, end) in other.cleared.iter() {
            self.clear_range(begin, end);
        }
        self.bytes += other.bytes;
        for (key, write) in other.points {
            let next = match write {
                PointWrite::Add(delta) => self.added(&key, delta),
                known => known,
            };
            self.points.insert(key, next);
        }
    }

    pub(crate) fn lookup(&self, key: &[u8]) -> Lookup {
        match self.points.get(key) {
            Some(PointWrite::Add(delta)) => Lookup::Add(*delta),
            Some(write) => Lookup::Known(write.resolve(None)),
            None if self.cleared.contains(key) => Lookup::Known(None),
            None => Lookup::Untouched,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.points.is_empty() && self.cleared.is_empty()
    }

    /// Whether these writes touch anything in `reads`: a key read, or a key in a range read.
    pub(crate) fn touches(&self, reads: &ReadSet) -> bool {
        reads
            .keys
            .iter()
            .any(|key| self.points.contains_key(key.as_slice()) || self.cleared.contains(key))
            || reads.ranges.iter().any(|(begin, end)| {
                begin < end
                    && (self
                        .points
                        .range::<[u8], _>((
                            Bound::Included(begin.as_slice()),
                            Bound::Excluded(end.as_slice()),
                        ))
                        .next()
                        .is_some()
                        || self.cleared.overlaps(begin, end))
            })
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn points(&self) -> &BTreeMap<Vec<u8>, PointWrite> {
        &self.points
    }

    /// The point writes in key order, consuming the buffer.
    pub(crate) fn into_points(self) -> impl Iterator<Item = (Vec<u8>, PointWrite)> {
        self.points.into_iter()
    }

    pub(crate) fn cleared(&self) -> &RangeSet {
        &self.cleared
    }

    /// The buffered point writes in `[begin, end)`, in read order.
    pub(crate) fn points_in(
        &self,
        begin: &[u8],
        end: &[u8],
        reverse: bool,
    ) -> Vec<(Vec<u8>, PointWrite)> {
        if begin >= end {
            return Vec::new();
        }
        let range = self.points.range(begin.to_vec()..end.to_vec());
        let cloned = |(k, w): (&Vec<u8>, &PointWrite)| (k.clone(), w.clone());
        if reverse {
            range.rev().map(cloned).collect()
        } else {
            range.map(cloned).collect()
        }
    }
}

/// Merges a snapshot range scan with the buffered writes of the same range, both in read
/// order, stopping after `limit` results. Returns the pairs and whether the limit cut the
/// scan short (then the last pair's key bounds the range actually read).
pub(crate) fn merge_range<I>(
    snapshot: I,
    points: Vec<(Vec<u8>, PointWrite)>,
    cleared: &RangeSet,
    limit: Option<usize>,
    reverse: bool,
) -> Result<(Vec<KeyValue>, bool), StoreError>
where
    I: Iterator<Item = Result<KeyValue, StoreError>>,
{
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    if limit == 0 {
        return Ok((out, true));
    }
    let order = |a: &[u8], b: &[u8]| if reverse { b.cmp(a) } else { a.cmp(b) };
    let mut snapshot: Peekable<I> = snapshot.peekable();
    let mut points = points.into_iter().peekable();
    loop {
        let next_snapshot = match snapshot.peek() {
            Some(Err(_)) => {
                return Err(snapshot
                    .next()
                    .and_then(Result::err)
                    .unwrap_or_else(|| StoreError::Backend("range scan failed".into())));
            }
            Some(Ok((key, _))) => Some(key.as_slice()),
            None => None,
        };
        let step = match (next_snapshot, points.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(s), Some((p, _))) => order(s, p),
        };
        let merged = match step {
            Ordering::Less => match snapshot.next() {
                Some(Ok((key, value))) if !cleared.contains(&key) => Some((key, value)),
                _ => None,
            },
            Ordering::Equal => {
                let below = snapshot.next().and_then(Result::ok).map(|(_, v)| v);
                points
                    .next()
                    .and_then(|(key, write)| write.resolve(below.as_deref()).map(|v| (key, v)))
            }
            Ordering::Greater => points
                .next()
                .and_then(|(key, write)| write.resolve(None).map(|v| (key, v))),
        };
        if let Some(pair) = merged {
            out.push(pair);
            if out.len() >= limit {
                return Ok((out, true));
            }
        }
    }
    Ok((out, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> Result<KeyValue, StoreError> {
        Ok((k.as_bytes().to_vec(), v.as_bytes().to_vec()))
    }

    fn keys(pairs: &[KeyValue]) -> Vec<String> {
        pairs
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    #[test]
    fn atomic_add_folds_into_known_values() {
        let mut buf = WriteBuffer::default();
        buf.atomic_add(b"c", 2);
        buf.atomic_add(b"c", 3);
        assert_eq!(buf.lookup(b"c"), Lookup::Add(5));
        buf.set(b"c", &10i64.to_le_bytes());
        buf.atomic_add(b"c", 1);
        assert_eq!(
            buf.lookup(b"c"),
            Lookup::Known(Some(11i64.to_le_bytes().to_vec()))
        );
        buf.clear_range(b"a", b"z");
        assert_eq!(buf.lookup(b"c"), Lookup::Known(None));
        buf.atomic_add(b"c", 4);
        assert_eq!(
            buf.lookup(b"c"),
            Lookup::Known(Some(4i64.to_le_bytes().to_vec()))
        );
    }

    #[test]
    fn touches_what_was_read() {
        let mut buf = WriteBuffer::default();
        buf.set(b"k", b"v");
        buf.clear_range(b"m", b"p");
        let reads = |keys: &[&[u8]], ranges: &[(&[u8], &[u8])]| ReadSet {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            ranges: ranges
                .iter()
                .map(|(b, e)| (b.to_vec(), e.to_vec()))
                .collect(),
        };
        assert!(buf.touches(&reads(&[b"k"], &[])));
        assert!(buf.touches(&reads(&[b"n"], &[])));
        assert!(!buf.touches(&reads(&[b"l", b"p"], &[])));
        assert!(buf.touches(&reads(&[], &[(b"a", b"k\0")])));
        assert!(!buf.touches(&reads(&[], &[(b"k\0", b"m")])));
        assert!(buf.touches(&reads(&[], &[(b"o", b"z")])));
        assert!(!buf.touches(&reads(&[], &[(b"z", b"a")])));
        assert!(!buf.touches(&ReadSet::default()));
    }

    #[test]
    fn absorb_replays_in_order() {
        let mut first = WriteBuffer::default();
        first.set(b"a", b"1");
        first.atomic_add(b"n", 1);
        let mut second = WriteBuffer::default();
        second.clear_range(b"a", b"b");
        second.atomic_add(b"n", 2);
        first.absorb(second);
        assert_eq!(first.lookup(b"a"), Lookup::Known(None));
        assert_eq!(first.lookup(b"n"), Lookup::Add(3));
    }

    #[test]
    fn merge_overlays_writes_and_hides_cleared_keys() {
        let mut buf = WriteBuffer::default();
        buf.clear_range(b"b", b"d");
        buf.set(b"c", b"new");
        buf.clear(b"e");
        buf.atomic_add(b"f", 1);
        let snapshot = vec![kv("a", "1"), kv("b", "2"), kv("c", "3"), kv("e", "4")];
        let points = buf.points_in(b"a", b"z", false);
        let (out, cut) =
            merge_range(snapshot.into_iter(), points, buf.cleared(), None, false).unwrap();
        assert!(!cut);
        assert_eq!(keys(&out), vec!["a", "c", "f"]);
        assert_eq!(out[1].1, b"new".to_vec());
        assert_eq!(out[2].1, 1i64.to_le_bytes().to_vec());
    }

    #[test]
    fn merge_reverse_with_limit() {
        let mut buf = WriteBuffer::default();
        buf.set(b"b", b"x");
        let snapshot = vec![kv("c", "3"), kv("a", "1")];
        let points = buf.points_in(b"a", b"z", true);
        let (out, cut) =
            merge_range(snapshot.into_iter(), points, buf.cleared(), Some(2), true).unwrap();
        assert!(cut);
        assert_eq!(keys(&out), vec!["c", "b"]);
    }

    #[test]
    fn merge_adds_to_snapshot_value() {
        let mut buf = WriteBuffer::default();
        buf.atomic_add(b"n", 5);
        let base = 7i64.to_le_bytes().to_vec();
        let snapshot = vec![Ok((b"n".to_vec(), base))];
        let points = buf.points_in(b"a", b"z", false);
        let (out, _) =
            merge_range(snapshot.into_iter(), points, buf.cleared(), None, false).unwrap();
        assert_eq!(out, vec![(b"n".to_vec(), 12i64.to_le_bytes().to_vec())]);
    }

    #[test]
    fn merge_surfaces_snapshot_errors() {
        let snapshot = vec![kv("a", "1"), Err(StoreError::Backend("boom".into()))];
        let err = merge_range(
            snapshot.into_iter(),
            Vec::new(),
            &RangeSet::default(),
            None,
            false,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Backend(m) if m == "boom"));
    }
}
