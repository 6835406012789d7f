//! Presence: every answer reaches the watcher (or the connection closes as
//! a slow consumer), subscriptions per connection are bounded, and only
//! co-members may watch a user.

use std::collections::HashSet;

use serde_json::json;

use super::common::http::post;
use super::common::ws::{Ws, user};
use super::common::{Node, fast_raw};

#[tokio::test]
async fn every_presence_answer_arrives_and_subscriptions_are_bounded() {
    let mut raw = fast_raw();
    raw.limits.outbound_queue = Some(16);
    raw.limits.presence_subscriptions = Some(120);
    raw.limits.registrations_per_address = Some(1000);
    let node = Node::start_with(raw).await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let mut members = Vec::new();
    for i in 0..100 {
        members.push(user(&c, &format!("member{i:03}")).await.0);
    }
    let (status, chat) = post(
        &node.base,
        &alice,
        "/v1/chats",
        json!({"kind": "group", "title": "crowd", "members": members}),
    )
    .await;
    assert_eq!(status, 201, "{chat}");

    let mut ws = Ws::connect(&node.base, &alice).await;
    ws.send(json!({"type": "presence_subscribe", "user_ids": members}))
        .await;
    let mut seen = HashSet::new();
    while seen.len() < members.len() {
        let frame = ws.next().await;
        if frame["type"] == "presence" {
            seen.insert(frame["user_id"].as_str().unwrap().to_owned());
        }
    }
    // 100 held; 30 more would pass the limit of 120: refused, nothing added.
    let more: Vec<String> = (0..30).map(|i| format!("u_more{i}")).collect();
    ws.send(json!({"type": "presence_subscribe", "user_ids": more}))
        .await;
    let (error, _) = ws.until("error").await;
    assert_eq!(error["code"], "too_large", "{error}");
    // Renewing what it holds stays within the limit.
    ws.send(json!({"type": "presence_subscribe", "user_ids": members[..10]}))
        .await;
    let mut again = 0;
    while again < 10 {
        let frame = ws.next().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "presence" {
            again += 1;
        }
    }
    node.stop().await;
}

#[tokio::test]
async fn only_co_members_may_watch_a_user() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, _) = user(&c, "bob").await;
    let (_, carol) = user(&c, "carol").await;
    let (status, _) = post(
        &node.base,
        &alice,
        "/v1/chats",
        json!({"kind": "direct", "peer": bob_id}),
    )
    .await;
    assert_eq!(status, 201);

    let mut stranger = Ws::connect(&node.base, &carol).await;
    stranger
        .send(json!({"type": "presence_subscribe", "user_ids": [bob_id]}))
        .await;
    let answer = stranger.next().await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some("forbidden")),
        "{answer}"
    );

    let mut friend = Ws::connect(&node.base, &alice).await;
    friend
        .send(json!({"type": "presence_subscribe", "user_ids": [bob_id]}))
        .await;
    let answer = friend.next().await;
    assert_eq!(answer["type"], "presence", "{answer}");
    assert_eq!(answer["user_id"], bob_id.as_str());
    node.stop().await;
}
