//! What must hold once a run is quiet: every replica equals its home's log,
//! every outbox is empty, every forwarded send is in its home's log exactly
//! once (or refused), in submission order per region and chat.

use std::collections::BTreeMap;

use protocol::peer::{ForwardOutcome, LogEntry};

use super::world::World;

/// Counts from a converged run, for scenarios to assert on.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Entries in all home logs.
    pub entries: usize,
    /// Forwarded sends that were sequenced.
    pub forwarded: usize,
    /// Forwarded sends that were refused.
    pub rejected: usize,
}

/// Panics, saying what differs, unless the run converged.
pub fn converged(world: &World) -> Summary {
    let scenario = &world.scenario;
    for a in 0..scenario.regions {
        for b in a + 1..scenario.regions {
            assert!(world.link_up(a, b), "link {a}-{b} is up at the end");
        }
    }

    let mut entries = 0;
    for (chat, home) in &scenario.chats {
        let log = world.regions[*home].store.chat_log(chat);
        let seqs: Vec<u64> = log.iter().map(|entry| entry.seq).collect();
        let gapless: Vec<u64> = (1..=log.len() as u64).collect();
        assert_eq!(seqs, gapless, "chat {chat}: the home log is gapless");
        for region in world.regions.iter().filter(|region| region.id != *home) {
            let replica = region.store.chat_log(chat);
            assert_eq!(
                replica.len(),
                log.len(),
                "chat {chat}: region {} holds {} of the home's {} entries",
                region.id,
                replica.len(),
                log.len()
            );
            assert_eq!(
                replica, log,
                "chat {chat}: region {} equals the home",
                region.id
            );
        }
        entries += log.len();
    }

    for region in &world.regions {
        assert!(
            region.store.outbox.is_empty(),
            "region {}: outbox rows left",
            region.id
        );
        for (peer, outbox) in &region.outboxes {
            assert_eq!(outbox.pending(), 0, "region {} → {peer}: outbox", region.id);
        }
        for (peer, shipper) in &region.shippers {
            let lag = shipper.lag(world.now);
            assert_eq!(
                lag.events_behind, 0,
                "region {} → {peer}: shipper lag",
                region.id
            );
            assert_eq!(lag.oldest_unacked_age, None);
        }
        for (peer, receiver) in &region.receivers {
            assert_eq!(
                receiver.lag(),
                0,
                "region {} ← {peer}: receiver lag",
                region.id
            );
        }
    }

    let (forwarded, rejected) = check_forwarded(world);
    Summary {
        entries,
        forwarded,
        rejected,
    }
}

/// Each forwarded send: sequenced exactly once (or refused and absent),
/// reported done with that outcome, in submission order per region and chat.
fn check_forwarded(world: &World) -> (usize, usize) {
    let mut by_key: BTreeMap<(String, String), &LogEntry> = BTreeMap::new();
    for region in &world.regions {
        for entry in region.store.log.values() {
            if world.scenario.home(&entry.chat_id) != region.id {
                continue;
            }
            let protocol::peer::EntryBody::Message { message, .. } = &entry.body else {
                panic!("the simulation logs only messages");
            };
            let key = (message.sender_id.clone(), message.client_msg_id.clone());
            assert!(
                by_key.insert(key, entry).is_none(),
                "a send was sequenced twice"
            );
        }
    }

    let mut last_seq: BTreeMap<(usize, String), u64> = BTreeMap::new();
    let (mut forwarded, mut rejected) = (0, 0);
    for sent in &world.forwarded {
        let item = &sent.item;
        let key = (item.sender_id.clone(), item.client_msg_id.clone());
        let outcomes = world
            .done
            .get(&item.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(
            !outcomes.is_empty(),
            "item {} was never reported done",
            item.id
        );
        if sent.reject {
            assert!(
                !by_key.contains_key(&key),
                "refused item {} is in the log",
                item.id
            );
            for outcome in outcomes {
                assert!(matches!(outcome, ForwardOutcome::Rejected { .. }));
            }
            rejected += 1;
            continue;
        }
        let entry = by_key
            .get(&key)
            .unwrap_or_else(|| panic!("item {} is not in the home log", item.id));
        assert_eq!(entry.chat_id, item.chat_id);
        for outcome in outcomes {
            let expected = ForwardOutcome::Sequenced {
                seq: entry.seq,
                hlc: entry.hlc,
            };
            assert_eq!(outcome, &expected, "item {}: the reported outcome", item.id);
        }
        let previous = last_seq.insert((sent.region, item.chat_id.clone()), entry.seq);
        assert!(
            previous.is_none_or(|previous| previous < entry.seq),
            "item {} (seq {}) overtook an earlier item of region {} (seq {previous:?})",
            item.id,
            entry.seq,
            sent.region
        );
        forwarded += 1;
    }
    (forwarded, rejected)
}
