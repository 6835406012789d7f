//! A register that only grows: merge takes the maximum.
//!
//! Delivered and read positions (a `seq` within a chat) only ever move
//! forwards, so the maximum of what any region has seen is the answer.

use serde::{Deserialize, Serialize};

/// A `u64` whose merge is `max`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MaxRegister(u64);

impl MaxRegister {
    /// A register holding `value`.
    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// The current value.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Raises the register to `value`; returns whether it moved.
    pub fn raise(&mut self, value: u64) -> bool {
        let moved = value > self.0;
        self.0 = self.0.max(value);
        moved
    }

    /// Takes the larger of both registers.
    pub fn merge(&mut self, other: &Self) {
        self.raise(other.0);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn raise_only_moves_forwards() {
        let mut register = MaxRegister::new(5);
        assert!(!register.raise(3));
        assert_eq!(register.get(), 5);
        assert!(register.raise(9));
        assert!(!register.raise(9));
        assert_eq!(register.get(), 9);
        assert_eq!(serde_json::to_string(&register).expect("serialize"), "9");
        assert_eq!(
            serde_json::from_str::<MaxRegister>("12").expect("deserialize"),
            MaxRegister::new(12)
        );
    }

    fn merged(a: MaxRegister, b: MaxRegister) -> MaxRegister {
        let mut out = a;
        out.merge(&b);
        out
    }

    proptest! {
        #[test]
        fn merge_is_a_join(a: u64, b: u64, c: u64) {
            let (a, b, c) = (MaxRegister::new(a), MaxRegister::new(b), MaxRegister::new(c));
            prop_assert_eq!(merged(a, b), merged(b, a));
            prop_assert_eq!(merged(merged(a, b), c), merged(a, merged(b, c)));
            prop_assert_eq!(merged(a, a), a);
            prop_assert!(merged(a, b) >= a && merged(a, b) >= b);
        }
    }
}
