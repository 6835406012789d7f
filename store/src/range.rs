//! Key ranges: [`RangeOption`] for range reads and the byte-string helpers
//! (prefix end, key successor) that turn prefixes and keys into half-open ranges.

/// A range read request: keys in `[begin, end)`, optionally limited, reversed or snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeOption {
    /// First key of the range (inclusive).
    pub begin: Vec<u8>,
    /// End of the range (exclusive).
    pub end: Vec<u8>,
    /// Return at most this many pairs (counted from `end` when `reverse`).
    pub limit: Option<usize>,
    /// Return pairs in descending key order.
    pub reverse: bool,
    /// Read without adding a read-conflict range.
    pub snapshot: bool,
}

impl RangeOption {
    /// All keys that start with the bytes `prefix` (including `prefix` itself). For tuple
    /// prefixes see also [`subspace`](Self::subspace).
    pub fn prefix(prefix: &[u8]) -> Self {
        Self::between(prefix, &prefix_end(prefix))
    }

    /// The keys that extend the tuple-encoded `prefix` by at least one more element:
    /// `[prefix ++ 0x00, prefix ++ 0xff)`, like FoundationDB's `Subspace::range`.
    ///
    /// Prefer it over [`prefix`](Self::prefix) for tuple prefixes ending in a string or
    /// bytes element: `pack(("chat", "a"))` is a byte prefix of `pack(("chat", "a\0", ..))`
    /// (the escaped NUL continues the string), and only this range tells them apart.
    pub fn subspace(prefix: &[u8]) -> Self {
        let mut begin = prefix.to_vec();
        begin.push(0x00);
        let mut end = prefix.to_vec();
        end.push(0xff);
        RangeOption {
            begin,
            end,
            ..Self::default()
        }
    }

    /// All keys in `[begin, end)`.
    pub fn between(begin: &[u8], end: &[u8]) -> Self {
        RangeOption {
            begin: begin.to_vec(),
            end: end.to_vec(),
            ..Self::default()
        }
    }

    /// Returns at most `n` pairs.
    #[must_use]
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Returns pairs in descending key order (the limit then keeps the last keys).
    #[must_use]
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Reads without adding a read-conflict range.
    #[must_use]
    pub fn snapshot(mut self) -> Self {
        self.snapshot = true;
        self
    }
}

/// The first key after every key that starts with `prefix` (FDB's `strinc`).
///
/// Trailing `0xff` bytes are dropped and the last remaining byte incremented. A prefix made
/// only of `0xff` bytes (or empty) has no finite successor; the prefix followed by `0xff` is
/// returned instead (for the empty prefix that is `b"\xff"`, the end of FDB's normal key
/// space, which sorts after every tuple-encoded key).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    let mut end = prefix.to_vec();
    end.push(0xff);
    end
}

/// The smallest key strictly greater than `key` (`key` followed by a zero byte).
pub(crate) fn key_after(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_non_ff_byte() {
        assert_eq!(prefix_end(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_end(b"a\xff\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff"), b"\xff\xff".to_vec());
        assert_eq!(prefix_end(b""), b"\xff".to_vec());
    }

    #[test]
    fn key_after_is_the_immediate_successor() {
        assert_eq!(key_after(b"a"), b"a\0".to_vec());
        assert!(key_after(b"a").as_slice() < b"a\x01".as_slice());
    }

    #[test]
    fn builders_set_fields() {
        let r = RangeOption::prefix(b"k").limit(3).reverse().snapshot();
        assert_eq!(r.begin, b"k".to_vec());
        assert_eq!(r.end, b"l".to_vec());
        assert_eq!(r.limit, Some(3));
        assert!(r.reverse && r.snapshot);
    }
}
