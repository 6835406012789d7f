//! Presence: every answer reaches the watcher (or the connection closes as
//! a slow consumer), subscriptions per connection are bounded, and only
//! co-members and the user's own contacts may watch a user, never someone
//! the user blocks.

use std::collections::HashSet;

use serde_json::json;

use reqwest::Method;

use super::common::http::{call, post};
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

/// What one `presence_subscribe` for `target` answers first: `presence` or
/// the `error` code.
async fn watch(ws: &mut Ws, target: &str) -> String {
    ws.send(json!({"type": "presence_subscribe", "user_ids": [target]}))
        .await;
    let answer = ws.next().await;
    match answer["type"].as_str() {
        Some("presence") => "presence".to_owned(),
        Some("error") => answer["code"].as_str().unwrap().to_owned(),
        _ => panic!("unexpected answer {answer}"),
    }
}

#[tokio::test]
async fn a_users_contacts_may_watch_them_and_a_block_hides_them_from_anyone() {
    let node = Node::start().await;
    let c = node.client();
    let (bob_id, bob) = user(&c, "bob").await;
    let (dave_id, dave) = user(&c, "dave").await;
    let (erin_id, erin) = user(&c, "erin").await;
    let put = |token: String, path: String| {
        let base = node.base.clone();
        async move {
            let (status, body) = call(Method::PUT, &base, &token, &path, None).await;
            assert!(status < 300, "{path}: {status} {body}");
        }
    };
    // Dave adds Bob to his contacts: that does not let Dave watch Bob.
    put(dave.clone(), format!("/v1/contacts/{bob_id}")).await;
    let mut dave_ws = Ws::connect(&node.base, &dave).await;
    assert_eq!(watch(&mut dave_ws, &bob_id).await, "forbidden");
    // Bob adds Dave: now Dave may.
    put(bob.clone(), format!("/v1/contacts/{dave_id}")).await;
    assert_eq!(watch(&mut dave_ws, &bob_id).await, "presence");

    // Erin shares a group with Bob, so she may watch him, until Bob blocks her.
    let (status, chat) = post(
        &node.base,
        &erin,
        "/v1/chats",
        json!({"kind": "group", "title": "shared", "members": [bob_id]}),
    )
    .await;
    assert_eq!(status, 201, "{chat}");
    let mut erin_ws = Ws::connect(&node.base, &erin).await;
    assert_eq!(watch(&mut erin_ws, &bob_id).await, "presence");
    put(bob.clone(), format!("/v1/blocks/{erin_id}")).await;
    assert_eq!(watch(&mut erin_ws, &bob_id).await, "forbidden");
    // A block outweighs a contact too.
    put(bob.clone(), format!("/v1/contacts/{erin_id}")).await;
    assert_eq!(watch(&mut erin_ws, &bob_id).await, "forbidden");
    node.stop().await;
}
