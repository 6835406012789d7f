//! The resuming WebSocket session against a scripted server: resume after
//! a drop without gaps or duplicates, sends that survive a reconnect, token
//! refresh when the server refuses the access token, and keepalive pings.

#![allow(clippy::unwrap_used)]

mod fake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::ws::{Connection, Credentials, Event, Session, SessionError, SessionOptions, WsError};
use fake::FakeServer;
use protocol::chats::SendStatus;
use protocol::frames::{ClientFrame, ServerFrame};
use protocol::{ErrorCode, Hlc};

fn msg(chat: &str, seq: u64) -> ServerFrame {
    ServerFrame::Message(fake::history_message(chat, seq))
}

fn sync_of(cursors: &[(&str, u64)]) -> ClientFrame {
    ClientFrame::Sync {
        cursors: cursors.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect(),
    }
}

fn fast(base: &str, credentials: Credentials) -> SessionOptions {
    SessionOptions::new(base, credentials)
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .fill_gaps(false)
}

async fn next(stream: &mut client::ws::ChatStream) -> Event {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event in time")
        .unwrap()
}

/// The `seq`s of the next `count` message events, skipping other events.
async fn next_seqs(stream: &mut client::ws::ChatStream, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        if let Event::Frame(ServerFrame::Message(m)) = next(stream).await {
            seqs.push(m.seq);
        }
    }
    seqs
}

#[tokio::test]
async fn resumes_after_a_slow_consumer_close_without_gaps_or_duplicates() {
    let mut server = FakeServer::start().await;
    let options = fast(&server.base, Credentials::token("t1"))
        .cursors(BTreeMap::from([("old".to_owned(), 40)]));
    let start = tokio::spawn(Session::start(options));

    let mut first = server.accept().await;
    assert_eq!(first.token, "t1");
    first.ready().await;
    let (_session, mut stream) = start.await.unwrap().unwrap();
    assert!(matches!(next(&mut stream).await, Event::Connected(_)));
    assert_eq!(first.expect().await, sync_of(&[("old", 40)]));
    for seq in [1, 2, 2, 3] {
        first.send(msg("c", seq)).await;
    }
    first.send(msg("old", 40)).await;
    first
        .send(ServerFrame::Synced {
            cursors: BTreeMap::new(),
        })
        .await;
    assert_eq!(next_seqs(&mut stream, 3).await, [1, 2, 3]);
    first.close(4008, "slow consumer").await;

    let mut second = server.accept().await;
    second.ready().await;
    assert_eq!(second.expect().await, sync_of(&[("c", 3), ("old", 40)]));
    for seq in [2, 3, 4] {
        second.send(msg("c", seq)).await;
    }
    second
        .send(ServerFrame::Synced {
            cursors: BTreeMap::new(),
        })
        .await;
    second.send(msg("c", 5)).await;

    let mut events = Vec::new();
    loop {
        let event = next(&mut stream).await;
        let done = matches!(&event, Event::Frame(ServerFrame::Message(m)) if m.seq == 5);
        events.push(event);
        if done {
            break;
        }
    }
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Frame(ServerFrame::Message(m)) => Some(m.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, [4, 5]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Disconnected { reason } if reason.contains("4008")))
    );
    assert!(events.iter().any(|e| matches!(e, Event::Connected(_))));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Frame(ServerFrame::Synced { .. })))
    );
}

