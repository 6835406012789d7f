//! Accounts and devices end to end, through the SDK against a real node.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Node, fast_raw};
use protocol::ErrorCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn raw_post(node: &Node, path: &str, body: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", node.base))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn assert_error(value: &serde_json::Value, code: &str) {
    assert_eq!(value["error"]["code"], code, "{value}");
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{value}"
    );
}

#[tokio::test]
async fn register_login_me_devices_and_profiles() {
    let node = Node::start().await;
    let anon = node.client();
    let alice_id = anon
        .register("alice", PASSWORD, Some("Alice"))
        .await
        .unwrap();
    let bob_id = anon.register("bob", PASSWORD, None).await.unwrap();
    assert_ne!(alice_id, bob_id);

    let phone = anon.login("alice", PASSWORD, Some("phone")).await.unwrap();
    let laptop = anon.login("alice", PASSWORD, Some("laptop")).await.unwrap();
    assert_eq!(phone.user_id, alice_id);
    assert_ne!(
        phone.device_id, laptop.device_id,
        "each login is a new device"
    );
    assert!(phone.expires_in > 0);

    let alice = anon.with_token(&phone.access_token);
    let me = alice.me().await.unwrap();
    assert_eq!(
        (
            me.user_id.as_str(),
            me.username.as_str(),
            me.display_name.as_str()
        ),
        (alice_id.as_str(), "alice", "Alice")
    );
    assert_eq!(me.home_region, "local");

    let devices = alice.devices().await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.current).count(), 1);
    assert!(
        devices
            .iter()
            .any(|d| d.current && d.device_id == phone.device_id && d.name == "phone")
    );

    let bob = alice.user(&bob_id).await.unwrap();
    assert_eq!(
        (bob.username.as_str(), bob.display_name.as_str()),
        ("bob", "bob")
    );
    assert_eq!(alice.user_by_username("bob").await.unwrap().user_id, bob_id);
    assert_eq!(
        alice.user("u_nobody").await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        alice.user_by_username("nobody").await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        anon.user(&bob_id).await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized)
    );
    node.stop().await;
}

