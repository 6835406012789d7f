//! What must hold once a run is quiet:
//!
//! - every region holds each chat's log, identical to the home's, gapless
//!   `1..=n` with clocks growing with `seq`, and the same membership as
//!   the home;
//! - every `(sender, client_msg_id)` answered `sent` is in the log exactly
//!   once, at the `seq` and with the clock every answer named; one never
//!   answered `sent` (refused: not a member, a stranger) is not in it;
//! - forwarded sends of one region and chat are sequenced in submission
//!   order;
//! - every region delivered the message at `seq` once, to exactly the
//!   members at `seq` (joined at or before it and not removed before it,
//!   over every spell of membership the home wrote);
//! - folded state: no region keeps the text of a deleted message or of its
//!   edits; a message reads as its last edit in `seq` order with the
//!   earlier texts in its history; its reactions are what its reaction
//!   entries leave;
//! - nothing is left in flight: outboxes, shipper and receiver lag, replies.

use std::collections::BTreeMap;

use protocol::chats::{Message, MessageKind};

use super::world::{Answer, Spells, World};

/// Counts from a converged run, for scenarios to assert on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Entries in all home logs.
    pub entries: usize,
    /// Text messages in all home logs.
    pub texts: usize,
    /// Messages edited at least once.
    pub edited: usize,
    /// Messages deleted for everyone.
    pub deleted: usize,
    /// Reaction entries.
    pub reactions: usize,
    /// System messages (creation and membership changes).
    pub system: usize,
    /// Send attempts answered `sent`.
    pub sent: usize,
    /// Send attempts refused.
    pub refused: usize,
    /// Attempts that were forwarded to the home.
    pub forwarded: usize,
    /// Attempts that repeated a key already answered `sent`.
    pub retried: usize,
}

/// The members at `seq`, by the spells the home wrote.
pub fn members_at(spells: &BTreeMap<String, Spells>, seq: u64) -> Vec<String> {
    spells
        .iter()
        .filter(|(_, spells)| {
            spells
                .iter()
                .any(|&(joined, removed)| joined <= seq && removed.is_none_or(|r| seq <= r))
        })
        .map(|(user, _)| user.clone())
        .collect()
}

/// Panics, saying what differs, unless the run converged.
pub fn converged(world: &World) -> Summary {
    let scenario = &world.scenario;
    for a in 0..scenario.regions {
        for b in a + 1..scenario.regions {
            assert!(world.link_up(a, b), "link {a}-{b} is up at the end");
        }
    }
    assert_eq!(
        world.replies_pending(),
        0,
        "every core reply was carried out"
    );
    let mut summary = Summary::default();
    check_logs(world, &mut summary);
    check_folds(world, &mut summary);
    check_machines(world);
    check_sends(world, &mut summary);
    check_deliveries(world);
    summary
}

