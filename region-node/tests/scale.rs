//! A group of 1,000 members, and a node SIGKILLed during a send burst.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::http::{all_history, get, post};
use common::ws::{Ws, user};
use common::{Node, fast_raw, free_port, spawn_binary, wait_healthy};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_1000_reaches_every_member_and_removal_stops_delivery() {
    let mut raw = fast_raw();
    raw.auth.login_failures_per_address = Some(10_000);
    raw.limits.registrations_per_address = Some(10_000);
    let node = Node::start_with(raw).await;
    let c = node.client();
    let mut users = Vec::new();
    for i in 0..1000 {
        users.push(user(&c, &format!("member{i:04}")).await);
    }
    let owner = users[0].1.clone();
    let ids: Vec<String> = users[1..].iter().map(|u| u.0.clone()).collect();
    let (status, chat) = post(
        &node.base,
        &owner,
        "/v1/chats",
        json!({"kind": "group", "title": "everyone", "members": ids}),
    )
    .await;
    assert_eq!(status, 201, "{chat}");
    assert_eq!(chat["members"].as_array().unwrap().len(), 1000);
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    // The 1,001st member is refused and nothing changes.
    let (_, extra) = user(&c, "one-too-many").await;
    let extra_id = c.with_token(&extra).me().await.unwrap().user_id;
    let (status, body) = post(
        &node.base,
        &owner,
        &format!("/v1/chats/{chat_id}/members"),
        json!({"user_ids": [extra_id]}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );

    let mut sockets = Vec::new();
    for (_, token) in &users {
        sockets.push(Ws::connect(&node.base, token).await);
    }
    let mut sender = Ws::connect(&node.base, &owner).await;
    let sent = sender
        .send_text(&chat_id, "hello-all", "hello everyone")
        .await;
    let seq = sent["seq"].as_u64().unwrap();
    let mut receivers = HashSet::new();
    for (i, ws) in sockets.iter_mut().enumerate() {
        let got = ws.messages(&chat_id, 1).await;
        assert_eq!(got[0]["seq"].as_u64(), Some(seq));
        receivers.insert(i);
    }
    assert_eq!(receivers.len(), 1000);

    // Remove member 1: they get their removal message and nothing after it.
    let removed = users[1].0.clone();
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/v1/chats/{chat_id}/members/{removed}",
            node.base
        ))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let removal = sockets[1].messages(&chat_id, 1).await;
    assert_eq!(removal[0]["event"], "member_removed");
    let removal_seq = removal[0]["seq"].as_u64().unwrap();
    let after = sender
        .send_text(&chat_id, "after-removal", "you should not see this")
        .await;
    assert_eq!(after["seq"].as_u64(), Some(removal_seq + 1));
    let others = sockets[2].messages(&chat_id, 2).await;
    assert_eq!(others[1]["seq"].as_u64(), Some(removal_seq + 1));
    while let Some(frame) = sockets[1].try_next(std::time::Duration::from_secs(1)).await {
        let late = frame["type"] == "message" && frame["seq"].as_u64() > Some(removal_seq);
        assert!(!late, "removed member got {frame}");
    }
    let (status, history) = get(
        &node.base,
        &users[1].1,
        &format!("/v1/chats/{chat_id}/messages?limit=500"),
    )
    .await;
    assert_eq!(status, 200);
    let last = history["messages"].as_array().unwrap().last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(last, removal_seq, "history stops at the removal");
    let e = sockets[1].send_text(&chat_id, "still-here", "hi").await;
    assert_eq!(e["code"], "not_member");
    node.stop().await;
}

#[tokio::test]
async fn every_acknowledged_send_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n[limits]\nsends_per_second = 100000\nsend_burst = 100000\n").unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let args = [
        "--listen",
        listen.as_str(),
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let mut child = spawn_binary(&args, &[], dir.path());
    let base = format!("http://{listen}");
    wait_healthy(&base).await;
    let c = client::Client::new(&base).unwrap();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, _) = user(&c, "bob").await;
    let (_, chat) = post(
        &base,
        &alice,
        "/v1/chats",
        json!({"kind": "group", "title": "burst", "members": [bob_id]}),
    )
    .await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();

    let mut ws = Ws::connect(&base, &alice).await;
    for i in 0..5000 {
        ws.send(json!({"type": "send", "chat_id": chat_id, "client_msg_id": format!("k{i}"), "text": "burst"})).await;
    }
    let mut acked = Vec::new();
    while acked.len() < 300 {
        let f = ws.next().await;
        if f["type"] == "sent" {
            acked.push((
                f["client_msg_id"].as_str().unwrap().to_owned(),
                f["seq"].as_u64().unwrap(),
            ));
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-burst
    child.wait().unwrap();
    // Acks already in flight when the process died count too.
    while let Some(f) = ws.stream_next_text().await {
        if f["type"] == "sent" {
            acked.push((
                f["client_msg_id"].as_str().unwrap().to_owned(),
                f["seq"].as_u64().unwrap(),
            ));
        }
    }

    let mut child = spawn_binary(&args, &[], dir.path());
    wait_healthy(&base).await;
    let history = all_history(&base, &alice, &chat_id).await;
    let seqs: Vec<u64> = history.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gapless after restart"
    );
    let stored: std::collections::HashMap<String, u64> = history
        .iter()
        .map(|m| {
            (
                m["client_msg_id"].as_str().unwrap().to_owned(),
                m["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stored.len(), history.len(), "each message once");
    for (id, seq) in &acked {
        assert_eq!(
            stored.get(id),
            Some(seq),
            "acknowledged {id} at {seq} is in history"
        );
    }
    assert!(common::terminate(&mut child).success());
}
