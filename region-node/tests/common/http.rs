//! Raw JSON calls over HTTP with a bearer token, for tests that check
//! statuses and bodies as a client sees them.

#![allow(dead_code)]

use serde_json::Value;

/// `POST base+path` with a JSON body; answers (status, JSON body or null).
pub async fn post(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `GET base+path`; answers (status, JSON body or null).
pub async fn get(base: &str, token: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Every message of `chat` the token's user may read, paging forward.
pub async fn all_history(base: &str, token: &str, chat: &str) -> Vec<Value> {
    let mut history = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = get(
            base,
            token,
            &format!("/v1/chats/{chat}/messages?after_seq={after}&limit=500"),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let msgs = page["messages"].as_array().cloned().unwrap_or_default();
        let Some(last) = msgs.last().and_then(|m| m["seq"].as_u64()) else {
            return history;
        };
        after = last;
        history.extend(msgs);
    }
}

/// Any method with an optional JSON body; answers (status, JSON body or null).
pub async fn call(
    method: reqwest::Method,
    base: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}
