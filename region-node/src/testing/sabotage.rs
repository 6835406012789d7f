//! Deliberate defects for checking the consistency harness. Each mode
//! breaks one guarantee in a way the harness must catch; a node runs one
//! only with `--sabotage MODE` and `CHATMESH_SABOTAGE_ALLOWED=yes` in its
//! environment, and says so loudly in its log.

use std::fmt;
use std::str::FromStr;

/// The environment variable that must be `yes` for a sabotage mode to run.
pub const ALLOW_ENV: &str = "CHATMESH_SABOTAGE_ALLOWED";

/// Every tenth sequenced message (by `seq`) is affected.
const EVERY: u64 = 10;

/// A deliberate defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    /// The home answers `sent` for every tenth message but never stores it,
    /// and gives its `seq` to the next message.
    DropAcked,
    /// The home stores every tenth message twice, at two `seq`s.
    Duplicate,
    /// Replicas store every tenth message swapped with the one before it.
    Reorder,
    /// Commits are acknowledged without being made durable; a crash loses them.
    SkipFsync,
    /// Members removed from a group keep receiving its messages and reading
    /// its later history.
    IgnoreRemoval,
    /// The home gives every tenth message an HLC a second older than the
    /// message before it.
    HlcBackwards,
}

impl Sabotage {
    /// Every mode, for listings.
    pub const ALL: [Sabotage; 6] = [
        Self::DropAcked,
        Self::Duplicate,
        Self::Reorder,
        Self::SkipFsync,
        Self::IgnoreRemoval,
        Self::HlcBackwards,
    ];

    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::DropAcked => "drop-acked",
            Self::Duplicate => "duplicate",
            Self::Reorder => "reorder",
            Self::SkipFsync => "skip-fsync",
            Self::IgnoreRemoval => "ignore-removal",
            Self::HlcBackwards => "hlc-backwards",
        }
    }

    /// Whether message `seq` is one this mode breaks.
    pub fn hits(seq: u64) -> bool {
        seq.is_multiple_of(EVERY)
    }
}

impl fmt::Display for Sabotage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Sabotage {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown sabotage mode {text:?}; one of {}",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name_and_unknown_ones_are_refused() {
        for mode in Sabotage::ALL {
            assert_eq!(mode.name().parse::<Sabotage>(), Ok(mode));
        }
        let error = "lose-everything".parse::<Sabotage>().unwrap_err();
        assert!(error.contains("drop-acked"), "{error}");
    }

    #[test]
    fn one_message_in_ten_is_hit() {
        let hit: Vec<u64> = (1..=30).filter(|s| Sabotage::hits(*s)).collect();
        assert_eq!(hit, vec![10, 20, 30]);
    }
}
