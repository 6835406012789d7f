//! A client that never reads is disconnected within a bounded time: its
//! connection stops counting and its user goes offline, though the client
//! never reads the close.

use std::time::Duration;

use serde_json::json;

use super::await_metric;
use super::common::http::post;
use super::common::ws::{Ws, user};
use super::common::{Node, fast_raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off_and_goes_offline() {
    let mut raw = fast_raw();
    raw.limits.outbound_queue = Some(16);
    raw.limits.sends_per_second = Some(10_000);
    raw.limits.send_burst = Some(10_000);
    raw.limits.presence_grace_secs = Some(0);
    let node = Node::start_with(raw).await;
    let c = node.client();
    let (victim_id, victim) = user(&c, "victim").await;
    let (_, sender) = user(&c, "sender").await;
    let (_, watcher) = user(&c, "watcher").await;
    let group = |token: String, title: &'static str| {
        let (base, victim_id) = (node.base.clone(), victim_id.clone());
        async move {
            let (status, chat) = post(
                &base,
                &token,
                "/v1/chats",
                json!({"kind": "group", "title": title, "members": [victim_id]}),
            )
            .await;
            assert_eq!(status, 201, "{chat}");
            chat["chat_id"].as_str().unwrap().to_owned()
        }
    };
    let flood = group(sender.clone(), "flood").await;
    group(watcher.clone(), "quiet").await;

    // Connected, and never reads again.
    let _victim = Ws::connect(&node.base, &victim).await;
    let mut watch = Ws::connect(&node.base, &watcher).await;
    watch
        .send(json!({"type": "presence_subscribe", "user_ids": [victim_id]}))
        .await;
    let (online, _) = watch.until("presence").await;
    assert_eq!(online["online"], true, "{online}");

    let text = "x".repeat(60 * 1024);
    for i in 0..400 {
        let (status, body) = post(
            &node.base,
            &sender,
            &format!("/v1/chats/{flood}/messages"),
            json!({"client_msg_id": format!("m{i}"), "text": text}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    await_metric(
        &node.base,
        "chatmesh_ws_connections",
        1.0,
        Duration::from_secs(30),
    )
    .await;
    let (offline, _) = watch.until("presence").await;
    assert_eq!(offline["online"], false, "{offline}");
    node.stop().await;
}
