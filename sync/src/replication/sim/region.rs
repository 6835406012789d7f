//! One simulated region: its store (what survives a restart) and the
//! machines rebuilt from it (what does not).

use std::collections::{BTreeMap, HashMap};

use protocol::Hlc;
use protocol::peer::{ForwardOutcome, ForwardSend, LogEntry};

use crate::replication::{Millis, Outbox, Receiver, Shipper, outbox, shipper};

use super::workload::Scenario;

/// What a region keeps on disk.
#[derive(Debug, Default)]
pub struct Store {
    /// Every chat's log, homed here or replicated: `(chat, seq) → entry`.
    pub log: BTreeMap<(String, u64), LogEntry>,
    /// The sequencer's dedup table: `(chat, sender, client_msg_id)` → result.
    pub dedup: HashMap<(String, String, String), (u64, Hlc)>,
    /// Outbox rows in submission order.
    pub outbox: BTreeMap<u64, ForwardSend>,
    /// Next outbox row key.
    pub next_row: u64,
}

impl Store {
    /// The last `seq` of a chat's log here, 0 if none.
    pub fn last_seq(&self, chat: &str) -> u64 {
        let start = (chat.to_string(), 0);
        let end = (chat.to_string(), u64::MAX);
        self.log
            .range(start..=end)
            .next_back()
            .map_or(0, |((_, seq), _)| *seq)
    }

    /// A chat's entries with `seq` in `after+1..=after+limit`.
    pub fn read(&self, chat: &str, after: u64, limit: usize) -> Vec<LogEntry> {
        let start = (chat.to_string(), after + 1);
        let end = (chat.to_string(), u64::MAX);
        self.log
            .range(start..=end)
            .take(limit)
            .map(|(_, entry)| entry.clone())
            .collect()
    }

    /// A chat's whole log here, in `seq` order.
    pub fn chat_log(&self, chat: &str) -> Vec<LogEntry> {
        self.read(chat, 0, usize::MAX)
    }

    /// The home's sequencer: commits a send once per dedup key.
    pub fn sequence(&mut self, send: &ForwardSend, now: Millis) -> (ForwardOutcome, bool) {
        if send.text.starts_with("reject") {
            let outcome = ForwardOutcome::Rejected {
                code: protocol::ErrorCode::NotMember,
                message: "the sender is not a member".into(),
            };
            return (outcome, false);
        }
        let key = (
            send.chat_id.clone(),
            send.sender_id.clone(),
            send.client_msg_id.clone(),
        );
        if let Some(&(seq, hlc)) = self.dedup.get(&key) {
            return (ForwardOutcome::Sequenced { seq, hlc }, false);
        }
        let seq = self.last_seq(&send.chat_id) + 1;
        let hlc = Hlc::new(1_700_000_000_000 + now.0, (seq % 1000) as u16);
        let body = protocol::peer::EntryBody::Message {
            message: protocol::chats::Message {
                chat_id: send.chat_id.clone(),
                seq,
                hlc,
                sender_id: send.sender_id.clone(),
                client_msg_id: send.client_msg_id.clone(),
                kind: protocol::chats::MessageKind::Text,
                text: send.text.clone(),
                event: None,
                user_ids: None,
                title: None,
                sent_at: hlc.millis(),
            },
            state: None,
        };
        let entry = LogEntry {
            chat_id: send.chat_id.clone(),
            seq,
            hlc,
            body,
        };
        self.log.insert((send.chat_id.clone(), seq), entry);
        self.dedup.insert(key, (seq, hlc));
        (ForwardOutcome::Sequenced { seq, hlc }, true)
    }
}

/// A region: its store and the machines of its current life.
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
    /// Per peer: ships the chats homed here.
    pub shippers: BTreeMap<usize, Shipper>,
    /// Per peer: replicates the chats homed there.
    pub receivers: BTreeMap<usize, Receiver>,
    /// Per peer: forwards sends to the chats homed there.
    pub outboxes: BTreeMap<usize, Outbox>,
    /// Per chat: when the last scheduled replica write completes, so a
    /// chat's writes complete in the order they were asked for.
    pub apply_tail: BTreeMap<String, Millis>,
}

impl Region {
    /// A region with an empty store and fresh machines.
    pub fn new(id: usize, scenario: &Scenario) -> Self {
        let mut region = Self {
            id,
            life: 0,
            down: 0,
            store: Store::default(),
            shippers: BTreeMap::new(),
            receivers: BTreeMap::new(),
            outboxes: BTreeMap::new(),
            apply_tail: BTreeMap::new(),
        };
        region.rebuild(scenario, Millis(0));
        region
    }

    /// Throws away every machine and builds them again from the store
    /// alone, as a process restart does.
    pub fn rebuild(&mut self, scenario: &Scenario, now: Millis) {
        self.life += 1;
        self.apply_tail.clear();
        self.shippers.clear();
        self.receivers.clear();
        self.outboxes.clear();
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
}
