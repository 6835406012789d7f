//! The chat directory: which region is each chat's home, and the epoch that
//! fences moves.
//!
//! Every region holds a copy and the copies must converge whatever order
//! updates arrive in, so [`Directory`] is a state-based CRDT: per chat a
//! max-register over `(epoch, home)`. A move raises the epoch, so it wins
//! over everything the mover had seen; two moves made concurrently with the
//! same epoch are settled by the home region's name (the greater name wins),
//! the same way in every region. Merging is commutative, associative and
//! idempotent (property-tested below).
//!
//! For shipping only what changed, each copy numbers its own changes:
//! [`Directory::delta_since`] returns the entries changed after a number a
//! peer got from an earlier delta. The numbers are local bookkeeping and are
//! not part of the replicated state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::topology::Topology;

/// The longest chat id accepted.
pub const MAX_CHAT_ID_LEN: usize = 128;

/// Where a chat lives. Ordered by epoch, then home name: the greater value
/// wins a merge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Placement {
    /// Raised by every move; 1 for a chat's first placement.
    pub epoch: u64,
    /// The region that orders the chat's messages.
    pub home: String,
}

/// Why a directory operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The named home region is not in the topology.
    #[error("unknown region `{0}`")]
    UnknownRegion(String),
    /// The chat id is empty, too long, or uses characters outside
    /// `A-Z a-z 0-9 _ - . :`.
    #[error("invalid chat id `{0}`")]
    BadChatId(String),
}

/// What [`Directory::create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The chat was new and now has this placement.
    New(Placement),
    /// The chat was already placed; its placement is unchanged.
    Existing(Placement),
}

impl Created {
    /// The chat's placement either way.
    pub fn placement(&self) -> &Placement {
        match self {
            Self::New(placement) | Self::Existing(placement) => placement,
        }
    }
}

/// Entries changed after some local change number, for a peer to merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryDelta {
    /// The sender's change number when the delta was taken; ask for changes
    /// since this next time.
    pub version: u64,
    /// The changed entries, by chat id.
    pub chats: BTreeMap<String, Placement>,
}

/// One chat's placement and the local change number that last set it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    #[serde(flatten)]
    placement: Placement,
    changed: u64,
}

/// The serialized shape; change numbers are kept so a peer's remembered
/// version stays meaningful across a restart.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u64,
    chats: BTreeMap<String, Slot>,
}

/// chat id → [`Placement`], mergeable with any other copy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Stored", into = "Stored")]
pub struct Directory {
    version: u64,
    chats: BTreeMap<String, Slot>,
}

impl From<Stored> for Directory {
    fn from(stored: Stored) -> Self {
        // A hand-edited file could hold change numbers past the version;
        // raising the version keeps later changes numbered after them.
        let newest = stored.chats.values().map(|slot| slot.changed).max();
        Self {
            version: stored.version.max(newest.unwrap_or(0)),
            chats: stored.chats,
        }
    }
}

impl From<Directory> for Stored {
    fn from(directory: Directory) -> Self {
        Self {
            version: directory.version,
            chats: directory.chats,
        }
    }
}

/// Equal when they hold the same placements; change numbers are local.
impl PartialEq for Directory {
    fn eq(&self, other: &Self) -> bool {
        self.chats.len() == other.chats.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Directory {}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The placement of `chat_id`, if it is placed.
    pub fn get(&self, chat_id: &str) -> Option<&Placement> {
        self.chats.get(chat_id).map(|slot| &slot.placement)
    }

    /// Every placed chat, in chat id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Placement)> {
        self.chats
            .iter()
            .map(|(chat, slot)| (chat.as_str(), &slot.placement))
    }

    /// How many chats are placed.
    pub fn len(&self) -> usize {
        self.chats.len()
    }

    /// Whether no chat is placed.
    pub fn is_empty(&self) -> bool {
        self.chats.is_empty()
    }

    /// The local change number of the newest change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Places a new chat: at `requested` when the creator or an operator
    /// names a region, else at the creator's region. A chat that is already
    /// placed keeps its placement, so a retried create is harmless.
    pub fn create(
        &mut self,
        topology: &Topology,
        chat_id: &str,
        creator_region: &str,
        requested: Option<&str>,
    ) -> Result<Created, DirectoryError> {
        check_chat_id(chat_id)?;
        let home = requested.unwrap_or(creator_region);
        check_region(topology, home)?;
        if let Some(existing) = self.get(chat_id) {
            return Ok(Created::Existing(existing.clone()));
        }
        let placement = Placement {
            epoch: 1,
            home: home.to_owned(),
        };
        self.set(chat_id, placement.clone());
        Ok(Created::New(placement))
    }