/// Every region's log and membership of each chat equal the home's.
fn check_logs(world: &World, summary: &mut Summary) {
    for (chat, home) in &world.scenario.chats {
        let rows = world.regions[*home].store.chat(chat);
        let seqs: Vec<u64> = rows.messages.keys().copied().collect();
        let gapless: Vec<u64> = (1..=rows.last_seq).collect();
        assert_eq!(seqs, gapless, "chat {chat}: the home log is gapless");
        for (&seq, message) in &rows.messages {
            assert_eq!(message.seq, seq, "chat {chat}: the message at {seq}");
        }
        // One order: the clocks grow with `seq`.
        for (a, b) in rows.messages.values().zip(rows.messages.values().skip(1)) {
            assert!(
                a.hlc < b.hlc,
                "chat {chat}: the clock of seq {} is not after seq {}'s",
                b.seq,
                a.seq
            );
        }
        let home_core = &world.regions[*home].cores[chat];
        assert_eq!(
            home_core.last_seq(),
            rows.last_seq,
            "chat {chat}: home core"
        );
        let view = home_core.view().expect("the chat exists at its home");
        for region in world.regions.iter().filter(|region| region.id != *home) {
            let replica = region.store.chat(chat);
            assert_eq!(
                replica.last_seq, rows.last_seq,
                "chat {chat}: region {} holds {} of the home's {} entries",
                region.id, replica.last_seq, rows.last_seq
            );
            assert!(
                replica.messages == rows.messages,
                "chat {chat}: region {}'s log differs from the home's at seqs {:?}",
                region.id,
                rows.messages
                    .iter()
                    .filter(|(seq, m)| replica.messages.get(seq) != Some(m))
                    .map(|(seq, _)| seq)
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                replica.members, rows.members,
                "chat {chat}: region {}'s members",
                region.id
            );
            assert_eq!(replica.record, rows.record, "chat {chat}: record");
            let core = &region.cores[chat];
            assert_eq!(core.last_seq(), rows.last_seq, "chat {chat}: replica core");
            assert_eq!(
                core.view().map(|c| c.members),
                Ok(view.members.clone()),
                "chat {chat}: region {}'s core sees the home's members",
                region.id
            );
        }
        summary.entries += rows.messages.len();
        summary.texts += rows
            .messages
            .values()
            .filter(|m| m.kind == MessageKind::Text)
            .count();
        summary.system += rows
            .messages
            .values()
            .filter(|m| m.kind == MessageKind::System)
            .count();
    }
}

/// Folded state, in every region (their logs are equal, so the home's
/// stands for all): a deleted message and the edits of it hold no text;
/// a message's text is that of its last edit in `seq` order, its history
/// the texts before, its reactions what the reaction entries leave.
fn check_folds(world: &World, summary: &mut Summary) {
    for (chat, home) in &world.scenario.chats {
        for region in &world.regions {
            let at_home = region.id == *home;
            let rows = region.store.chat(chat);
            for message in rows.messages.values() {
                let acts: Vec<&Message> = rows
                    .messages
                    .values()
                    .filter(|a| a.kind.is_action() && a.target_seq == Some(message.seq))
                    .collect();
                if message.deleted {
                    assert!(
                        message.text.is_empty() && message.history.is_empty(),
                        "chat {chat}: region {} keeps the text of deleted message {}",
                        region.id,
                        message.seq
                    );
                    for edit in acts.iter().filter(|a| a.kind == MessageKind::Edit) {
                        assert!(
                            edit.text.is_empty(),
                            "chat {chat}: region {} keeps edit {} of deleted message {}",
                            region.id,
                            edit.seq,
                            message.seq
                        );
                    }
                    continue;
                }
                let edits: Vec<&&Message> = acts
                    .iter()
                    .filter(|a| a.kind == MessageKind::Edit)
                    .collect();
                if let Some(last) = edits.last() {
                    assert_eq!(
                        message.text, last.text,
                        "chat {chat}: message {} reads as its last edit",
                        message.seq
                    );
                    assert_eq!(message.history.len(), edits.len());
                    summary.edited += usize::from(at_home);
                }
                let mut reactions: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for r in acts.iter().filter(|a| a.kind == MessageKind::Reaction) {
                    let (Some(emoji), Some(on)) = (&r.emoji, r.on) else {
                        panic!("reaction {} without its emoji", r.seq);
                    };
                    let users = reactions.entry(emoji.clone()).or_default();
                    users.retain(|u| *u != r.sender_id);
                    if on {
                        users.push(r.sender_id.clone());
                    }
                    if users.is_empty() {
                        reactions.remove(emoji);
                    }
                }
                assert_eq!(
                    message.reactions, reactions,
                    "chat {chat}: reactions of message {}",
                    message.seq
                );
            }
            if at_home {
                summary.deleted += rows.messages.values().filter(|m| m.deleted).count();
                summary.reactions += rows
                    .messages
                    .values()
                    .filter(|m| m.kind == MessageKind::Reaction)
                    .count();
            }
        }
    }
}

/// Nothing left in flight.
fn check_machines(world: &World) {
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
}

