//! An in-memory engine for tests: a multi-version `BTreeMap`, nothing on disk.
//!
//! Each key keeps the versions that a live snapshot may still read; versions no snapshot can
//! see are dropped when the key is next written.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};

use crate::backend::KeyValue;
use crate::error::StoreError;
use crate::layer::engine::{Engine, EngineBatch, EngineSnapshot, ScanIter, Syncer};

/// Pairs copied per lock acquisition during a scan.
const SCAN_CHUNK: usize = 256;

/// Versions of one key, oldest first; `None` marks a removal.
type Versions = Vec<(u64, Option<Vec<u8>>)>;

#[derive(Default)]
struct State {
    data: RwLock<BTreeMap<Vec<u8>, Versions>>,
    /// Live snapshot versions with their reference counts.
    live: Mutex<BTreeMap<u64, usize>>,
}

fn poisoned() -> StoreError {
    StoreError::Backend("memory engine lock poisoned".into())
}

/// The in-memory engine.
#[derive(Default)]
pub(crate) struct MemoryEngine {
    state: Arc<State>,
    version: u64,
}

impl Engine for MemoryEngine {
    fn snapshot(&self) -> Result<Arc<dyn EngineSnapshot>, StoreError> {
        *self
            .state
            .live
            .lock()
            .map_err(|_| poisoned())?
            .entry(self.version)
            .or_default() += 1;
        Ok(Arc::new(MemorySnapshot {
            state: Arc::clone(&self.state),
            version: self.version,
        }))
    }

    fn write(&mut self, batch: &EngineBatch) -> Result<(), StoreError> {
        let version = self.version + 1;
        let oldest_live = {
            let live = self.state.live.lock().map_err(|_| poisoned())?;
            live.keys().next().copied().unwrap_or(self.version)
        };
        let mut data = self.state.data.write().map_err(|_| poisoned())?;
        let mut touched = Vec::new();
        for (begin, end) in &batch.clear_ranges {
            for (key, versions) in data.range_mut(begin.clone()..end.clone()) {
                let present = versions.last().is_some_and(|(_, v)| v.is_some());
                if present && !batch.has_point(key) {
                    versions.push((version, None));
                    touched.push(key.clone());
                }
            }
        }
        for (key, value) in &batch.points {
            data.entry(key.clone())
                .or_default()
                .push((version, value.clone()));
            touched.push(key.clone());
        }
        for key in touched {
            prune(&mut data, &key, oldest_live);
        }
        self.version = version;
        Ok(())
    }

    fn syncer(&self) -> Box<dyn Syncer> {
        Box::new(NothingToSync)
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Memory has nothing to make durable.
struct NothingToSync;

impl Syncer for NothingToSync {
    fn sync(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Drops versions of `key` hidden from every snapshot at or after `oldest_live`.
fn prune(data: &mut BTreeMap<Vec<u8>, Versions>, key: &[u8], oldest_live: u64) {
    let Some(versions) = data.get_mut(key) else {
        return;
    };
    // The newest version at or below `oldest_live` is still visible; older ones are not.
    let visible_from = versions
        .iter()
        .rposition(|(v, _)| *v <= oldest_live)
        .unwrap_or(0);
    versions.drain(..visible_from);
    if versions.len() == 1 && versions[0].1.is_none() && versions[0].0 <= oldest_live {
        data.remove(key);
    }
}

/// The value of a key at `version`.
fn at_version(versions: &Versions, version: u64) -> Option<&Vec<u8>> {
    versions
        .iter()
        .rev()
        .find(|(v, _)| *v <= version)
        .and_then(|(_, value)| value.as_ref())
}

struct MemorySnapshot {
    state: Arc<State>,
    version: u64,
}

impl Drop for MemorySnapshot {
    fn drop(&mut self) {
        if let Ok(mut live) = self.state.live.lock()
            && let Some(count) = live.get_mut(&self.version)
        {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.version);
            }
        }
    }
}

impl MemorySnapshot {
    /// Up to [`SCAN_CHUNK`] visible pairs after `from` (exclusive) within `[begin, end)`.
    fn chunk(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Result<Vec<KeyValue>, StoreError> {
        let data = self.state.data.read().map_err(|_| poisoned())?;
        let range = data.range((lower, upper));
        let visible = |(k, versions): (&Vec<u8>, &Versions)| {
            at_version(versions, self.version).map(|v| (k.clone(), v.clone()))
        };
        Ok(if reverse {
            range.rev().filter_map(visible).take(SCAN_CHUNK).collect()
        } else {
            range.filter_map(visible).take(SCAN_CHUNK).collect()
        })
    }
}

impl EngineSnapshot for MemorySnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let data = self.state.data.read().map_err(|_| poisoned())?;
        Ok(data
            .get(key)
            .and_then(|versions| at_version(versions, self.version))
            .cloned())
    }

    fn scan<'a>(&'a self, begin: &[u8], end: &[u8], reverse: bool) -> ScanIter<'a> {
        let mut lower = Bound::Included(begin.to_vec());
        let mut upper = Bound::Excluded(end.to_vec());
        let mut buffered = std::collections::VecDeque::<KeyValue>::new();
        let mut done = false;
        Box::new(std::iter::from_fn(move || {
            if buffered.is_empty() && !done {
                match self.chunk(lower.clone(), upper.clone(), reverse) {
                    Ok(chunk) => {
                        done = chunk.len() < SCAN_CHUNK;
                        if let Some((last, _)) = chunk.last() {
                            if reverse {
                                upper = Bound::Excluded(last.clone());
                            } else {
                                lower = Bound::Excluded(last.clone());
                            }
                        }
                        buffered.extend(chunk);
                    }
                    Err(err) => {
                        done = true;
                        return Some(Err(err));
                    }
                }
            }
            buffered.pop_front().map(Ok)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_snapshots_keep_their_view_and_pruning_drops_hidden_versions() {
        let mut engine = MemoryEngine::default();
        let put = |k: &str, v: Option<&str>| EngineBatch {
            clear_ranges: Vec::new(),
            points: vec![(k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))],
        };
        engine.write(&put("a", Some("1"))).unwrap();
        let old = engine.snapshot().unwrap();
        engine.write(&put("a", Some("2"))).unwrap();
        engine.write(&put("a", Some("3"))).unwrap();
        assert_eq!(old.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(
            engine.snapshot().unwrap().get(b"a").unwrap(),
            Some(b"3".to_vec())
        );
        drop(old);
        engine.write(&put("a", None)).unwrap();
        // Versions 1 and 2 are hidden from every possible reader now.
        let versions = engine.state.data.read().unwrap()[b"a".as_slice()].clone();
        assert_eq!(versions, vec![(3, Some(b"3".to_vec())), (4, None)]);
    }

    #[test]
    fn scan_crosses_chunk_boundaries_both_ways() {
        let mut engine = MemoryEngine::default();
        let points = (0..SCAN_CHUNK * 2 + 7)
            .map(|i| (format!("{i:05}").into_bytes(), Some(vec![1])))
            .collect();
        engine
            .write(&EngineBatch {
                clear_ranges: Vec::new(),
                points,
            })
            .unwrap();
        let snap = engine.snapshot().unwrap();
        let forward: Vec<_> = snap
            .scan(b"", b"\xff", false)
            .map(|r| r.unwrap().0)
            .collect();
        let mut backward: Vec<_> = snap
            .scan(b"", b"\xff", true)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(forward.len(), SCAN_CHUNK * 2 + 7);
        backward.reverse();
        assert_eq!(forward, backward);
    }
}
