//! The smaller edges: close codes for oversized frames, JSON bodies on
//! every error, strict queries and frames, token answers not cached,
//! per-address and per-device limits, names that display as what they
//! hold, and history pages of bounded size.

use futures::{SinkExt as _, StreamExt as _};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::common::http::{get, post};
use super::common::ws::{Ws, user};
use super::common::{Node, fast_raw};
use super::{assert_error, raw};

async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match ws.stream.next().await? {
            Ok(WsMessage::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn frames_over_the_limit_close_with_1009() {
    let node = Node::start().await;
    let (_, alice) = user(&node.client(), "alice").await;
    let mut ws = Ws::connect(&node.base, &alice).await;
    ws.stream
        .send(WsMessage::Binary(vec![0u8; 1536 * 1024].into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1009));
    let mut ws = Ws::connect(&node.base, &alice).await;
    let _ = ws
        .stream
        .send(WsMessage::Text("x".repeat(3 << 20).into()))
        .await;
    assert_eq!(close_code(&mut ws).await, Some(1009));
    node.stop().await;
}

#[tokio::test]
async fn every_error_has_a_json_body() {
    let node = Node::start().await;
    let (_, alice) = user(&node.client(), "alice").await;
    let base = &node.base;
    let cases = [
        (
            Method::GET,
            format!("{base}/v1/chats/c_x/messages?limit=1&limit=2"),
            400,
        ),
        (Method::GET, format!("{base}/v1/ws"), 400),
        (Method::PUT, format!("{base}/v1/chats"), 405),
        (Method::GET, format!("{base}/v1/nothing-here"), 404),
        (
            Method::GET,
            format!("{base}/v1/chats?{}", "q=1&".repeat(5000)),
            414,
        ),
    ];
    for (method, url, want) in cases {
        let (status, kind, body) = raw(method, url.clone(), Some(&alice), None).await;
        assert_eq!(status, want, "{url}");
        assert_eq!(kind, "application/json", "{url}");
        assert!(body["error"]["code"].is_string(), "{url}: {body}");
    }
    let (status, _, body) = raw(
        Method::GET,
        format!("{base}/v1/users?username=alice&extra=1"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "bad_request");
    node.stop().await;
}

#[tokio::test]
async fn tokens_are_not_cached_and_answers_carry_security_headers() {
    let node = Node::start().await;
    node.client()
        .register("alice", "test password", None)
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", node.base))
        .json(&json!({"username": "alice", "password": "test password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    let health = reqwest::get(format!("{}/healthz", node.base))
        .await
        .unwrap();
    assert_eq!(
        health.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    // A refresh token nobody issued is unauthorized, whatever it claims.
    for made_up in ["made.up", "local.nonsense", "nonsense"] {
        let (status, _, body) = raw(
            Method::POST,
            format!("{}/v1/auth/refresh", node.base),
            None,
            Some(json!({"refresh_token": made_up})),
        )
        .await;
        assert_eq!(status, 401, "{made_up}: {body}");
        assert_error(&body, "unauthorized");
    }
    node.stop().await;
}

#[tokio::test]
async fn removed_members_cannot_mark_read_and_frames_are_strict() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, bob) = user(&c, "bob").await;
    let (_, chat) = post(
        &node.base,
        &alice,
        "/v1/chats",
        json!({"kind": "group", "title": "g", "members": [bob_id]}),
    )
    .await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    let (status, _, _) = raw(
        Method::DELETE,
        format!("{}/v1/chats/{chat_id}/members/{bob_id}", node.base),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &node.base,
        &bob,
        &format!("/v1/chats/{chat_id}/read"),
        json!({"seq": 1}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_error(&body, "not_member");
    let mut ws = Ws::connect(&node.base, &bob).await;
    ws.send(json!({"type": "read", "chat_id": chat_id, "seq": 1}))
        .await;
    let answer = ws.next().await;
    assert_eq!(answer["code"], "not_member", "{answer}");

    let mut ws = Ws::connect(&node.base, &alice).await;
    ws.send(
        json!({"type": "send", "chat_id": chat_id, "client_msg_id": "m", "text": "t", "sneaky": 1}),
    )
    .await;
    let answer = ws.next().await;
    assert_eq!(answer["code"], "bad_request", "{answer}");
    node.stop().await;
}

#[tokio::test]
async fn names_that_hide_what_they_hold_are_refused() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    for title in ["\u{202E}txt.exe", "\u{200B}\u{2060}"] {
        let (status, body) = post(
            &node.base,
            &alice,
            "/v1/chats",
            json!({"kind": "group", "title": title, "members": []}),
        )
        .await;
        assert_eq!(status, 400, "{title:?}: {body}");
        let (status, _, body) = raw(
            Method::PATCH,
            format!("{}/v1/me", node.base),
            Some(&alice),
            Some(json!({"display_name": title})),
        )
        .await;
        assert_eq!(status, 400, "{title:?}: {body}");
    }
    node.stop().await;
}

#[tokio::test]
async fn registrations_connections_and_typing_are_limited() {
    let mut raw_config = fast_raw();
    raw_config.limits.registrations_per_address = Some(3);
    raw_config.limits.connections_per_device = Some(2);
    let node = Node::start_with(raw_config).await;
    let c = node.client();
    let (bob_id, _) = user(&c, "bob").await;
    let (_, alice) = user(&c, "alice").await;
    c.register("carol", "test password", None).await.unwrap();
    let err = c.register("dave", "test password", None).await.unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");

    let _one = Ws::connect(&node.base, &alice).await;
    let _two = Ws::connect(&node.base, &alice).await;
    let url = format!(
        "{}/v1/ws?token={alice}",
        node.base.replacen("http", "ws", 1)
    );
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
        panic!("not refused with an HTTP answer: {refused}")
    };
    assert_eq!(response.status(), 429);
    drop(_two);

    let (_, chat) = post(
        &node.base,
        &alice,
        "/v1/chats",
        json!({"kind": "direct", "peer": bob_id}),
    )
    .await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    let mut ws = Ws::connect(&node.base, &alice).await;
    for _ in 0..50 {
        ws.send(json!({"type": "typing", "chat_id": chat_id, "active": true}))
            .await;
    }
    let (error, _) = ws.until("error").await;
    assert_eq!(error["code"], "rate_limited", "{error}");
    node.stop().await;
}

#[tokio::test]
async fn history_pages_are_bounded_in_bytes() {
    let mut raw_config = fast_raw();
    raw_config.limits.sends_per_second = Some(1000);
    raw_config.limits.send_burst = Some(1000);
    let node = Node::start_with(raw_config).await;
    let (_, alice) = user(&node.client(), "alice").await;
    let (_, chat) = post(
        &node.base,
        &alice,
        "/v1/chats",
        json!({"kind": "group", "title": "big", "members": []}),
    )
    .await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    let text = "y".repeat(64 * 1024);
    for i in 0..100 {
        let (status, _) = post(
            &node.base,
            &alice,
            &format!("/v1/chats/{chat_id}/messages"),
            json!({"client_msg_id": format!("m{i}"), "text": text}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, page) = get(
        &node.base,
        &alice,
        &format!("/v1/chats/{chat_id}/messages?after_seq=0&limit=500"),
    )
    .await;
    assert_eq!(status, 200);
    let got = page["messages"].as_array().unwrap().len();
    assert!(
        (1..100).contains(&got),
        "a 6 MiB page was answered whole: {got}"
    );
    assert_eq!(page["has_more"], true);
    let all = super::common::http::all_history(&node.base, &alice, &chat_id).await;
    assert_eq!(all.len(), 101, "chat_created and every message, over pages");
    node.stop().await;
}
