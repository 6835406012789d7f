//! Unit tests of the outbox, one behaviour each.

use std::time::Duration;

use protocol::Hlc;
use protocol::peer::{ForwardOutcome, ForwardResult, ForwardSend, PeerMessage};

use super::*;

fn config(window: usize) -> OutboxConfig {
    OutboxConfig {
        retransmit_after: Duration::from_millis(1_000),
        max_in_flight_per_chat: window,
    }
}

fn item(id: &str, chat: &str) -> ForwardSend {
    ForwardSend {
        id: id.into(),
        chat_id: chat.into(),
        sender_id: "u1".into(),
        device_id: "d1".into(),
        client_msg_id: format!("m-{id}"),
        text: format!("text {id}"),
        hlc: Hlc::new(1, 0),
        ..Default::default()
    }
}

fn sequenced(id: &str, seq: u64) -> Input {
    Input::Received(ForwardResult {
        id: id.into(),
        outcome: ForwardOutcome::Sequenced {
            seq,
            hlc: Hlc::new(2, 0),
        },
    })
}

/// The ids of the items forwarded in `out`, in order.
fn forwarded(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|output| match output {
            Output::Send(PeerMessage::ForwardSend(send)) => Some(send.id.clone()),
            _ => None,
        })
        .collect()
}

/// The ids of the items done in `out`, in order.
fn done(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|output| match output {
            Output::Done { item, .. } => Some(item.id.clone()),
            Output::Send(_) => None,
        })
        .collect()
}

#[test]
fn items_wait_for_a_connection_and_go_one_per_chat_in_order() {
    let mut outbox = Outbox::new(config(1));
    for (id, chat) in [("1", "a"), ("2", "a"), ("3", "b"), ("4", "a")] {
        assert!(
            outbox
                .handle(Millis(0), Input::Submit(item(id, chat)))
                .is_empty()
        );
    }
    assert_eq!(outbox.pending(), 4);
    assert!(!outbox.is_connected());
    assert_eq!(
        outbox.poll_timeout(),
        None,
        "nothing sent, nothing to time out"
    );
    let out = outbox.handle(Millis(10), Input::PeerConnected);
    assert_eq!(forwarded(&out), ["1", "3"]);
    let out = outbox.handle(Millis(20), sequenced("1", 7));
    assert_eq!(done(&out), ["1"]);
    assert_eq!(forwarded(&out), ["2"]);
    let out = outbox.handle(Millis(30), sequenced("2", 8));
    assert_eq!(forwarded(&out), ["4"]);
    assert_eq!(outbox.pending(), 2);
}

#[test]
fn done_carries_the_item_and_the_outcome() {
    let mut outbox = Outbox::new(config(1));
    outbox.handle(Millis(0), Input::PeerConnected);
    outbox.handle(Millis(0), Input::Submit(item("1", "a")));
    let rejected = ForwardOutcome::Rejected {
        code: protocol::ErrorCode::NotMember,
        message: "no".into(),
    };
    let out = outbox.handle(
        Millis(1),
        Input::Received(ForwardResult {
            id: "1".into(),
            outcome: rejected.clone(),
        }),
    );
    assert_eq!(
        out,
        vec![Output::Done {
            item: item("1", "a"),
            outcome: rejected,
        }]
    );
    assert_eq!(outbox.pending(), 0);
    assert_eq!(outbox.poll_timeout(), None);
}

#[test]
fn unanswered_items_are_sent_again_after_the_timeout() {
    let mut outbox = Outbox::new(config(1));
    outbox.handle(Millis(0), Input::PeerConnected);
    outbox.handle(Millis(100), Input::Submit(item("1", "a")));
    assert_eq!(outbox.poll_timeout(), Some(Millis(1_100)));
    assert!(outbox.handle(Millis(1_099), Input::Tick).is_empty());
    assert_eq!(forwarded(&outbox.handle(Millis(1_100), Input::Tick)), ["1"]);
    assert_eq!(outbox.poll_timeout(), Some(Millis(2_100)));
}

#[test]
fn reconnecting_sends_everything_in_flight_again() {
    let mut outbox = Outbox::new(config(2));
    outbox.handle(Millis(0), Input::PeerConnected);
    for id in ["1", "2", "3"] {
        outbox.handle(Millis(0), Input::Submit(item(id, "a")));
    }
    assert!(outbox.handle(Millis(1), Input::PeerDisconnected).is_empty());
    assert_eq!(outbox.poll_timeout(), None);
    let out = outbox.handle(Millis(2), Input::PeerConnected);
    assert_eq!(forwarded(&out), ["1", "2"]);
}

#[test]
fn a_window_of_several_resends_all_of_it_in_order() {
    let mut outbox = Outbox::new(config(3));
    outbox.handle(Millis(0), Input::PeerConnected);
    for id in ["1", "2", "3", "4"] {
        outbox.handle(Millis(id.parse().unwrap()), Input::Submit(item(id, "a")));
    }
    // Answers may come out of order; the window slides past both.
    let out = outbox.handle(Millis(10), sequenced("2", 5));
    assert_eq!(
        (done(&out), forwarded(&out)),
        (vec!["2".into()], vec!["4".into()])
    );
    let out = outbox.handle(Millis(1_001), Input::Tick);
    assert_eq!(forwarded(&out), ["1", "3", "4"]);
}

#[test]
fn duplicate_submits_and_stale_results_are_ignored() {
    let mut outbox = Outbox::new(config(1));
    outbox.handle(Millis(0), Input::PeerConnected);
    assert_eq!(
        forwarded(&outbox.handle(Millis(0), Input::Submit(item("1", "a")))),
        ["1"]
    );
    assert!(
        outbox
            .handle(Millis(1), Input::Submit(item("1", "a")))
            .is_empty()
    );
    assert_eq!(outbox.pending(), 1);
    assert_eq!(done(&outbox.handle(Millis(2), sequenced("1", 3))), ["1"]);
    // The answer to a resend of the same item.
    assert!(outbox.handle(Millis(3), sequenced("1", 3)).is_empty());
    assert!(outbox.handle(Millis(4), sequenced("never", 1)).is_empty());
}

#[test]
fn a_zero_window_still_sends_one() {
    let mut outbox = Outbox::new(config(0));
    outbox.handle(Millis(0), Input::PeerConnected);
    assert_eq!(
        forwarded(&outbox.handle(Millis(0), Input::Submit(item("1", "a")))),
        ["1"]
    );
}
