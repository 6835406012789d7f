//! Unit tests of the shipper, one behaviour each.

use std::collections::BTreeMap;
use std::time::Duration;

use protocol::Hlc;
use protocol::peer::{LogEntry, PeerMessage};

use super::*;

fn config() -> ShipperConfig {
    ShipperConfig {
        window: 10,
        max_entries_per_message: 4,
        max_bytes_per_message: 1 << 20,
        retransmit_after: Duration::from_millis(1_000),
        read_retry_after: Duration::from_millis(100),
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

fn entries(chat: &str, seqs: std::ops::RangeInclusive<u64>) -> Vec<LogEntry> {
    seqs.map(|seq| entry(chat, seq)).collect()
}

fn read(chat: &str, after_seq: u64, limit: usize) -> Output {
    Output::ReadLog {
        chat_id: chat.into(),
        after_seq,
        limit,
    }
}

/// The seqs of every `Entries` message in `out`, one list per message.
fn shipped(out: &[Output]) -> Vec<Vec<u64>> {
    out.iter()
        .filter_map(|output| match output {
            Output::Send(PeerMessage::Entries { entries, .. }) => {
                Some(entries.iter().map(|e| e.seq).collect())
            }
            _ => None,
        })
        .collect()
}

fn hello(cursors: &[(&str, u64)]) -> Input {
    Input::Hello {
        cursors: cursors.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
    }
}

fn committed(chat: &str, seq: u64) -> Input {
    Input::Committed {
        chat_id: chat.into(),
        seq,
    }
}

fn ack(chat: &str, seq: u64) -> Input {
    Input::Ack {
        chat_id: chat.into(),
        seq,
    }
}

fn log_read(chat: &str, list: Vec<LogEntry>) -> Input {
    Input::LogRead {
        chat_id: chat.into(),
        entries: list,
    }
}

/// A shipper homing chat `a` through seq 30, connected, with the peer's
/// Hello at `cursor` handled; returns it and the Hello's outputs.
fn shipping(cursor: u64) -> (Shipper, Vec<Output>) {
    let mut shipper = Shipper::new(config());
    assert!(shipper.handle(Millis(0), committed("a", 30)).is_empty());
    shipper.handle(Millis(0), Input::PeerConnected);
    let out = shipper.handle(Millis(0), hello(&[("a", cursor)]));
    (shipper, out)
}

#[test]
fn connect_sends_the_catalog_and_waits_for_hello() {
    let mut shipper = Shipper::new(config());
    shipper.handle(Millis(0), committed("a", 3));
    shipper.handle(Millis(0), committed("b", 7));
    let out = shipper.handle(Millis(5), Input::PeerConnected);
    let chats = BTreeMap::from([("a".to_string(), 3), ("b".to_string(), 7)]);
    assert_eq!(out, vec![Output::Send(PeerMessage::Catalog { chats })]);
    assert!(shipper.is_connected());
    // Commits before the Hello ship nothing: the peer's cursor is unknown.
    assert!(shipper.handle(Millis(6), committed("a", 4)).is_empty());
}

#[test]
fn catalog_is_repeated_until_the_hello_arrives() {
    let mut shipper = Shipper::new(config());
    shipper.handle(Millis(0), committed("a", 3));
    shipper.handle(Millis(0), Input::PeerConnected);
    assert_eq!(shipper.poll_timeout(), Some(Millis(1_000)));
    assert!(shipper.handle(Millis(999), Input::Tick).is_empty());
    let out = shipper.handle(Millis(1_000), Input::Tick);
    assert!(matches!(
        out[..],
        [Output::Send(PeerMessage::Catalog { .. })]
    ));
    shipper.handle(Millis(1_100), hello(&[("a", 3)]));
    assert_eq!(shipper.poll_timeout(), None);
}

#[test]
fn hello_starts_shipping_after_the_peer_cursor_within_the_window() {
    let (mut shipper, out) = shipping(5);
    assert_eq!(out, vec![read("a", 5, 10)]);
    // Only one read at a time.
    assert!(shipper.handle(Millis(1), committed("a", 31)).is_empty());
    let out = shipper.handle(Millis(2), log_read("a", entries("a", 6..=15)));
    assert_eq!(
        shipped(&out),
        vec![vec![6, 7, 8, 9], vec![10, 11, 12, 13], vec![14, 15]]
    );
    // The window (10 unacked) is full: nothing more is read.
    assert_eq!(out.len(), 3);
    let out = shipper.handle(Millis(3), ack("a", 9));
    assert_eq!(out, vec![read("a", 15, 4)]);
}

#[test]
fn chats_missing_from_hello_start_from_zero() {
    let mut shipper = Shipper::new(config());
    shipper.handle(Millis(0), committed("new", 2));
    shipper.handle(Millis(0), Input::PeerConnected);
    let out = shipper.handle(Millis(0), hello(&[]));
    assert_eq!(out, vec![read("new", 0, 2)]);
}

#[test]
fn a_log_read_keeps_only_the_run_that_continues_the_shipped_entries() {
    let (mut shipper, _) = shipping(5);
    // Overlapping, then a hole at 9: only 6..=8 are new and contiguous.
    let mut list = entries("a", 3..=8);
    list.push(entry("a", 10));
    list.push(entry("other", 9));
    let out = shipper.handle(Millis(1), log_read("a", list));
    assert_eq!(shipped(&out), vec![vec![6, 7, 8]]);
    assert_eq!(out.last(), Some(&read("a", 8, 7)));
}

#[test]
fn an_empty_read_is_retried_after_a_pause() {
    let (mut shipper, _) = shipping(5);
    assert!(
        shipper
            .handle(Millis(1), log_read("a", Vec::new()))
            .is_empty()
    );
    assert_eq!(shipper.poll_timeout(), Some(Millis(101)));
    assert!(shipper.handle(Millis(50), Input::Tick).is_empty());
    assert_eq!(
        shipper.handle(Millis(101), Input::Tick),
        vec![read("a", 5, 10)]
    );
}

#[test]
fn an_unanswered_read_is_given_up_and_issued_again() {
    let (mut shipper, _) = shipping(5);
    assert_eq!(shipper.poll_timeout(), Some(Millis(1_000)));
    assert_eq!(
        shipper.handle(Millis(1_000), Input::Tick),
        vec![read("a", 5, 10)]
    );
}

#[test]
fn acks_move_the_cursor_forward_only() {
    let (mut shipper, _) = shipping(0);
    shipper.handle(Millis(0), log_read("a", entries("a", 1..=10)));
    assert_eq!(
        shipper.chat_lag(Millis(0), "a").map(|l| l.events_behind),
        Some(30)
    );
    shipper.handle(Millis(1), ack("a", 8));
    assert_eq!(
        shipper.chat_lag(Millis(1), "a").map(|l| l.events_behind),
        Some(22)
    );
    assert!(shipper.handle(Millis(2), ack("a", 4)).is_empty());
    assert_eq!(
        shipper.chat_lag(Millis(2), "a").map(|l| l.events_behind),
        Some(22)
    );
    assert_eq!(shipper.chat_lag(Millis(2), "zzz"), None);
}

#[test]
fn no_ack_in_time_ships_again_from_the_acked_cursor() {
    let (mut shipper, _) = shipping(0);
    shipper.handle(Millis(10), log_read("a", entries("a", 1..=10)));
    shipper.handle(Millis(500), ack("a", 3));
    // The ack pushed the deadline out from 1_010 to 1_500.
    assert_eq!(shipper.poll_timeout(), Some(Millis(1_500)));
    assert!(shipper.handle(Millis(1_200), Input::Tick).is_empty());
    assert_eq!(
        shipper.handle(Millis(1_500), Input::Tick),
        vec![read("a", 3, 10)]
    );
    let out = shipper.handle(Millis(1_501), log_read("a", entries("a", 4..=13)));
    assert_eq!(
        shipped(&out),
        vec![vec![4, 5, 6, 7], vec![8, 9, 10, 11], vec![12, 13]]
    );
}

#[test]
fn everything_acked_leaves_no_timer() {
    let (mut shipper, _) = shipping(20);
    shipper.handle(Millis(1), log_read("a", entries("a", 21..=30)));
    assert!(shipper.poll_timeout().is_some());
    assert!(shipper.handle(Millis(2), ack("a", 30)).is_empty());
    assert_eq!(shipper.poll_timeout(), None);
    assert_eq!(shipper.lag(Millis(2)), Lag::default());
}

#[test]
fn resend_rewinds_to_the_peer_position_but_not_below_the_ack() {
    let (mut shipper, _) = shipping(0);
    shipper.handle(Millis(1), log_read("a", entries("a", 1..=10)));
    shipper.handle(Millis(2), ack("a", 2));
    // ack(2) left room for 2 more and read them.
    shipper.handle(Millis(3), log_read("a", entries("a", 11..=12)));
    let out = shipper.handle(
        Millis(4),
        Input::Resend {
            chat_id: "a".into(),
            after_seq: 5,
        },
    );
    assert_eq!(out, vec![read("a", 5, 7)]);
    // A stale resend below the ack rewinds only to the ack.
    shipper.handle(Millis(5), log_read("a", Vec::new()));
    let out = shipper.handle(
        Millis(6),
        Input::Resend {
            chat_id: "a".into(),
            after_seq: 1,
        },
    );
    assert_eq!(out, vec![read("a", 2, 10)]);
}

#[test]
fn disconnect_forgets_what_was_in_flight() {
    let (mut shipper, _) = shipping(0);
    shipper.handle(Millis(1), log_read("a", entries("a", 1..=10)));
    shipper.handle(Millis(2), ack("a", 4));
    assert!(
        shipper
            .handle(Millis(3), Input::PeerDisconnected)
            .is_empty()
    );
    assert!(!shipper.is_connected());
    assert_eq!(shipper.poll_timeout(), None);
    // A read answered after the disconnect ships nothing.
    assert!(
        shipper
            .handle(Millis(4), log_read("a", entries("a", 5..=8)))
            .is_empty()
    );
    let out = shipper.handle(Millis(5), Input::PeerConnected);
    assert!(matches!(
        out[..],
        [Output::Send(PeerMessage::Catalog { .. })]
    ));
    // The new Hello is the truth, even behind the old ack.
    let out = shipper.handle(Millis(6), hello(&[("a", 3)]));
    assert_eq!(out, vec![read("a", 3, 10)]);
}

#[test]
fn a_repeated_hello_on_one_connection_only_acks() {
    let (mut shipper, _) = shipping(0);
    shipper.handle(Millis(1), log_read("a", entries("a", 1..=10)));
    let out = shipper.handle(Millis(2), hello(&[("a", 0)]));
    assert!(out.is_empty(), "a stale Hello must not rewind: {out:?}");
    let out = shipper.handle(Millis(3), hello(&[("a", 6)]));
    assert_eq!(out, vec![read("a", 10, 6)]);
}

#[test]
fn new_commits_ship_while_idle() {
    let (mut shipper, _) = shipping(30);
    assert_eq!(shipper.poll_timeout(), None);
    let out = shipper.handle(Millis(1), committed("a", 32));
    assert_eq!(out, vec![read("a", 30, 2)]);
    let out = shipper.handle(Millis(2), log_read("a", entries("a", 31..=32)));
    assert_eq!(shipped(&out), vec![vec![31, 32]]);
}

#[test]
fn messages_are_split_by_size() {
    let mut shipper = Shipper::new(ShipperConfig {
        max_bytes_per_message: 2
            * (ENTRY_OVERHEAD_BYTES
                + super::super::test_body("a", 1, &"x".repeat(100)).approx_size()),
        ..config()
    });
    shipper.handle(Millis(0), committed("a", 5));
    shipper.handle(Millis(0), Input::PeerConnected);
    shipper.handle(Millis(0), hello(&[]));
    let mut list = entries("a", 1..=5);
    for entry in &mut list {
        entry.body = super::super::test_body("a", entry.seq, &"x".repeat(100));
    }
    list[3].body = super::super::test_body("a", 4, &"y".repeat(10_000));
    let out = shipper.handle(Millis(1), log_read("a", list));
    // A body larger than the cap still goes, alone.
    assert_eq!(shipped(&out), vec![vec![1, 2], vec![3], vec![4], vec![5]]);
}

#[test]
fn lag_reports_entries_behind_and_the_oldest_wait() {
    let mut shipper = Shipper::new(config());
    shipper.handle(Millis(1_000), committed("a", 4));
    shipper.handle(Millis(3_000), committed("a", 6));
    shipper.handle(Millis(3_000), committed("b", 1));
    let lag = shipper.lag(Millis(5_000));
    assert_eq!(lag.events_behind, 7);
    assert_eq!(lag.oldest_unacked_age, Some(Duration::from_secs(4)));
    shipper.handle(Millis(5_000), Input::PeerConnected);
    shipper.handle(Millis(5_000), hello(&[("a", 5)]));
    let lag = shipper.chat_lag(Millis(6_000), "a");
    assert_eq!(
        lag,
        Some(Lag {
            events_behind: 1,
            oldest_unacked_age: Some(Duration::from_secs(3)),
        })
    );
}

#[test]
fn commit_marks_stay_bounded() {
    let mut shipper = Shipper::new(config());
    for seq in 1..=1_000 {
        shipper.handle(Millis(seq), committed("a", seq));
    }
    let state = &shipper.chats["a"];
    assert_eq!(state.commits.len(), MAX_COMMIT_MARKS);
    assert_eq!(state.commits.back().map(|m| m.0), Some(1_000));
    assert_eq!(
        shipper.lag(Millis(2_000)).oldest_unacked_age,
        Some(Duration::from_millis(1_999))
    );
}