    /// An operator places or moves a chat to `home`: a new chat gets epoch 1,
    /// a move to another region raises the epoch by one. Moving a chat to the
    /// home it already has changes nothing, so retries do not bump epochs.
    pub fn assign(
        &mut self,
        topology: &Topology,
        chat_id: &str,
        home: &str,
    ) -> Result<Placement, DirectoryError> {
        check_chat_id(chat_id)?;
        check_region(topology, home)?;
        let epoch = match self.get(chat_id) {
            Some(current) if current.home == home => return Ok(current.clone()),
            Some(current) => current.epoch.saturating_add(1),
            None => 1,
        };
        let placement = Placement {
            epoch,
            home: home.to_owned(),
        };
        self.set(chat_id, placement.clone());
        Ok(placement)
    }

    /// Merges one entry from another copy; returns whether it changed ours.
    /// Entries naming regions this topology lacks are kept: another region
    /// may know a newer topology, and dropping them would break convergence.
    pub fn apply(&mut self, chat_id: &str, placement: &Placement) -> bool {
        match self.get(chat_id) {
            Some(current) if current >= placement => false,
            _ => {
                self.set(chat_id, placement.clone());
                true
            }
        }
    }

    /// Merges a whole other copy into this one.
    pub fn merge(&mut self, other: &Directory) {
        for (chat_id, placement) in other.iter() {
            self.apply(chat_id, placement);
        }
    }

    /// Merges a delta from [`Directory::delta_since`]; returns how many
    /// entries changed ours.
    pub fn merge_delta(&mut self, delta: &DirectoryDelta) -> usize {
        delta
            .chats
            .iter()
            .filter(|(chat_id, placement)| self.apply(chat_id, placement))
            .count()
    }

    /// The entries this copy changed after change number `since` (0 for
    /// everything), with the number to ask from next time.
    pub fn delta_since(&self, since: u64) -> DirectoryDelta {
        DirectoryDelta {
            version: self.version,
            chats: self
                .chats
                .iter()
                .filter(|(_, slot)| slot.changed > since)
                .map(|(chat, slot)| (chat.clone(), slot.placement.clone()))
                .collect(),
        }
    }

    fn set(&mut self, chat_id: &str, placement: Placement) {
        self.version += 1;
        self.chats.insert(
            chat_id.to_owned(),
            Slot {
                placement,
                changed: self.version,
            },
        );
    }
}

/// Checks that `chat_id` is a usable directory key.
pub fn check_chat_id(chat_id: &str) -> Result<(), DirectoryError> {
    let ok = !chat_id.is_empty()
        && chat_id.len() <= MAX_CHAT_ID_LEN
        && chat_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(DirectoryError::BadChatId(chat_id.to_owned()))
    }
}