#[tokio::test]
async fn acks_carry_the_cursor_of_delivered_messages() {
    let mut server = FakeServer::start().await;
    let options =
        fast(&server.base, Credentials::token("t")).ack_interval(Duration::from_millis(20));
    let start = tokio::spawn(Session::start(options));
    let mut conn = server.accept().await;
    conn.ready().await;
    let (_session, mut stream) = start.await.unwrap().unwrap();
    assert!(matches!(conn.next_any().await, ClientFrame::Sync { .. }));
    for seq in [1, 2, 3, 5] {
        conn.send(msg("c", seq)).await;
    }
    assert_eq!(next_seqs(&mut stream, 3).await, [1, 2, 3]);
    // Acks only ever name delivered, gapless positions: never 5.
    let mut acked = 0;
    while acked < 3 {
        match conn.next_any().await {
            ClientFrame::Ack { chat_id, seq } => {
                assert_eq!(chat_id, "c");
                assert!(seq > acked && seq <= 3, "ack {seq} after {acked}");
                acked = seq;
            }
            ClientFrame::Ping { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_send_is_repeated_after_a_reconnect_and_answered_once() {
    let mut server = FakeServer::start().await;
    let start = tokio::spawn(Session::start(fast(&server.base, Credentials::token("t"))));
    let mut first = server.accept().await;
    first.ready().await;
    let (session, _stream) = start.await.unwrap().unwrap();
    assert!(matches!(first.expect().await, ClientFrame::Sync { .. }));

    let sender = session.clone();
    let send = tokio::spawn(async move { sender.send_message("c", "m-1", "hi").await });
    let frame = first.expect().await;
    assert!(matches!(&frame, ClientFrame::Send { client_msg_id, .. } if client_msg_id == "m-1"));
    drop(first);

    let mut second = server.accept().await;
    second.ready().await;
    assert!(matches!(second.expect().await, ClientFrame::Sync { .. }));
    assert_eq!(second.expect().await, frame, "the same send, same id");
    second
        .send(ServerFrame::Sent {
            client_msg_id: "m-1".into(),
            chat_id: "c".into(),
            seq: 7,
            hlc: Hlc::new(1_700_000_000_007, 0),
            status: SendStatus::Sent,
        })
        .await;
    let answer = send.await.unwrap().unwrap();
    assert_eq!((answer.seq, answer.status), (7, SendStatus::Sent));

    let refused = tokio::spawn(async move { session.send_message("c", "m-2", "hi").await });
    assert!(matches!(second.expect().await, ClientFrame::Send { .. }));
    second
        .send(ServerFrame::Error {
            code: ErrorCode::NotMember,
            message: "not a member".into(),
            reference: Some("m-2".into()),
        })
        .await;
    let error = refused.await.unwrap().unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::NotMember));
}

#[tokio::test]
async fn a_refused_token_is_refreshed_and_the_new_tokens_reported() {
    let mut server = FakeServer::start().await;
    let saved = Arc::new(Mutex::new(None));
    let sink = saved.clone();
    let credentials = Credentials::token("expired")
        .with_refresh(fake::REFRESH_TOKEN)
        .on_refresh(move |tokens| {
            *sink.lock().unwrap() = Some(tokens.refresh_token.clone());
        });
    let start = tokio::spawn(Session::start(fast(&server.base, credentials)));
    let mut conn = server.accept().await;
    assert_eq!(conn.token, fake::NEW_ACCESS_TOKEN);
    conn.ready().await;
    start.await.unwrap().unwrap();
    assert_eq!(
        server.refreshes.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(
        saved.lock().unwrap().as_deref(),
        Some(fake::NEW_REFRESH_TOKEN)
    );
}

#[tokio::test]
async fn a_refused_token_without_a_way_to_refresh_stops_the_session() {
    let server = FakeServer::start().await;
    let error = Session::start(fast(&server.base, Credentials::token("expired")))
        .await
        .unwrap_err();
    assert!(matches!(error, SessionError::Unauthorized(_)));

    let spent = Credentials::token("expired").with_refresh("spent");
    let error = Session::start(fast(&server.base, spent)).await.unwrap_err();
    assert!(matches!(error, SessionError::Unauthorized(_)), "{error}");

    let error = Connection::connect(&server.base, "expired")
        .await
        .unwrap_err();
    assert!(error.is_unauthorized());
    assert!(matches!(
        error,
        WsError::Rejected {
            status: Some(401),
            ..
        }
    ));
}

#[tokio::test]
async fn a_quiet_connection_is_kept_alive_with_pings() {
    let mut server = FakeServer::start().await;
    let options = fast(&server.base, Credentials::token("t"))
        .keepalive(Duration::from_millis(50), Duration::from_secs(10));
    let start = tokio::spawn(Session::start(options));
    let mut conn = server.accept().await;
    conn.ready().await;
    let (_session, mut stream) = start.await.unwrap().unwrap();
    assert!(matches!(conn.next_any().await, ClientFrame::Sync { .. }));
    let ClientFrame::Ping { nonce } = conn.next_any().await else {
        panic!("expected a ping");
    };
    conn.send(ServerFrame::Pong { nonce }).await;
    conn.send(ServerFrame::Pong {
        nonce: serde_json::json!("mine"),
    })
    .await;
    // The keepalive pong is swallowed; a pong the app asked for passes.
    assert!(matches!(next(&mut stream).await, Event::Connected(_)));
    assert!(matches!(
        next(&mut stream).await,
        Event::Frame(ServerFrame::Pong { .. })
    ));
}

#[tokio::test]
async fn a_plain_connection_speaks_typed_frames() {
    let mut server = FakeServer::start().await;
    let connect = tokio::spawn(async move {
        let base = server.base.clone();
        let handle = tokio::spawn(async move { Connection::connect(&base, "t").await });
        let mut conn = server.accept().await;
        conn.ready().await;
        (handle.await.unwrap().unwrap(), conn)
    });
    let (mut client, mut conn) = connect.await.unwrap();
    assert_eq!(client.ready().user_id, "u_1");
    let nonce = client.ping().await.unwrap();
    assert_eq!(
        conn.next_any().await,
        ClientFrame::Ping {
            nonce: nonce.clone()
        }
    );
    conn.send(ServerFrame::Pong {
        nonce: nonce.clone(),
    })
    .await;
    assert_eq!(client.next().await.unwrap(), ServerFrame::Pong { nonce });
    conn.close(1000, "bye").await;
    let closed = client.next().await.unwrap_err();
    assert!(matches!(
        closed,
        WsError::Closed {
            code: Some(1000),
            ..
        }
    ));
}

#[tokio::test]
async fn a_gap_after_sync_is_filled_from_history_in_order() {
    let mut server = FakeServer::start().await;
    let options = SessionOptions::new(&server.base, Credentials::token("t"))
        .cursors(BTreeMap::from([("c".to_owned(), 2)]))
        .only_chats(["c".to_owned()]);
    let start = tokio::spawn(Session::start(options));
    let mut conn = server.accept().await;
    conn.ready().await;
    let (_session, mut stream) = start.await.unwrap().unwrap();
    assert!(matches!(conn.expect().await, ClientFrame::Sync { .. }));
    conn.send(ServerFrame::Synced {
        cursors: BTreeMap::new(),
    })
    .await;
    // A live message far ahead of the cursor (e.g. after a missed frame):
    // 3..=700 come from history, in pages, before it.
    conn.send(msg("c", 701)).await;
    // Another chat's messages are tracked but not yielded.
    conn.send(msg("other", 1)).await;
    conn.send(msg("c", 702)).await;
    let seqs = next_seqs(&mut stream, 700).await;
    assert_eq!(seqs, (3..=702).collect::<Vec<_>>());
    let cursors = stream.session().cursors().await.unwrap();
    assert_eq!(
        cursors,
        BTreeMap::from([("c".to_owned(), 702), ("other".to_owned(), 1)])
    );
}
