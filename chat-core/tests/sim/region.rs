//! One simulated region: its store (what survives a restart), its clock,
//! and the chat cores and replication machines rebuilt from the store
//! (what does not).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chat_core::{ChatCore, CoreConfig, Stamp};
use protocol::Hlc;
use protocol::peer::LogEntry;
use sync::replication::{Millis, Outbox, Receiver, Shipper, outbox, shipper};

use super::store::Store;
use super::workload::Scenario;

/// Simulated milliseconds since the Unix epoch at time 0.
const EPOCH: u64 = 1_700_000_000_000;

/// A region's hybrid clock over the simulated time: never repeats and
/// never goes back, restarts included (as a clock that takes in the
/// stored maximum would).
#[derive(Debug)]
pub struct SimClock {
    time: Arc<AtomicU64>,
    last: AtomicU64,
}

impl Stamp for SimClock {
    fn stamp(&self) -> Hlc {
        let physical = Hlc::new(EPOCH + self.time.load(Ordering::Relaxed), 0).0;
        let previous = self
            .last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(physical.max(last + 1))
            })
            .unwrap_or_default();
        Hlc(physical.max(previous + 1))
    }
}

/// A region: its store and the cores and machines of its current life.
#[derive(Debug)]
pub struct Region {
    /// Index in the world.
    pub id: usize,
    /// Bumped at every restart; shell work of an older life is dropped.
    pub life: u64,
    /// Restarts not yet back up (they may overlap); unreachable while > 0.
    pub down: u32,
    /// What survives restarts.
    pub store: Store,
    /// What every core of the region shares.
    pub config: CoreConfig,
    /// Per chat of the scenario (homed here or not): its core.
    pub cores: BTreeMap<String, ChatCore>,
    /// Per peer: ships the chats homed here.
    pub shippers: BTreeMap<usize, Shipper>,
    /// Per peer: replicates the chats homed there.
    pub receivers: BTreeMap<usize, Receiver>,
    /// Per peer: forwards sends to the chats homed there.
    pub outboxes: BTreeMap<usize, Outbox>,
    /// Per chat: when the last scheduled replica write completes, so a
    /// chat's writes complete in the order they were asked for.
    pub apply_tail: BTreeMap<String, Millis>,
    /// Per chat homed here: the newest shipped entries, in memory, as the
    /// region node's driver keeps them for its shippers.
    pub recent: BTreeMap<String, VecDeque<LogEntry>>,
}

/// The name of region `id`.
pub fn name(id: usize) -> String {
    format!("r{id}")
}

impl Region {
    /// A region with an empty store and fresh cores and machines.
    pub fn new(id: usize, scenario: &Scenario, time: Arc<AtomicU64>) -> Self {
        let clock = Arc::new(SimClock {
            time,
            last: AtomicU64::new(0),
        });
        let mut region = Self {
            id,
            life: 0,
            down: 0,
            store: Store::default(),
            config: CoreConfig {
                region: name(id),
                clock,
                sabotage: scenario.sabotage,
            },
            cores: BTreeMap::new(),
            shippers: BTreeMap::new(),
            receivers: BTreeMap::new(),
            outboxes: BTreeMap::new(),
            apply_tail: BTreeMap::new(),
            recent: BTreeMap::new(),
        };
        region.rebuild(scenario, Millis(0));
        region
    }

    /// Throws away every core and machine and builds them again from the
    /// store alone, as a process restart does.
    pub fn rebuild(&mut self, scenario: &Scenario, now: Millis) {
        self.life += 1;
        self.apply_tail.clear();
        self.recent.clear();
        self.cores.clear();
        self.shippers.clear();
        self.receivers.clear();
        self.outboxes.clear();
        for (chat, _) in &scenario.chats {
            let core = ChatCore::new(self.config.clone(), chat, self.store.load(chat));
            self.cores.insert(chat.clone(), core);
        }
        for peer in (0..scenario.regions).filter(|&peer| peer != self.id) {
            let mut shipper = Shipper::new(scenario.shipper.clone());
            for (chat, _) in scenario.chats.iter().filter(|(_, home)| *home == self.id) {
                let seq = self.store.last_seq(chat);
                let input = shipper::Input::Committed {
                    chat_id: chat.clone(),
                    seq,
                };
                assert!(shipper.handle(now, input).is_empty(), "not connected yet");
            }
            self.shippers.insert(peer, shipper);

            let cursors = scenario
                .chats
                .iter()
                .filter(|(_, home)| *home == peer)
                .map(|(chat, _)| (chat.clone(), self.store.last_seq(chat)))
                .filter(|(_, seq)| *seq > 0)
                .collect();
            let receiver = Receiver::new(scenario.receiver.clone(), cursors);
            self.receivers.insert(peer, receiver);

            let mut outbox = Outbox::new(scenario.outbox.clone());
            for row in self.store.outbox.values() {
                if scenario.home(&row.chat_id) == peer {
                    let out = outbox.handle(now, outbox::Input::Submit(row.clone()));
                    assert!(out.is_empty(), "not connected yet");
                }
            }
            self.outboxes.insert(peer, outbox);
        }
    }

    /// Keeps a shipped entry in memory, the newest `keep` per chat.
    pub fn remember(&mut self, entry: LogEntry, keep: usize) {
        let recent = self.recent.entry(entry.chat_id.clone()).or_default();
        recent.push_back(entry);
        while recent.len() > keep {
            recent.pop_front();
        }
    }

    /// Up to `limit` entries after `after` from memory, if it holds the
    /// next one.
    pub fn recent_read(&self, chat: &str, after: u64, limit: usize) -> Option<Vec<LogEntry>> {
        let recent = self.recent.get(chat)?;
        let first = recent.front()?.seq;
        if after + 1 < first || after + 1 > recent.back()?.seq {
            return None;
        }
        let skip = usize::try_from(after + 1 - first).ok()?;
        Some(recent.iter().skip(skip).take(limit).cloned().collect())
    }
}
