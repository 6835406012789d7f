//! A set of disjoint half-open key ranges, used for a write buffer's cleared ranges.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent `[begin, end)` ranges keyed by `begin`.
#[derive(Clone, Debug, Default)]
pub(crate) struct RangeSet {
    ranges: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl RangeSet {
    /// Adds `[begin, end)`, merging it with every range it overlaps or touches.
    pub(crate) fn insert(&mut self, begin: &[u8], end: &[u8]) {
        if begin >= end {
            return;
        }
        let mut new_begin = begin.to_vec();
        let mut new_end = end.to_vec();
        // A range starting at or before `begin` may reach into the new one.
        if let Some((b, e)) = self.ranges.range(..=begin.to_vec()).next_back()
            && e.as_slice() >= begin
        {
            new_begin = b.clone();
            if e.as_slice() > end {
                new_end = e.clone();
            }
        }
        let swallowed: Vec<Vec<u8>> = self
            .ranges
            .range(new_begin.clone()..=new_end.clone())
            .map(|(b, _)| b.clone())
            .collect();
        for b in swallowed {
            if let Some(e) = self.ranges.remove(&b)
                && e > new_end
            {
                new_end = e;
            }
        }
        self.ranges.insert(new_begin, new_end);
    }

    /// Whether `key` lies in one of the ranges.
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.ranges
            .range::<[u8], _>((std::ops::Bound::Unbounded, std::ops::Bound::Included(key)))
            .next_back()
            .is_some_and(|(_, end)| end.as_slice() > key)
    }

    /// Whether a range overlaps `[begin, end)`. Only the last range starting before `end`
    /// can: the ranges are disjoint, so their ends ascend with their beginnings.
    pub(crate) fn overlaps(&self, begin: &[u8], end: &[u8]) -> bool {
        begin < end
            && self
                .ranges
                .range::<[u8], _>((std::ops::Bound::Unbounded, std::ops::Bound::Excluded(end)))
                .next_back()
                .is_some_and(|(_, e)| e.as_slice() > begin)
    }

    /// The ranges in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.ranges.iter()
    }

    /// Whether the set holds no range.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(set: &RangeSet) -> Vec<(Vec<u8>, Vec<u8>)> {
        set.iter().map(|(b, e)| (b.clone(), e.clone())).collect()
    }

    #[test]
    fn merges_overlapping_and_touching_ranges() {
        let mut set = RangeSet::default();
        set.insert(b"c", b"e");
        set.insert(b"a", b"b");
        assert_eq!(ranges(&set).len(), 2);
        set.insert(b"b", b"c");
        assert_eq!(ranges(&set), vec![(b"a".to_vec(), b"e".to_vec())]);
        set.insert(b"d", b"z");
        assert_eq!(ranges(&set), vec![(b"a".to_vec(), b"z".to_vec())]);
        set.insert(b"0", b"zz");
        assert_eq!(ranges(&set), vec![(b"0".to_vec(), b"zz".to_vec())]);
    }

    #[test]
    fn contains_respects_half_open_bounds() {
        let mut set = RangeSet::default();
        set.insert(b"b", b"d");
        set.insert(b"x", b"y");
        assert!(!set.contains(b"a"));
        assert!(set.contains(b"b"));
        assert!(set.contains(b"c\xff"));
        assert!(!set.contains(b"d"));
        assert!(set.contains(b"x"));
        assert!(!set.contains(b"y"));
        set.insert(b"q", b"q");
        assert!(!set.contains(b"q"));
    }

    #[test]
    fn overlaps_only_what_intersects() {
        let mut set = RangeSet::default();
        set.insert(b"b", b"d");
        set.insert(b"x", b"y");
        assert!(!set.overlaps(b"a", b"b"));
        assert!(set.overlaps(b"a", b"b\0"));
        assert!(set.overlaps(b"c", b"c\0"));
        assert!(!set.overlaps(b"d", b"x"));
        assert!(set.overlaps(b"d", b"x\0"));
        assert!(set.overlaps(b"a", b"z"));
        assert!(!set.overlaps(b"y", b"z"));
        assert!(!set.overlaps(b"c", b"c"));
    }
}
