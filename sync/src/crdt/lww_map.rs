//! A map of last-writer-wins registers, for per-user settings and similar
//! small keyed state.
//!
//! A removal is a write of "absent" (a tombstone), so a removal and a
//! concurrent update resolve by (HLC, writer) like any two writes, and a
//! stale update arriving after a removal cannot bring the key back.
//! Tombstones are kept: settings maps are small and rarely deleted from.

use std::collections::BTreeMap;

use protocol::Hlc;
use serde::{Deserialize, Serialize};

use super::lww::Lww;

/// Keys mapped to last-writer-wins values, with tombstones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize",
    deserialize = "K: Ord + Deserialize<'de>, V: Deserialize<'de>"
))]
pub struct LwwMap<K, V> {
    entries: BTreeMap<K, Lww<Option<V>>>,
}

impl<K, V> Default for LwwMap<K, V> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<K: Ord, V> LwwMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` if this write is the latest for the key;
    /// returns whether it won.
    pub fn insert(&mut self, key: K, value: V, hlc: Hlc, writer: &str) -> bool {
        self.write(key, Some(value), hlc, writer)
    }

    /// Removes `key` if this removal is the latest write for the key;
    /// returns whether it won.
    pub fn remove(&mut self, key: K, hlc: Hlc, writer: &str) -> bool {
        self.write(key, None, hlc, writer)
    }

    /// The live value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries
            .get(key)
            .and_then(|entry| entry.value().as_ref())
    }

    /// The register of `key`, tombstone included, e.g. to see when it was
    /// last written.
    pub fn entry(&self, key: &K) -> Option<&Lww<Option<V>>> {
        self.entries.get(key)
    }

    /// Live entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter_map(|(key, entry)| entry.value().as_ref().map(|value| (key, value)))
    }

    /// The number of live entries.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    fn write(&mut self, key: K, value: Option<V>, hlc: Hlc, writer: &str) -> bool {
        match self.entries.get_mut(&key) {
            Some(entry) => entry.set(value, hlc, writer),
            None => {
                self.entries.insert(key, Lww::new(value, hlc, writer));
                true
            }
        }
    }
}

impl<K: Ord + Clone, V: Clone> LwwMap<K, V> {
    /// Merges key by key, the latest write of each key winning.
    pub fn merge(&mut self, other: &Self) {
        for (key, theirs) in &other.entries {
            match self.entries.get_mut(key) {
                Some(ours) => ours.merge(theirs),
                None => {
                    self.entries.insert(key.clone(), theirs.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    type Settings = LwwMap<String, String>;

    #[test]
    fn removal_beats_an_older_update_and_loses_to_a_newer_one() {
        let mut settings = Settings::new();
        assert!(settings.insert("theme".into(), "dark".into(), Hlc::new(10, 0), "eu"));
        assert!(settings.remove("theme".into(), Hlc::new(12, 0), "us"));
        assert!(!settings.insert("theme".into(), "light".into(), Hlc::new(11, 0), "eu"));
        assert_eq!(settings.get(&"theme".to_string()), None);
        assert!(settings.is_empty());
        let tombstone = settings
            .entry(&"theme".to_string())
            .expect("tombstone kept");
        assert_eq!(tombstone.hlc(), Hlc::new(12, 0));
        assert!(settings.insert("theme".into(), "light".into(), Hlc::new(13, 0), "eu"));
        assert_eq!(
            settings.iter().collect::<Vec<_>>(),
            vec![(&"theme".to_string(), &"light".to_string())]
        );
        assert_eq!(settings.len(), 1);
    }

    #[test]
    fn round_trips_through_json() {
        let mut settings = Settings::new();
        settings.insert("lang".into(), "de".into(), Hlc::new(5, 1), "eu");
        settings.remove("tz".into(), Hlc::new(6, 0), "us");
        let text = serde_json::to_string(&settings).expect("serialize");
        let back: Settings = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, settings);
    }

    /// A write script: key, timestamp, writer. Whether it inserts or removes,
    /// and what, follows from (key, hlc, writer), as it does when clocks
    /// issue unique timestamps.
    fn map() -> impl Strategy<Value = Settings> {
        let write = (0u8..3, 0u64..5, prop::sample::select(vec!["eu", "us"]));
        prop::collection::vec(write, 0..8).prop_map(|writes| {
            let mut map = Settings::new();
            for (key, ms, writer) in writes {
                let hlc = Hlc::new(ms, u16::from(key));
                let key = format!("k{key}");
                if (ms % 2 == 0) != (writer == "us") {
                    map.insert(key, format!("{writer}@{ms}"), hlc, writer);
                } else {
                    map.remove(key, hlc, writer);
                }
            }
            map
        })
    }

    fn merged(a: &Settings, b: &Settings) -> Settings {
        let mut out = a.clone();
        out.merge(b);
        out
    }

    proptest! {
        #[test]
        fn merge_is_a_join(a in map(), b in map(), c in map()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
            prop_assert_eq!(merged(&a, &a), a);
        }
    }
}
