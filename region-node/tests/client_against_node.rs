//! The SDK against a real region node: every chat endpoint over HTTP, and
//! the resuming WebSocket session across a node restart and a late join.

#![allow(clippy::unwrap_used)]

mod client_node;

use std::time::Duration;

use client::ws::{ChatStream, Credentials, Event, Session, SessionOptions};
use client_node::Node;
use protocol::ErrorCode;
use protocol::chats::{ChatKind, MessageKind, Role, SendStatus, SystemEvent, UpdateChatRequest};
use protocol::frames::ServerFrame;

/// The `seq`s of the next `count` messages of `chat_id`.
async fn seqs_of(stream: &mut ChatStream, chat_id: &str, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        let event = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("an event in time")
            .unwrap();
        if let Event::Frame(ServerFrame::Message(m)) = event
            && m.chat_id == chat_id
        {
            seqs.push(m.seq);
        }
    }
    seqs
}

#[tokio::test]
async fn every_chat_endpoint_round_trips() {
    let node = Node::start().await;
    let (alice, alice_tokens) = node.user("alice").await;
    let (bob, bob_tokens) = node.user("bob").await;
    let (carol, carol_tokens) = node.user("carol").await;
    let (alice_id, bob_id, carol_id) = (
        alice_tokens.user_id,
        bob_tokens.user_id,
        carol_tokens.user_id,
    );

    let direct = alice.create_direct(&bob_id).await.unwrap();
    assert_eq!(direct.kind, ChatKind::Direct);
    assert_eq!(
        bob.create_direct(&alice_id).await.unwrap().chat_id,
        direct.chat_id
    );

    let group = alice
        .create_group("Team", std::slice::from_ref(&bob_id), Some("the team"))
        .await
        .unwrap();
    assert_eq!(
        (group.kind, group.last_seq, group.members.len()),
        (ChatKind::Group, 1, 2)
    );
    let chat_id = group.chat_id.clone();

    let first = alice.send_message(&chat_id, "m-1", "hello").await.unwrap();
    assert_eq!((first.seq, first.status), (2, SendStatus::Sent));
    let again = alice.send_message(&chat_id, "m-1", "hello").await.unwrap();
    assert_eq!((again.seq, again.hlc), (first.seq, first.hlc), "idempotent");
    for i in 3..=6 {
        alice
            .send_message(&chat_id, &format!("m-{i}"), "more")
            .await
            .unwrap();
    }

    let renamed = alice
        .update_chat(
            &chat_id,
            &UpdateChatRequest {
                title: Some("Team two".into()),
                description: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.title, "Team two");
    let denied = bob
        .update_chat(&chat_id, &UpdateChatRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some(ErrorCode::BadRequest));

    let with_carol = alice
        .add_members(&chat_id, std::slice::from_ref(&carol_id))
        .await
        .unwrap();
    assert_eq!(with_carol.members.len(), 3);
    let carols = with_carol
        .members
        .iter()
        .find(|m| m.user_id == carol_id)
        .unwrap();
    assert_eq!((carols.role, carols.joined_seq), (Role::Member, 8));
    // Added later, Carol reads the whole earlier history.
    let all = carol
        .history(&chat_id, None, None, Some(500))
        .await
        .unwrap();
    assert_eq!(all.messages.first().map(|m| m.seq), Some(1));
    assert_eq!(all.messages.len(), 8);

    let forward = bob.history(&chat_id, Some(2), None, Some(3)).await.unwrap();
    let seqs: Vec<u64> = forward.messages.iter().map(|m| m.seq).collect();
    assert_eq!((seqs, forward.has_more), (vec![3, 4, 5], true));
    let back = bob.history(&chat_id, None, Some(5), Some(2)).await.unwrap();
    let seqs: Vec<u64> = back.messages.iter().map(|m| m.seq).collect();
    assert_eq!((seqs, back.has_more), (vec![3, 4], true));
    let bad = bob
        .history(&chat_id, None, None, Some(0))
        .await
        .unwrap_err();
    assert_eq!(
        (bad.status(), bad.code()),
        (Some(400), Some(ErrorCode::BadRequest))
    );

    bob.mark_read(&chat_id, 8).await.unwrap();
    let listed = bob.chats().await.unwrap();
    let summary = listed.iter().find(|c| c.chat_id == chat_id).unwrap();
    assert_eq!(
        (summary.last_seq, summary.read_seq, summary.unread),
        (8, 8, 0)
    );
    assert_eq!(summary.title, "Team two");
    assert_eq!(listed.len(), 2);

    let without_carol = alice.remove_member(&chat_id, &carol_id).await.unwrap();
    assert_eq!(without_carol.members.len(), 2);
    let refused = carol.send_message(&chat_id, "c-1", "hi").await.unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(403), Some(ErrorCode::NotMember))
    );
    // Carol keeps what she could read, up to her removal.
    let kept = carol.history(&chat_id, None, None, None).await.unwrap();
    let last = kept.messages.last().unwrap();
    assert_eq!(
        (last.seq, last.event),
        (9, Some(SystemEvent::MemberRemoved))
    );
    assert_eq!(last.kind, MessageKind::System);

    let left = bob.remove_member(&chat_id, &bob_id).await.unwrap();
    assert_eq!(left.members.len(), 1);
    assert_eq!(
        bob.chat(&chat_id).await.unwrap_err().code(),
        Some(ErrorCode::NotMember)
    );

    alice.delete_chat(&chat_id).await.unwrap();
    let gone = alice.chat(&chat_id).await.unwrap_err();
    assert_eq!(
        (gone.status(), gone.code()),
        (Some(404), Some(ErrorCode::NotFound))
    );
}

