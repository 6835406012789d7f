//! Unit tests of the receiver, one behaviour each.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use protocol::Hlc;
use protocol::peer::{LogEntry, PeerMessage};

use super::*;

fn config() -> ReceiverConfig {
    ReceiverConfig {
        max_buffered_per_chat: 8,
        ack_delay: Duration::from_millis(20),
        ack_every: 5,
        resend_after: Duration::from_millis(300),
    }
}

fn entry(chat: &str, seq: u64) -> LogEntry {
    LogEntry {
        chat_id: chat.into(),
        seq,
        hlc: Hlc::new(seq, 0),
        body: super::super::test_body(chat, seq, "n"),
    }
}

fn batch(chat: &str, seqs: &[u64]) -> Input {
    Input::Entries {
        chat_id: chat.into(),
        entries: seqs.iter().map(|&seq| entry(chat, seq)).collect(),
    }
}

fn applied(chat: &str, seq: u64) -> Input {
    Input::Applied {
        chat_id: chat.into(),
        seq,
    }
}

/// The seqs of the single `Apply` in `out`, if there is exactly one.
fn applies(out: &[Output]) -> Vec<Vec<u64>> {
    out.iter()
        .filter_map(|output| match output {
            Output::Apply { entries, .. } => Some(entries.iter().map(|e| e.seq).collect()),
            Output::Send(_) => None,
        })
        .collect()
}

fn sent(out: &[Output]) -> Vec<PeerMessage> {
    out.iter()
        .filter_map(|output| match output {
            Output::Send(message) => Some(message.clone()),
            Output::Apply { .. } => None,
        })
        .collect()
}

fn ack(chat: &str, seq: u64) -> PeerMessage {
    PeerMessage::Ack {
        chat_id: chat.into(),
        seq,
    }
}

/// A connected receiver whose replica of `a` holds seq 1..=`cursor`.
fn connected(cursor: u64) -> Receiver {
    let mut receiver = Receiver::new(config(), BTreeMap::from([("a".to_string(), cursor)]));
    receiver.handle(Millis(0), Input::PeerConnected);
    receiver
}

#[test]
fn connect_says_hello_with_the_durable_cursors() {
    let cursors = BTreeMap::from([("a".to_string(), 4), ("b".to_string(), 0)]);
    let mut receiver = Receiver::new(config(), cursors);
    let out = receiver.handle(Millis(0), Input::PeerConnected);
    let expected = BTreeMap::from([("a".to_string(), 4)]);
    assert_eq!(
        out,
        vec![Output::Send(PeerMessage::Hello { cursors: expected })]
    );
    assert!(receiver.is_connected());
}

#[test]
fn catalog_records_what_the_home_holds_and_is_answered() {
    let mut receiver = connected(4);
    let chats = BTreeMap::from([("a".to_string(), 10), ("new".to_string(), 3)]);
    let out = receiver.handle(Millis(1), Input::Catalog { chats });
    assert!(matches!(out[..], [Output::Send(PeerMessage::Hello { .. })]));
    assert_eq!(receiver.chat_lag("a"), Some(6));
    assert_eq!(receiver.chat_lag("new"), Some(3));
    assert_eq!(receiver.lag(), 9);
}

#[test]
fn the_contiguous_run_is_applied_and_duplicates_are_dropped() {
    let mut receiver = connected(2);
    let out = receiver.handle(Millis(1), batch("a", &[1, 2, 3, 3, 4]));
    assert_eq!(applies(&out), vec![vec![3, 4]]);
    // Before the write completes, the same entries arrive again.
    let out = receiver.handle(Millis(2), batch("a", &[3, 4, 5]));
    assert_eq!(applies(&out), vec![vec![5]]);
}

#[test]
fn entries_after_a_hole_wait_and_a_lasting_hole_asks_for_a_resend() {
    let mut receiver = connected(0);
    let out = receiver.handle(Millis(10), batch("a", &[3, 4]));
    assert!(
        out.is_empty(),
        "no apply across a hole, no instant resend: {out:?}"
    );
    assert_eq!(receiver.poll_timeout(), Some(Millis(310)));
    let out = receiver.handle(Millis(310), Input::Tick);
    let resend = PeerMessage::Resend {
        chat_id: "a".into(),
        after_seq: 0,
    };
    assert_eq!(sent(&out), vec![resend.clone()]);
    // Rate-limited: more entries behind the hole do not ask again at once.
    assert!(receiver.handle(Millis(320), batch("a", &[5])).is_empty());
    assert_eq!(receiver.poll_timeout(), Some(Millis(610)));
    assert_eq!(
        sent(&receiver.handle(Millis(610), Input::Tick)),
        vec![resend]
    );
    // The hole fills: everything buffered is applied, in order, and the
    // resend timer goes away.
    let out = receiver.handle(Millis(700), batch("a", &[2, 1]));
    assert_eq!(applies(&out), vec![vec![1, 2, 3, 4, 5]]);
    assert_eq!(receiver.poll_timeout(), None);
}