fn check_region(topology: &Topology, name: &str) -> Result<(), DirectoryError> {
    match topology.region(name) {
        Some(_) => Ok(()),
        None => Err(DirectoryError::UnknownRegion(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn topology() -> Topology {
        Topology::from_yaml(include_str!("../../regions.yaml")).unwrap()
    }

    fn placement(epoch: u64, home: &str) -> Placement {
        Placement {
            epoch,
            home: home.to_owned(),
        }
    }

    #[test]
    fn a_new_chat_lives_in_its_creators_region() {
        let mut directory = Directory::new();
        let created = directory
            .create(&topology(), "c_1", "us-east", None)
            .unwrap();
        assert_eq!(created, Created::New(placement(1, "us-east")));
        assert_eq!(directory.get("c_1"), Some(&placement(1, "us-east")));
    }

    #[test]
    fn a_named_region_overrides_the_creators() {
        let mut directory = Directory::new();
        let created = directory
            .create(&topology(), "c_1", "us-east", Some("ap-south"))
            .unwrap();
        assert_eq!(created.placement(), &placement(1, "ap-south"));
    }

    #[test]
    fn creating_again_keeps_the_first_placement() {
        let mut directory = Directory::new();
        directory
            .create(&topology(), "c_1", "us-east", None)
            .unwrap();
        let again = directory
            .create(&topology(), "c_1", "eu-west", None)
            .unwrap();
        assert_eq!(again, Created::Existing(placement(1, "us-east")));
    }

    #[test]
    fn unknown_regions_and_bad_ids_are_refused_and_change_nothing() {
        let mut directory = Directory::new();
        assert_eq!(
            directory.create(&topology(), "c_1", "mars", None),
            Err(DirectoryError::UnknownRegion("mars".to_owned()))
        );
        assert_eq!(
            directory.assign(&topology(), "c_1", "mars"),
            Err(DirectoryError::UnknownRegion("mars".to_owned()))
        );
        let long = "c".repeat(MAX_CHAT_ID_LEN + 1);
        for bad in ["", "a b", "a/b", "ü", long.as_str()] {
            assert!(
                matches!(
                    directory.assign(&topology(), bad, "eu-west"),
                    Err(DirectoryError::BadChatId(_))
                ),
                "{bad:?}"
            );
        }
        assert!(directory.is_empty());
        assert_eq!(directory.version(), 0);
        assert!(check_chat_id(&"c".repeat(MAX_CHAT_ID_LEN)).is_ok());
    }

    #[test]
    fn moves_raise_the_epoch_and_same_home_is_a_no_op() {
        let topology = topology();
        let mut directory = Directory::new();
        assert_eq!(
            directory.assign(&topology, "c_1", "eu-west"),
            Ok(placement(1, "eu-west"))
        );
        assert_eq!(
            directory.assign(&topology, "c_1", "us-east"),
            Ok(placement(2, "us-east"))
        );
        assert_eq!(
            directory.assign(&topology, "c_1", "us-east"),
            Ok(placement(2, "us-east"))
        );
        assert_eq!(
            directory.assign(&topology, "c_1", "eu-west"),
            Ok(placement(3, "eu-west"))
        );
        assert_eq!(directory.version(), 3);
    }

    #[test]
    fn higher_epoch_wins_and_equal_epochs_break_ties_by_name() {
        let mut directory = Directory::new();
        assert!(directory.apply("c_1", &placement(2, "eu-west")));
        assert!(!directory.apply("c_1", &placement(1, "us-east")));
        assert!(directory.apply("c_1", &placement(2, "us-east")));
        assert!(!directory.apply("c_1", &placement(2, "ap-south")));
        assert!(!directory.apply("c_1", &placement(2, "us-east")));
        assert_eq!(directory.get("c_1"), Some(&placement(2, "us-east")));
    }

    #[test]
    fn deltas_carry_only_what_changed_since() {
        let topology = topology();
        let mut a = Directory::new();
        a.assign(&topology, "c_1", "eu-west").unwrap();
        a.assign(&topology, "c_2", "us-east").unwrap();
        let first = a.delta_since(0);
        assert_eq!(first.chats.len(), 2);
        a.assign(&topology, "c_1", "ap-south").unwrap();
        let second = a.delta_since(first.version);
        assert_eq!(
            second.chats,
            BTreeMap::from([("c_1".to_owned(), placement(2, "ap-south"))])
        );
        assert!(a.delta_since(second.version).chats.is_empty());

        let mut b = Directory::new();
        assert_eq!(b.merge_delta(&first), 2);
        assert_eq!(b.merge_delta(&second), 1);
        assert_eq!(b.merge_delta(&second), 0);
        assert_eq!(a, b);
    }

    #[test]
    fn merged_entries_appear_in_our_own_deltas() {
        let mut a = Directory::new();
        a.apply("c_1", &placement(1, "eu-west"));
        let since = a.version();
        let mut b = Directory::new();
        b.apply("c_2", &placement(1, "us-east"));
        a.merge(&b);
        assert_eq!(a.delta_since(since).chats.len(), 1);
    }

    #[test]
    fn serde_round_trip_keeps_entries_and_change_numbers() {
        let topology = topology();
        let mut a = Directory::new();
        a.assign(&topology, "c_1", "eu-west").unwrap();
        a.assign(&topology, "c_2", "us-east").unwrap();
        let json = serde_json::to_string(&a).unwrap();
        let back: Directory = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.version(), 2);
        assert_eq!(back.delta_since(1).chats.len(), 1);
    }

    #[test]
    fn loading_change_numbers_past_the_version_raises_it() {
        let json = r#"{"version":1,"chats":{"c_1":{"epoch":1,"home":"eu-west","changed":7}}}"#;
        let mut directory: Directory = serde_json::from_str(json).unwrap();
        assert_eq!(directory.version(), 7);
        directory.apply("c_2", &placement(1, "us-east"));
        assert_eq!(directory.delta_since(7).chats.len(), 1);
    }

    fn arb_directory() -> impl Strategy<Value = Directory> {
        let entry = (
            0..6u8,
            0..4u64,
            prop::sample::select(vec!["eu-west", "us-east", "ap-south"]),
        );
        prop::collection::vec(entry, 0..12).prop_map(|entries| {
            let mut directory = Directory::new();
            for (chat, epoch, home) in entries {
                directory.apply(&format!("c_{chat}"), &placement(epoch, home));
            }
            directory
        })
    }

    fn merged(a: &Directory, b: &Directory) -> Directory {
        let mut out = a.clone();
        out.merge(b);
        out
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in arb_directory(), b in arb_directory()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in arb_directory(), b in arb_directory(), c in arb_directory()) {
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in arb_directory(), b in arb_directory()) {
            prop_assert_eq!(merged(&a, &a), a.clone());
            let ab = merged(&a, &b);
            prop_assert_eq!(merged(&ab, &b), ab);
        }

        #[test]
        fn merging_a_delta_equals_merging_the_whole(a in arb_directory(), b in arb_directory(), c in arb_directory()) {
            // b has seen a's changes up to a's current version, then a changes more.
            let mut b = merged(&b, &a);
            let since = a.version();
            let mut a = a;
            a.merge(&c);
            b.merge_delta(&a.delta_since(since));
            prop_assert_eq!(b.clone(), merged(&b, &a));
            prop_assert!(a.iter().all(|(chat, p)| b.get(chat).is_some_and(|q| q >= p)));
        }
    }
}