#[tokio::test]
async fn a_session_resumes_across_a_node_restart_without_gaps_or_duplicates() {
    let mut node = Node::start().await;
    let (alice, _) = node.user("alice").await;
    let (_, bob_tokens) = node.user("bob").await;
    let chat_id = alice
        .create_group("Resume", std::slice::from_ref(&bob_tokens.user_id), None)
        .await
        .unwrap()
        .chat_id;
    let credentials =
        Credentials::token(&bob_tokens.access_token).with_refresh(&bob_tokens.refresh_token);
    let options = SessionOptions::new(&node.base, credentials)
        .backoff(Duration::from_millis(200), Duration::from_millis(400));
    let (session, mut stream) = Session::start(options).await.unwrap();
    assert_eq!(
        seqs_of(&mut stream, &chat_id, 1).await,
        [1],
        "replayed by sync"
    );
    alice.send_message(&chat_id, "a-2", "live").await.unwrap();
    assert_eq!(seqs_of(&mut stream, &chat_id, 1).await, [2]);

    node.stop().await;
    node.restart().await;
    // Sent before Bob's session is back: the resume replays them.
    alice
        .send_message(&chat_id, "a-3", "while away")
        .await
        .unwrap();
    alice
        .send_message(&chat_id, "a-4", "while away")
        .await
        .unwrap();
    let sent = session.send_message(&chat_id, "b-1", "back").await.unwrap();
    assert_eq!(sent.seq, 5);
    assert_eq!(
        session
            .send_message(&chat_id, "b-1", "back")
            .await
            .unwrap()
            .seq,
        5
    );
    assert_eq!(seqs_of(&mut stream, &chat_id, 3).await, [3, 4, 5]);
    alice
        .send_message(&chat_id, "a-6", "live again")
        .await
        .unwrap();
    assert_eq!(seqs_of(&mut stream, &chat_id, 1).await, [6]);
    assert_eq!(session.cursors().await.unwrap()[&chat_id], 6);
}

#[tokio::test]
async fn a_member_added_later_gets_the_earlier_history_before_live_messages() {
    let node = Node::start().await;
    let (alice, _) = node.user("alice").await;
    let (_, bob_tokens) = node.user("bob").await;
    let options = SessionOptions::new(&node.base, Credentials::token(&bob_tokens.access_token));
    let (_session, mut stream) = Session::start(options).await.unwrap();
    loop {
        let event = stream.next().await.unwrap();
        if matches!(event, Event::Frame(ServerFrame::Synced { .. })) {
            break;
        }
    }
    let chat_id = alice.create_group("Late", &[], None).await.unwrap().chat_id;
    for i in 2..=4 {
        alice
            .send_message(&chat_id, &format!("a-{i}"), "before bob")
            .await
            .unwrap();
    }
    alice
        .add_members(&chat_id, std::slice::from_ref(&bob_tokens.user_id))
        .await
        .unwrap();
    alice
        .send_message(&chat_id, "a-6", "welcome")
        .await
        .unwrap();
    // Live, Bob first hears of the chat at seq 5 (his member_added); 1..=4
    // come from history, in order, before it.
    assert_eq!(seqs_of(&mut stream, &chat_id, 6).await, [1, 2, 3, 4, 5, 6]);
}
