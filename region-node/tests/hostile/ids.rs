//! Ids and usernames over the documented limits are refused at the edge,
//! before they reach the store (whose engine cannot hold a key over 64 KiB).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::common::Node;
use super::common::ws::{Ws, user};
use super::{assert_error, await_metric, raw};

const HUGE: usize = 70_000;

#[tokio::test]
async fn oversized_ids_in_http_requests_are_refused_before_the_store() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let huge = "u".repeat(HUGE);
    let base = &node.base;

    for path in ["/v1/auth/login", "/v1/auth/register"] {
        let (status, kind, body) = raw(
            Method::POST,
            format!("{base}{path}"),
            None,
            Some(json!({"username": huge, "password": "test password"})),
        )
        .await;
        assert_eq!((status, kind.as_str()), (400, "application/json"), "{path}");
        assert_error(&body, "bad_request");
    }
    let long_name = "n".repeat(1000);
    let (status, _, body) = raw(
        Method::GET,
        format!("{base}/v1/users?username={long_name}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "bad_request");

    let bodies = [
        json!({"kind": "direct", "peer": huge}),
        json!({"kind": "group", "title": "t", "members": [huge]}),
    ];
    for request in bodies {
        let (status, _, body) = raw(
            Method::POST,
            format!("{base}/v1/chats"),
            Some(&alice),
            Some(request),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_error(&body, "bad_request");
    }
    let long_id = "c".repeat(1000);
    for (method, path) in [
        (Method::GET, format!("/v1/chats/{long_id}")),
        (Method::GET, format!("/v1/chats/{long_id}/messages")),
        (Method::GET, format!("/v1/users/{long_id}")),
        (Method::DELETE, format!("/v1/devices/{long_id}")),
        (Method::POST, format!("/v1/chats/{long_id}/members")),
    ] {
        let (status, _, body) = raw(
            method,
            format!("{base}{path}"),
            Some(&alice),
            Some(json!({"user_ids": [huge]})),
        )
        .await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_error(&body, "bad_request");
    }
    // The node is whole: an ordinary login still works.
    c.login("alice", "test password", None).await.unwrap();
    node.stop().await;
}

#[tokio::test]
async fn oversized_ids_in_frames_are_refused_and_the_connection_stays_whole() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let huge = "c".repeat(HUGE);
    let mut ws = Ws::connect(&node.base, &alice).await;
    let frames = [
        json!({"type": "send", "chat_id": huge, "client_msg_id": "m1", "text": "hi"}),
        json!({"type": "typing", "chat_id": huge, "active": true}),
        json!({"type": "read", "chat_id": huge, "seq": 1}),
        json!({"type": "ack", "chat_id": huge, "seq": 1}),
        json!({"type": "presence_subscribe", "user_ids": [huge]}),
        json!({"type": "sync", "cursors": {huge.clone(): 0}}),
    ];
    for frame in frames {
        let kind = frame["type"].clone();
        ws.send(frame).await;
        let answer = ws.next().await;
        assert_eq!(answer["type"], "error", "{kind}: {answer}");
        assert_eq!(answer["code"], "bad_request", "{kind}: {answer}");
    }
    ws.send(json!({"type": "ping", "nonce": 7})).await;
    let (pong, _) = ws.until("pong").await;
    assert_eq!(pong["nonce"], 7);
    assert_eq!(
        super::metric(&node.base, "chatmesh_ws_connections").await,
        1.0
    );
    drop(ws);
    await_metric(
        &node.base,
        "chatmesh_ws_connections",
        0.0,
        Duration::from_secs(10),
    )
    .await;
    node.stop().await;
}
