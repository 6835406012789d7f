//! Delivered and read positions of one reader in one chat.
//!
//! A message that was read was necessarily delivered, so the pair keeps
//! `delivered >= read` as an invariant: marking read raises delivered too,
//! merging restores it, and so does decoding a stored pair that broke it.

use serde::{Deserialize, Serialize};

use super::max_register::MaxRegister;

/// Delivered and read positions that only grow, with read never ahead of
/// delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "RawMarks")]
pub struct Marks {
    delivered: MaxRegister,
    read: MaxRegister,
}

/// The serialized shape, normalized on the way in.
#[derive(Deserialize)]
struct RawMarks {
    delivered: MaxRegister,
    read: MaxRegister,
}

impl From<RawMarks> for Marks {
    fn from(raw: RawMarks) -> Self {
        let mut marks = Self {
            delivered: raw.delivered,
            read: raw.read,
        };
        marks.normalize();
        marks
    }
}

impl Marks {
    /// Marks with the given positions; delivered is raised to `read` if it
    /// is behind.
    pub fn new(delivered: u64, read: u64) -> Self {
        RawMarks {
            delivered: MaxRegister::new(delivered),
            read: MaxRegister::new(read),
        }
        .into()
    }

    /// Everything up to `seq` was delivered; returns whether anything moved.
    pub fn mark_delivered(&mut self, seq: u64) -> bool {
        self.delivered.raise(seq)
    }

    /// Everything up to `seq` was read (and so delivered); returns whether
    /// anything moved.
    pub fn mark_read(&mut self, seq: u64) -> bool {
        let read = self.read.raise(seq);
        let delivered = self.delivered.raise(seq);
        read || delivered
    }

    /// The highest delivered position.
    pub fn delivered(&self) -> u64 {
        self.delivered.get()
    }

    /// The highest read position.
    pub fn read(&self) -> u64 {
        self.read.get()
    }

    /// Merges both positions and keeps read implying delivered.
    pub fn merge(&mut self, other: &Self) {
        self.delivered.merge(&other.delivered);
        self.read.merge(&other.read);
        self.normalize();
    }

    fn normalize(&mut self) {
        let read = self.read;
        self.delivered.merge(&read);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reading_implies_delivery() {
        let mut marks = Marks::default();
        assert!(marks.mark_delivered(3));
        assert!(marks.mark_read(7));
        assert_eq!((marks.delivered(), marks.read()), (7, 7));
        assert!(!marks.mark_delivered(5));
        assert!(!marks.mark_read(2));
        assert_eq!(Marks::new(1, 4), Marks::new(4, 4));
    }

    #[test]
    fn decoding_restores_the_invariant() {
        let marks: Marks = serde_json::from_str(r#"{"delivered":2,"read":9}"#).expect("valid json");
        assert_eq!((marks.delivered(), marks.read()), (9, 9));
        let text = serde_json::to_string(&Marks::new(8, 3)).expect("serialize");
        assert_eq!(text, r#"{"delivered":8,"read":3}"#);
    }

    fn marks() -> impl Strategy<Value = Marks> {
        (0u64..50, 0u64..50).prop_map(|(delivered, read)| Marks::new(delivered, read))
    }

    fn merged(a: Marks, b: Marks) -> Marks {
        let mut out = a;
        out.merge(&b);
        out
    }

    proptest! {
        #[test]
        fn merge_is_a_join(a in marks(), b in marks(), c in marks()) {
            prop_assert_eq!(merged(a, b), merged(b, a));
            prop_assert_eq!(merged(merged(a, b), c), merged(a, merged(b, c)));
            prop_assert_eq!(merged(a, a), a);
            let m = merged(a, b);
            prop_assert!(m.delivered() >= m.read());
            prop_assert_eq!(m.read(), a.read().max(b.read()));
        }
    }
}