#[tokio::test]
async fn bad_registrations_are_refused_and_write_nothing() {
    let node = Node::start().await;
    let cases = [
        ("{\"username\": \"carol\", \"password\": ", "bad_request"),
        ("not json at all", "bad_request"),
        ("{\"password\": \"long enough\"}", "bad_request"),
        ("{\"username\": \"carol\"}", "bad_request"),
        (
            "{\"username\": 7, \"password\": \"long enough\"}",
            "bad_request",
        ),
        (
            "{\"username\": \"ca\", \"password\": \"long enough\"}",
            "bad_request",
        ),
        (
            &json!({"username": "c".repeat(33), "password": "long enough"}).to_string(),
            "bad_request",
        ),
        (
            "{\"username\": \"Carol\", \"password\": \"long enough\"}",
            "bad_request",
        ),
        (
            "{\"username\": \"car ol\", \"password\": \"long enough\"}",
            "bad_request",
        ),
        (
            "{\"username\": \"carol!\", \"password\": \"long enough\"}",
            "bad_request",
        ),
        (
            "{\"username\": \"carol\", \"password\": \"short\"}",
            "bad_request",
        ),
        (
            "{\"username\": \"carol\", \"password\": \"long enough\", \"display_name\": \"   \"}",
            "bad_request",
        ),
    ];
    for (body, code) in cases {
        let (status, value) = raw_post(&node, "/v1/auth/register", body).await;
        assert_eq!(status, 400, "{body}: {value}");
        assert_error(&value, code);
    }
    // Nothing was half-written: carol does not exist and can be registered cleanly.
    let (status, value) = raw_post(
        &node,
        "/v1/auth/login",
        &json!({"username": "carol", "password": "long enough"}).to_string(),
    )
    .await;
    assert_eq!(status, 401);
    assert_error(&value, "unauthorized");
    node.client()
        .register("carol", PASSWORD, None)
        .await
        .unwrap();

    // Duplicate: 409, and the first account keeps its password.
    let err = node
        .client()
        .register("carol", "another password", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some(ErrorCode::Conflict))
    );
    node.client().login("carol", PASSWORD, None).await.unwrap();
    let err = node
        .client()
        .login("carol", "another password", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some(ErrorCode::Unauthorized))
    );

    // Too large a body.
    let huge = json!({"username": "dave", "password": "x".repeat(2 * 1024 * 1024)}).to_string();
    let (status, value) = raw_post(&node, "/v1/auth/register", &huge).await;
    assert_eq!(status, 413);
    assert_error(&value, "too_large");

    // Unknown endpoint and wrong method keep the error shape.
    let (status, value) = raw_post(&node, "/v1/nowhere", "{}").await;
    assert_eq!(status, 404);
    assert_error(&value, "not_found");
    node.stop().await;
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_yield_one_account() {
    let node = Node::start().await;
    let attempts = (0..12).map(|i| {
        let client = node.client();
        async move {
            client
                .register("eve", &format!("password number {i}"), None)
                .await
        }
    });
    let results = futures_join_all(attempts).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.code(), Some(ErrorCode::Conflict));
    }
    node.stop().await;
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn tokens_are_refused_when_missing_forged_revoked_or_expired() {
    let mut raw = fast_raw();
    raw.auth.access_token_ttl_secs = Some(1);
    let node = Node::start_with(raw).await;
    let anon = node.client();
    anon.register("frank", PASSWORD, None).await.unwrap();

    assert_eq!(
        anon.me().await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        anon.with_token("garbage").me().await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized)
    );

    // Revoked by logout: refused at once, not at expiry.
    let a = anon.login("frank", PASSWORD, Some("a")).await.unwrap();
    let b = anon.login("frank", PASSWORD, Some("b")).await.unwrap();
    let c = anon.login("frank", PASSWORD, Some("c")).await.unwrap();
    anon.with_token(&a.access_token).logout().await.unwrap();
    assert_eq!(
        anon.with_token(&a.access_token)
            .me()
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        anon.refresh(&a.refresh_token).await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized)
    );

    // Revoked from another device.
    let on_b = anon.with_token(&b.access_token);
    on_b.revoke_device(&c.device_id).await.unwrap();
    assert_eq!(
        anon.with_token(&c.access_token)
            .me()
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        on_b.revoke_device(&c.device_id).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(on_b.devices().await.unwrap().len(), 1);

    // Expired.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let err = on_b.me().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some(ErrorCode::Unauthorized))
    );
    // ... and the refresh token still buys a fresh one.
    let fresh = anon.refresh(&b.refresh_token).await.unwrap();
    anon.with_token(&fresh.access_token).me().await.unwrap();
    node.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_device() {
    let node = Node::start().await;
    let anon = node.client();
    anon.register("grace", PASSWORD, None).await.unwrap();
    let first = anon.login("grace", PASSWORD, None).await.unwrap();
    let second = anon.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(second.device_id, first.device_id);
    assert_ne!(second.refresh_token, first.refresh_token);
    anon.with_token(&second.access_token).me().await.unwrap();

    // The old refresh token shows up again: someone copied it. Revoke the device.
    let err = anon.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    assert_eq!(
        anon.with_token(&second.access_token)
            .me()
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        anon.refresh(&second.refresh_token)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        anon.refresh("never issued").await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized)
    );
    let (status, value) = raw_post(&node, "/v1/auth/refresh", "{}").await;
    assert_eq!(status, 400);
    assert_error(&value, "bad_request");
    node.stop().await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_username_and_per_address() {
    let mut raw = fast_raw();
    raw.auth.login_failures_per_username = Some(3);
    raw.auth.login_failures_per_address = Some(5);
    raw.auth.login_throttle_window_secs = Some(600);
    let node = Node::start_with(raw).await;
    let anon = node.client();
    for name in ["henry", "ivy", "jack"] {
        anon.register(name, PASSWORD, None).await.unwrap();
    }
    for _ in 0..3 {
        let err = anon
            .login("henry", "wrong password", None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    }
    // henry is throttled from this address, even with the right password.
    let err = anon.login("henry", PASSWORD, None).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(429), Some(ErrorCode::RateLimited))
    );
    let client::ClientError::Api { retry_after, .. } = err else {
        panic!("not an API error")
    };
    assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After is set");
    // Others from the same address still log in; successes cost nothing.
    for _ in 0..4 {
        anon.login("ivy", PASSWORD, None).await.unwrap();
    }
    // Two more failures at other names exhaust the address's budget of five.
    for name in ["kim", "lou"] {
        let err = anon.login(name, "wrong password", None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    }
    let err = anon.login("jack", PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited));
    // ivy logged in from this address before: the address's budget does
    // not lock her out.
    anon.login("ivy", PASSWORD, None).await.unwrap();
    node.stop().await;
}

#[tokio::test]
async fn accounts_survive_a_restart() {
    let node = Node::start().await;
    let user_id = node
        .client()
        .register("kate", PASSWORD, None)
        .await
        .unwrap();
    let tokens = node.client().login("kate", PASSWORD, None).await.unwrap();
    let dir = node.stop().await;

    let node = Node::start_in(dir, fast_raw()).await;
    let kate = node.client().with_token(&tokens.access_token);
    assert_eq!(
        kate.me().await.unwrap().user_id,
        user_id,
        "token secret and device persist"
    );
    node.client().login("kate", PASSWORD, None).await.unwrap();
    node.stop().await;
}
