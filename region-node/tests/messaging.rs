//! Messaging in one region, end to end with real WebSocket clients.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::http::{all_history, get, post};
use common::ws::{Ws, device, user};
use common::{Node, fast_raw};
use serde_json::{Value, json};

fn seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().map(|f| f["seq"].as_u64().unwrap()).collect()
}

async fn group(base: &str, token: &str, members: &[String]) -> String {
    let (status, chat) = post(
        base,
        token,
        "/v1/chats",
        json!({"kind": "group", "title": "test group", "members": members}),
    )
    .await;
    assert_eq!(status, 201, "{chat}");
    chat["chat_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_users_three_devices_get_every_message_once_in_one_order() {
    let node = Node::start().await;
    let c = node.client();
    let (alice, alice_phone) = user(&c, "alice").await;
    let alice_laptop = device(&c, "alice").await;
    let (bob, bob_phone) = user(&c, "bob").await;
    let (status, chat) = post(
        &node.base,
        &alice_phone,
        "/v1/chats",
        json!({"kind": "direct", "peer": bob}),
    )
    .await;
    assert_eq!(status, 201);
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    let (status, again) = post(
        &node.base,
        &bob_phone,
        "/v1/chats",
        json!({"kind": "direct", "peer": alice}),
    )
    .await;
    assert_eq!(
        (status, again["chat_id"].as_str()),
        (200, Some(chat_id.as_str())),
        "one direct chat per pair"
    );

    let mut a1 = Ws::connect(&node.base, &alice_phone).await;
    let mut a2 = Ws::connect(&node.base, &alice_laptop).await;
    let mut b1 = Ws::connect(&node.base, &bob_phone).await;
    for i in 0..20 {
        let (ws, who) = if i % 2 == 0 {
            (&mut a1, "a")
        } else {
            (&mut b1, "b")
        };
        let sent = ws
            .send_text(&chat_id, &format!("{who}-{i}"), &format!("hello {i}"))
            .await;
        assert_eq!(sent["type"], "sent", "{sent}");
        assert_eq!(sent["status"], "sent");
        assert_eq!(sent["seq"], i + 1);
    }
    let expected: Vec<u64> = (1..=20).collect();
    let mut orders = Vec::new();
    for ws in [&mut a1, &mut a2, &mut b1] {
        let got = ws.messages(&chat_id, 20).await;
        assert_eq!(seqs(&got), expected);
        orders.push(
            got.iter()
                .map(|m| m["client_msg_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
        );
        assert!(
            ws.try_next(Duration::from_millis(300))
                .await
                .is_none_or(|f| f["type"] != "message"),
            "no duplicates"
        );
    }
    assert!(orders.windows(2).all(|w| w[0] == w[1]));
    let (_, history) = get(
        &node.base,
        &bob_phone,
        &format!("/v1/chats/{chat_id}/messages?limit=100"),
    )
    .await;
    let texts: Vec<_> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["client_msg_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, orders[0]);
    node.stop().await;
}

#[tokio::test]
async fn concurrent_retried_sends_are_gapless_and_exactly_once() {
    let mut raw = fast_raw();
    raw.limits.sends_per_second = Some(10_000);
    raw.limits.send_burst = Some(10_000);
    // Each connection here receives every one of the 2,000 messages while it sends.
    raw.limits.outbound_queue = Some(16_384);
    let node = Node::start_with(raw).await;
    let c = node.client();
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..10 {
        let (id, token) = user(&c, &format!("sender{i}")).await;
        ids.push(id);
        tokens.push(token);
    }
    let (_, watcher) = user(&c, "watcher").await;
    let mut members = ids[1..].to_vec();
    let watcher_id = c.with_token(&watcher).me().await.unwrap().user_id;
    members.push(watcher_id);
    let chat = group(&node.base, &tokens[0], &members).await;
    let mut watch = Ws::connect(&node.base, &watcher).await;
    let watching = tokio::spawn({
        let chat = chat.clone();
        async move { watch.messages(&chat, 2000).await }
    });

    let mut tasks = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let (base, token, chat) = (node.base.clone(), token.clone(), chat.clone());
        tasks.push(tokio::spawn(async move {
            let mut ws = Ws::connect(&base, &token).await;
            // Pipeline: each message is sent twice with the same client_msg_id.
            for j in 0..200 {
                for _ in 0..2 {
                    ws.send(json!({"type": "send", "chat_id": chat, "client_msg_id": format!("{i}-{j}"), "text": "x"})).await;
                }
            }
            let mut acks = std::collections::HashMap::new();
            while acks.len() < 200 || acks.values().any(|n: &Vec<u64>| n.len() < 2) {
                let f = ws.next().await;
                if f["type"] == "sent" {
                    acks.entry(f["client_msg_id"].as_str().unwrap().to_owned()).or_insert_with(Vec::new).push(f["seq"].as_u64().unwrap());
                } else {
                    assert_ne!(f["type"], "error", "{f}");
                }
            }
            assert!(acks.values().all(|s| s[0] == s[1]), "a retry answers the original seq");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // seq 1 is the chat_created system message; 2000 text messages follow.
    let got = watching.await.unwrap();
    let s = seqs(&got);
    assert_eq!(s, (2..=2001).collect::<Vec<_>>());
    let distinct: HashSet<_> = got
        .iter()
        .map(|m| (m["sender_id"].to_string(), m["client_msg_id"].to_string()))
        .collect();
    assert_eq!(distinct.len(), 2000);
    let history = all_history(&node.base, &watcher, &chat).await;
    assert_eq!(history.len(), 2001);
    let live: Vec<_> = got.iter().map(|m| m["client_msg_id"].clone()).collect();
    let stored: Vec<_> = history[1..]
        .iter()
        .map(|m| m["client_msg_id"].clone())
        .collect();
    assert_eq!(live, stored, "same order live and in history");
    node.stop().await;
}

#[tokio::test]
async fn a_device_resumes_with_sync_without_gap_or_duplicate() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, bob) = user(&c, "bob").await;
    let chat = group(&node.base, &alice, &[bob_id]).await;
    let mut a = Ws::connect(&node.base, &alice).await;
    let mut b = Ws::connect(&node.base, &bob).await;
    for i in 0..5 {
        a.send_text(&chat, &format!("m{i}"), "before").await;
    }
    // Bob connected after the chat was created: live delivery starts at seq 2.
    let first = b.messages(&chat, 5).await;
    assert_eq!(seqs(&first), (2..=6).collect::<Vec<_>>());
    drop(b);
    for i in 5..15 {
        a.send_text(&chat, &format!("m{i}"), "while away").await;
    }
    let mut b = Ws::connect(&node.base, &bob).await;
    b.send(json!({"type": "sync", "cursors": {chat.clone(): 6}}))
        .await;
    // Live sends race with the replay.
    let sender = tokio::spawn({
        let (base, alice, chat) = (node.base.clone(), alice.clone(), chat.clone());
        async move {
            let mut a = Ws::connect(&base, &alice).await;
            for i in 15..25 {
                a.send_text(&chat, &format!("m{i}"), "live").await;
            }
        }
    });
    let (synced, replayed) = b.until("synced").await;
    let replayed: Vec<Value> = replayed
        .into_iter()
        .filter(|f| f["type"] == "message")
        .collect();
    let last_synced = synced["cursors"][&chat].as_u64().unwrap();
    assert_eq!(seqs(&replayed), (7..=last_synced).collect::<Vec<_>>());
    sender.await.unwrap();
    let rest = b.messages(&chat, (26 - last_synced) as usize).await;
    assert_eq!(seqs(&rest), (last_synced + 1..=26).collect::<Vec<_>>());
    assert!(
        b.try_next(Duration::from_millis(300))
            .await
            .is_none_or(|f| f["type"] != "message")
    );
    node.stop().await;
}

#[tokio::test]
async fn receipts_reach_the_sender_and_unread_counts_follow() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, bob) = user(&c, "bob").await;
    let chat = group(&node.base, &alice, std::slice::from_ref(&bob_id)).await;
    let mut a = Ws::connect(&node.base, &alice).await;
    let mut b = Ws::connect(&node.base, &bob).await;
    for i in 0..4 {
        a.send_text(&chat, &format!("r{i}"), "hi").await;
    }
    let (_, list) = get(&node.base, &bob, "/v1/chats").await;
    assert_eq!(list["chats"][0]["unread"], 5);
    assert_eq!(list["chats"][0]["last_seq"], 5);
    b.send(json!({"type": "ack", "chat_id": chat, "seq": 5}))
        .await;
    let receipt = loop {
        let f = a.next().await;
        if f["type"] == "receipt" && f["user_id"] == bob_id.as_str() {
            break f;
        }
    };
    assert_eq!(
        (
            receipt["delivered_seq"].as_u64(),
            receipt["read_seq"].as_u64()
        ),
        (Some(5), Some(0))
    );
    b.send(json!({"type": "read", "chat_id": chat, "seq": 3}))
        .await;
    let receipt = loop {
        let f = a.next().await;
        if f["type"] == "receipt" && f["user_id"] == bob_id.as_str() {
            break f;
        }
    };
    assert_eq!(receipt["read_seq"], 3);
    // read_seq never decreases.
    let (status, _) = post(
        &node.base,
        &bob,
        &format!("/v1/chats/{chat}/read"),
        json!({"seq": 1}),
    )
    .await;
    assert_eq!(status, 204);
    let (_, list) = get(&node.base, &bob, "/v1/chats").await;
    assert_eq!(
        (
            list["chats"][0]["read_seq"].as_u64(),
            list["chats"][0]["unread"].as_u64()
        ),
        (Some(3), Some(2))
    );
    // Beyond the last message: an error, nothing changes.
    let (status, body) = post(
        &node.base,
        &bob,
        &format!("/v1/chats/{chat}/read"),
        json!({"seq": 99}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (_, list) = get(&node.base, &alice, "/v1/chats").await;
    assert_eq!(
        list["chats"][0]["unread"], 0,
        "a sender has read their own messages"
    );
    node.stop().await;
}

#[tokio::test]
async fn presence_has_a_grace_period_and_typing_reaches_members() {
    let mut raw = fast_raw();
    raw.limits.presence_grace_secs = Some(1);
    let node = Node::start_with(raw).await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, bob) = user(&c, "bob").await;
    let chat = group(&node.base, &alice, std::slice::from_ref(&bob_id)).await;
    let mut a = Ws::connect(&node.base, &alice).await;
    a.send(json!({"type": "presence_subscribe", "user_ids": [bob_id]}))
        .await;
    let p = a.until("presence").await.0;
    assert_eq!(
        (p["online"].as_bool(), p["last_seen"].as_u64()),
        (Some(false), Some(0))
    );

    let b = Ws::connect(&node.base, &bob).await;
    assert_eq!(a.until("presence").await.0["online"], true);
    // A quick reconnect does not flap.
    drop(b);
    let b = Ws::connect(&node.base, &bob).await;
    assert!(
        a.try_next(Duration::from_millis(1500))
            .await
            .is_none_or(|f| f["type"] != "presence")
    );

    let mut b = b;
    b.send(json!({"type": "typing", "chat_id": chat, "active": true}))
        .await;
    let t = a.until("typing").await.0;
    assert_eq!(
        (t["user_id"].as_str(), t["active"].as_bool()),
        (Some(bob_id.as_str()), Some(true))
    );
    b.send(json!({"type": "typing", "chat_id": chat, "active": false}))
        .await;
    assert_eq!(a.until("typing").await.0["active"], false);

    drop(b);
    let p = a.until("presence").await.0;
    assert_eq!(p["online"], false);
    assert!(p["last_seen"].as_u64().unwrap() > 0);
    node.stop().await;
}

#[tokio::test]
async fn bad_frames_get_errors_and_change_nothing() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (_, mallory) = user(&c, "mallory").await;
    let (bob_id, _) = user(&c, "bob").await;
    let chat = group(&node.base, &alice, &[bob_id]).await;
    let mut a = Ws::connect(&node.base, &alice).await;
    a.send_raw("{not json".into()).await;
    assert_eq!(a.until("error").await.0["code"], "bad_request");
    a.send(json!({"type": "explode"})).await;
    assert_eq!(a.until("error").await.0["code"], "bad_request");
    let big = "x".repeat(64 * 1024 + 1);
    let e = a.send_text(&chat, "too-big", &big).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str(), e["ref"].as_str()),
        (Some("error"), Some("too_large"), Some("too-big"))
    );
    let mut m = Ws::connect(&node.base, &mallory).await;
    let e = m.send_text(&chat, "intruder", "hi").await;
    assert_eq!(e["code"], "not_member");
    let e = m.send_text("c_unknown", "lost", "hi").await;
    assert_eq!(e["code"], "not_found");
    // The connection still works and nothing was stored.
    let ok = a.send_text(&chat, "fine", "hello").await;
    assert_eq!(
        (ok["type"].as_str(), ok["seq"].as_u64()),
        (Some("sent"), Some(2))
    );
    a.send(json!({"type": "ping", "nonce": 7})).await;
    assert_eq!(a.until("pong").await.0["nonce"], 7);
    // Over the frame limit: close 1009.
    a.send_raw(format!(
        "{{\"type\":\"send\",\"chat_id\":\"{chat}\",\"client_msg_id\":\"huge\",\"text\":\"{}\"}}",
        "y".repeat(1024 * 1024 + 10)
    ))
    .await;
    assert_eq!(a.closed().await, Some(1009));
    let (_, history) = get(&node.base, &alice, &format!("/v1/chats/{chat}/messages")).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
    // Bad tokens are refused at the upgrade.
    let url = format!(
        "{}/v1/ws?token=garbage",
        node.base.replacen("http", "ws", 1)
    );
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    // A revoked device's connection is closed at once.
    let mut b2 = Ws::connect(&node.base, &mallory).await;
    c.with_token(&mallory).logout().await.unwrap();
    assert_eq!(b2.closed().await, Some(4001));
    node.stop().await;
}
