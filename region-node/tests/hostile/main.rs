//! What a hostile or careless client tries against a real region node,
//! over real HTTP and WebSocket connections: every case here once hurt a
//! region (a panic, a lockout, unbounded work or memory, a leak) and is
//! refused now with a clear error.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod edges;
mod files;
mod groups;
mod ids;
mod login;
mod presence;
mod slow;

use std::time::Duration;

use serde_json::Value;

/// The value of an unlabelled metric of the node at `base`.
pub async fn metric(base: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in {text}"))
}

/// Polls `metric` until it equals `want`; panics after `wait`.
pub async fn await_metric(base: &str, name: &str, want: f64, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now = metric(base, name).await;
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} is {now}, not {want}, after {wait:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts a protocol error body with `code` and a message.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// A raw request; answers (status, content type, JSON body or null).
pub async fn raw(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap();
    (
        status,
        kind,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}
