//! Deliberate defects for checking the consistency harness. Each mode
//! breaks one guarantee in a way the harness must catch; a node runs one
//! only with `--sabotage MODE` and `CHATMESH_SABOTAGE_ALLOWED=yes` in its
//! environment, and says so loudly in its log.
//!
//! The code consults a mode only at the named points below ([`Sabotage::stamp`],
//! [`Sabotage::drops_acked`], …), so the defects are easy to find and the
//! paths they touch stay plain.

use std::fmt;
use std::str::FromStr;

use protocol::Hlc;

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
    /// Replicas store deletes for everyone without folding them: the
    /// deleted text stays readable there.
    KeepDeleted,
}

impl Sabotage {
    /// Every mode, for listings.
    pub const ALL: [Sabotage; 7] = [
        Self::DropAcked,
        Self::Duplicate,
        Self::Reorder,
        Self::SkipFsync,
        Self::IgnoreRemoval,
        Self::HlcBackwards,
        Self::KeepDeleted,
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
            Self::KeepDeleted => "keep-deleted",
        }
    }

    /// Whether message `seq` is one this mode breaks.
    pub fn hits(seq: u64) -> bool {
        seq.is_multiple_of(EVERY)
    }

    fn applies(mode: Option<Self>, this: Self, seq: u64) -> bool {
        mode == Some(this) && Self::hits(seq)
    }

    /// The clock a new entry at `seq` gets (`hlc-backwards`: a second older).
    pub fn stamp(mode: Option<Self>, seq: u64, hlc: Hlc) -> Hlc {
        if Self::applies(mode, Self::HlcBackwards, seq) {
            Hlc::new(hlc.millis().saturating_sub(1000), 0)
        } else {
            hlc
        }
    }

    /// Whether the send at `seq` is acknowledged but not stored (`drop-acked`).
    pub fn drops_acked(mode: Option<Self>, seq: u64) -> bool {
        Self::applies(mode, Self::DropAcked, seq)
    }

    /// Whether the message at `seq` is stored twice (`duplicate`).
    pub fn duplicates(mode: Option<Self>, seq: u64) -> bool {
        Self::applies(mode, Self::Duplicate, seq)
    }

    /// Whether a replica stores the entry at `seq` swapped with the one
    /// before it (`reorder`).
    pub fn reorders(mode: Option<Self>, seq: u64) -> bool {
        seq > 1 && Self::applies(mode, Self::Reorder, seq)
    }

    /// Whether removed members keep receiving and reading (`ignore-removal`).
    pub fn ignores_removal(mode: Option<Self>) -> bool {
        mode == Some(Self::IgnoreRemoval)
    }

    /// Whether a replica stores the replicated `entry` without folding it:
    /// a delete under `keep-deleted` (every delete, not one in ten: a kept
    /// text is a defect wherever it is).
    pub fn keeps_deleted(mode: Option<Self>, entry: &protocol::chats::Message) -> bool {
        mode == Some(Self::KeepDeleted) && entry.kind == protocol::chats::MessageKind::Delete
    }

    /// Whether commits are acknowledged without being made durable
    /// (`skip-fsync`; the store carries it out).
    pub fn skips_fsync(mode: Option<Self>) -> bool {
        mode == Some(Self::SkipFsync)
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