#[test]
fn a_short_hole_from_reordering_asks_for_nothing() {
    let mut receiver = connected(0);
    receiver.handle(Millis(10), batch("a", &[2]));
    let out = receiver.handle(Millis(20), batch("a", &[1]));
    assert_eq!(applies(&out), vec![vec![1, 2]]);
    assert_eq!(receiver.poll_timeout(), None);
}

#[test]
fn the_buffer_is_bounded_and_dropping_asks_for_a_resend() {
    let mut receiver = connected(0);
    // Buffer holds seq 2..=8 (applying + 8); 9 and 10 are dropped.
    let out = receiver.handle(Millis(0), batch("a", &[2, 3, 4, 5, 6, 7, 8, 9, 10]));
    assert!(out.is_empty());
    let out = receiver.handle(Millis(1), batch("a", &[1]));
    assert_eq!(applies(&out), vec![vec![1, 2, 3, 4, 5, 6, 7, 8]]);
    // The hole is gone from the buffer, but 9 and 10 were lost here.
    let out = receiver.handle(Millis(300), Input::Tick);
    let resend = PeerMessage::Resend {
        chat_id: "a".into(),
        after_seq: 8,
    };
    assert_eq!(sent(&out), vec![resend]);
    assert_eq!(receiver.poll_timeout(), None);
}

#[test]
fn a_contiguous_message_longer_than_the_buffer_is_applied_whole() {
    let mut receiver = connected(0);
    let seqs: Vec<u64> = (1..=30).rev().collect();
    let out = receiver.handle(Millis(0), batch("a", &seqs));
    assert_eq!(applies(&out), vec![(1..=30).collect::<Vec<u64>>()]);
    assert_eq!(receiver.poll_timeout(), None);
}

#[test]
fn acks_report_only_durable_entries_and_are_batched() {
    let mut receiver = connected(0);
    receiver.handle(Millis(0), batch("a", &[1, 2, 3]));
    assert_eq!(
        receiver.poll_timeout(),
        None,
        "nothing durable, nothing to ack"
    );
    assert!(receiver.handle(Millis(1), applied("a", 2)).is_empty());
    assert!(receiver.handle(Millis(2), applied("a", 3)).is_empty());
    assert_eq!(receiver.poll_timeout(), Some(Millis(21)));
    assert_eq!(
        sent(&receiver.handle(Millis(21), Input::Tick)),
        vec![ack("a", 3)]
    );
    assert_eq!(receiver.poll_timeout(), None);
    // Every `ack_every` durable entries an ack goes at once.
    receiver.handle(Millis(30), batch("a", &[4, 5, 6, 7, 8, 9]));
    assert!(receiver.handle(Millis(31), applied("a", 7)).is_empty());
    assert_eq!(
        sent(&receiver.handle(Millis(32), applied("a", 9))),
        vec![ack("a", 9)]
    );
}

#[test]
fn applied_never_claims_more_than_was_handed_out() {
    let mut receiver = connected(0);
    receiver.handle(Millis(0), batch("a", &[1, 2]));
    receiver.handle(Millis(1), applied("a", 50));
    assert_eq!(receiver.cursors()["a"], 2);
    // A late, smaller Applied does not move the cursor back.
    receiver.handle(Millis(2), applied("a", 1));
    assert_eq!(receiver.cursors()["a"], 2);
    assert_eq!(receiver.chat_lag("a"), Some(0));
}

#[test]
fn entries_already_held_make_the_receiver_ack_again() {
    let mut receiver = connected(5);
    // The home lost our acks and shipped 4..=5 again.
    let out = receiver.handle(Millis(0), batch("a", &[4, 5]));
    assert!(out.is_empty());
    assert_eq!(
        sent(&receiver.handle(Millis(20), Input::Tick)),
        vec![ack("a", 5)]
    );
}

#[test]
fn entries_being_applied_are_not_acked_early() {
    let mut receiver = connected(0);
    receiver.handle(Millis(0), batch("a", &[1, 2]));
    // Shipped again while the write is in flight: dropped, no ack.
    assert!(receiver.handle(Millis(1), batch("a", &[1, 2])).is_empty());
    assert_eq!(receiver.poll_timeout(), None);
}