/// Exactly once per `(sender, client_msg_id)`, refused sends absent,
/// forwards in submission order.
fn check_sends(world: &World, summary: &mut Summary) {
    // (chat, sender, client_msg_id) → seq, from the home logs.
    let mut logged: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (chat, home) in &world.scenario.chats {
        for message in world.regions[*home].store.chat(chat).messages.values() {
            if message.kind == MessageKind::System {
                continue;
            }
            let key = (
                chat.clone(),
                message.sender_id.clone(),
                message.client_msg_id.clone(),
            );
            if let Some(first) = logged.insert(key.clone(), message.seq) {
                panic!(
                    "{key:?} is in the log twice, at {first} and {}",
                    message.seq
                );
            }
        }
    }

    let mut tries: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for attempt in &world.attempts {
        let key = (
            attempt.chat.clone(),
            attempt.sender.clone(),
            attempt.client_msg_id.clone(),
        );
        *tries.entry(key).or_default() += 1;
    }
    let mut answered: BTreeMap<(String, String, String), (u64, protocol::Hlc)> = BTreeMap::new();
    let mut order: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for (index, attempt) in world.attempts.iter().enumerate() {
        let key = (
            attempt.chat.clone(),
            attempt.sender.clone(),
            attempt.client_msg_id.clone(),
        );
        assert!(
            !attempt.answers.is_empty(),
            "attempt {index} ({key:?} from region {}) was never answered",
            attempt.region
        );
        summary.forwarded += usize::from(attempt.item.is_some());
        let repeat = answered.contains_key(&key);
        for answer in &attempt.answers {
            match *answer {
                Answer::Sent { seq, hlc } => {
                    let first = *answered.entry(key.clone()).or_insert((seq, hlc));
                    assert_eq!(
                        first,
                        (seq, hlc),
                        "{key:?}: every answer names the same seq and clock"
                    );
                    assert_eq!(
                        logged.get(&key),
                        Some(&seq),
                        "{key:?}: answered sent at {seq}, so it is in the log there"
                    );
                    let message = &world.regions[world.scenario.home(&attempt.chat)]
                        .store
                        .chat(&attempt.chat)
                        .messages[&seq];
                    assert_eq!(message.hlc, hlc, "{key:?}: the answered clock");
                }
                Answer::Refused(_) => {}
            }
        }
        if attempt
            .answers
            .iter()
            .any(|a| matches!(a, Answer::Sent { .. }))
        {
            summary.sent += 1;
            summary.retried += usize::from(repeat);
        } else {
            summary.refused += 1;
        }
        // A key sent once, forwarded from a region, lands after the
        // region's earlier forwards to the chat (a key sent from two
        // regions may be sequenced for the other one first).
        let once = tries.get(&key) == Some(&1);
        if let (Some(_), true, Some(&(seq, _))) = (&attempt.item, once, answered.get(&key)) {
            let previous = order.insert((attempt.region, attempt.chat.clone()), seq);
            assert!(
                previous.is_none_or(|previous| previous < seq),
                "attempt {index} ({key:?}, seq {seq}) overtook an earlier forward of region {} \
                 (seq {previous:?})",
                attempt.region
            );
        }
    }
    for (key, seq) in &logged {
        assert!(
            answered.contains_key(key),
            "{key:?} is in the log at {seq} but no send of it was answered sent"
        );
    }
}

/// Every message delivered once per region, to the members at its seq.
fn check_deliveries(world: &World) {
    for (chat, home) in &world.scenario.chats {
        let spells = world.spells.get(chat).cloned().unwrap_or_default();
        let last = world.regions[*home].store.last_seq(chat);
        for region in &world.regions {
            for seq in 1..=last {
                let key = (region.id, chat.clone(), seq);
                let deliveries = world.delivered.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                assert_eq!(
                    deliveries.len(),
                    1,
                    "chat {chat}: region {} delivered seq {seq} {} times",
                    region.id,
                    deliveries.len()
                );
                let expected = members_at(&spells, seq);
                assert_eq!(
                    deliveries[0], expected,
                    "chat {chat}: region {} delivered seq {seq} to other users than its members \
                     (spells {spells:?})",
                    region.id
                );
            }
        }
    }
}