#[test]
fn disconnect_drops_buffered_entries_but_not_writes_in_flight() {
    let mut receiver = connected(0);
    receiver.handle(Millis(0), batch("a", &[1, 2]));
    receiver.handle(Millis(0), batch("a", &[4]));
    assert!(
        receiver
            .handle(Millis(1), Input::PeerDisconnected)
            .is_empty()
    );
    assert_eq!(receiver.poll_timeout(), None);
    // The write finishes while disconnected: no ack can go.
    assert!(receiver.handle(Millis(2), applied("a", 1)).is_empty());
    let out = receiver.handle(Millis(3), Input::PeerConnected);
    let cursors = BTreeMap::from([("a".to_string(), 1)]);
    assert_eq!(sent(&out), vec![PeerMessage::Hello { cursors }]);
    // The home ships from the durable cursor; 2 is still being written.
    let out = receiver.handle(Millis(4), batch("a", &[2, 3, 4]));
    assert_eq!(applies(&out), vec![vec![3, 4]]);
}

#[test]
fn unknown_chats_are_replicated_from_the_start() {
    let mut receiver = connected(0);
    let out = receiver.handle(Millis(0), batch("fresh", &[1, 2]));
    assert_eq!(applies(&out), vec![vec![1, 2]]);
    receiver.handle(Millis(1), applied("fresh", 2));
    assert_eq!(receiver.cursors().get("fresh"), Some(&2));
}

#[test]
fn foreign_and_zero_entries_are_ignored() {
    let mut receiver = connected(0);
    let mut entries = vec![entry("b", 1), entry("a", 0)];
    entries.push(entry("a", 1));
    let out = receiver.handle(
        Millis(0),
        Input::Entries {
            chat_id: "a".into(),
            entries,
        },
    );
    assert_eq!(applies(&out), vec![vec![1]]);
    assert_eq!(receiver.chat_lag("b"), None);
}

/// One step of the receiver's environment, for the property test.
#[derive(Debug, Clone)]
enum Step {
    /// Entries `start..start+len` arrive in one message, reversed or not.
    Deliver(u64, u64, bool),
    /// The oldest outstanding write completes.
    Applied,
    /// The connection drops and comes back.
    Reconnect,
    /// Time passes.
    Tick,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (1u64..=40, 1u64..=12, any::<bool>()).prop_map(|(s, l, r)| Step::Deliver(s, l, r)),
        3 => Just(Step::Applied),
        1 => Just(Step::Reconnect),
        1 => Just(Step::Tick),
    ]
}

proptest::proptest! {
    /// Whatever arrives, in whatever order and however often, the applies
    /// concatenate to the log's prefix: gapless, each entry once.
    #[test]
    fn applies_extend_the_replica_gaplessly_and_once(
        steps in proptest::collection::vec(step(), 1..120)
    ) {
        const LAST: u64 = 40;
        let mut receiver = connected(0);
        let mut applied: Vec<u64> = Vec::new();
        let mut writes = VecDeque::new();
        let mut now = 0;
        for step in steps {
            now += 7;
            let out = match step {
                Step::Deliver(start, len, reversed) => {
                    let mut seqs: Vec<u64> = (start..start + len).filter(|&s| s <= LAST).collect();
                    if reversed {
                        seqs.reverse();
                    }
                    receiver.handle(Millis(now), batch("a", &seqs))
                }
                Step::Applied => match writes.pop_front() {
                    Some(seq) => receiver.handle(Millis(now), applied_input(seq)),
                    None => Vec::new(),
                },
                Step::Reconnect => {
                    receiver.handle(Millis(now), Input::PeerDisconnected);
                    receiver.handle(Millis(now), Input::PeerConnected)
                }
                Step::Tick => receiver.handle(Millis(now), Input::Tick),
            };
            record(out, &mut applied, &mut writes);
        }
        // The home ships the rest, in order, in one message.
        let rest: Vec<u64> = (applied.len() as u64 + 1..=LAST).collect();
        let out = receiver.handle(Millis(now + 1), batch("a", &rest));
        record(out, &mut applied, &mut writes);
        while let Some(seq) = writes.pop_front() {
            receiver.handle(Millis(now + 2), applied_input(seq));
        }
        let everything: Vec<u64> = (1..=LAST).collect();
        proptest::prop_assert_eq!(applied, everything);
        proptest::prop_assert_eq!(receiver.cursors().get("a").copied(), Some(LAST));
    }
}

/// Checks that `out`'s applies continue `applied` exactly, and notes the
/// writes they start.
fn record(out: Vec<Output>, applied: &mut Vec<u64>, writes: &mut VecDeque<u64>) {
    for output in out {
        if let Output::Apply { entries, .. } = output {
            for entry in &entries {
                assert_eq!(entry.seq, applied.len() as u64 + 1, "gapless, once");
                applied.push(entry.seq);
            }
            writes.extend(entries.last().map(|e| e.seq));
        }
    }
}

fn applied_input(seq: u64) -> Input {
    applied("a", seq)
}
