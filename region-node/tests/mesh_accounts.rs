//! Accounts across a real three-region mesh: unique names, logins and tokens in every region, refresh anywhere (rotated by the issuing region), logout everywhere.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::http::{get, post};
use common::mesh::Cluster;
use serde_json::{Value, json};

async fn eventually<F, Fut>(what: &str, mut f: F) -> (u16, Value)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<(u16, Value)>>,
{
    for _ in 0..600 {
        if let Some(r) = f().await {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out: {what}");
}

/// `PATCH /v1/me`.
async fn patch(base: &str, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .patch(format!("{base}/v1/me"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_across_regions() {
    let cluster = Cluster::start(&["a", "b", "c"], &[], 500).await;
    cluster.linked().await;
    let (a, b, c) = (cluster.base("a"), cluster.base("b"), cluster.base("c"));
    let names = ["alice", "bob", "carol", "dave", "erin", "frank"];
    for name in names {
        let body = json!({"username": name, "password": "correct horse"});
        let (s, v) = post(a, "", "/v1/auth/register", body.clone()).await;
        assert_eq!(s, 201, "{name}: {v}");
        let (s, v) = post(b, "", "/v1/auth/register", body).await;
        assert_eq!(s, 409, "{name} again at b: {v}");
    }
    let login = json!({"username": "alice", "password": "correct horse"});
    let (_, tokens) = eventually("login at c", || async {
        let r = post(c, "", "/v1/auth/login", login.clone()).await;
        (r.0 == 200).then_some(r)
    })
    .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // The token is good at b at once (device maybe not yet there).
    let (s, v) = get(b, &access, "/v1/devices").await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = get(a, &access, "/v1/me").await;
    assert_eq!(s, 200, "{v}");
    // Refreshed at a, the token is rotated by c, which issued it.
    let (s, v) = post(a, "", "/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(s, 200, "{v}");
    let rotated = v["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, refresh);
    let (s, v) = post(c, "", "/v1/auth/refresh", json!({"refresh_token": rotated})).await;
    assert_eq!(s, 200, "{v}");
    let access = v["access_token"].as_str().unwrap().to_owned();
    let newest = v["refresh_token"].as_str().unwrap().to_owned();
    // A garbled token is refused, wherever it claims to come from.
    let last = if newest.ends_with('x') { "y" } else { "x" };
    let forged = format!("{}{last}", &newest[..newest.len() - 1]);
    let (s, v) = post(a, "", "/v1/auth/refresh", json!({"refresh_token": forged})).await;
    assert_eq!(s, 401, "{v}");
    // Log out at a; the token dies at c once the news arrives.
    let (s, v) = post(a, &access, "/v1/auth/logout", json!({})).await;
    assert_eq!(s, 204, "{v}");
    eventually("revoked at c", || async {
        let r = get(c, &access, "/v1/devices").await;
        (r.0 == 401).then_some(r)
    })
    .await;

    // Profiles are edited in any region and converge: Bob changes his name
    // in a while his status changes in b.
    let (_, bob) = eventually("login bob at b", || async {
        let r = post(
            b,
            "",
            "/v1/auth/login",
            json!({"username": "bob", "password": "correct horse"}),
        )
        .await;
        (r.0 == 200).then_some(r)
    })
    .await;
    let (bob_id, bob_token) = (
        bob["user_id"].as_str().unwrap().to_owned(),
        bob["access_token"].as_str().unwrap().to_owned(),
    );
    let (s1, v1) = patch(a, &bob_token, json!({"display_name": "Bob B"})).await;
    let (s2, v2) = patch(b, &bob_token, json!({"status_text": "busy"})).await;
    assert_eq!((s1, s2), (200, 200), "{v1} {v2}");
    let (s3, v3) = patch(c, &bob_token, json!({"status_text": "x".repeat(141)})).await;
    assert_eq!(s3, 400, "{v3}");
    for base in [a, b, c] {
        eventually("the merged profile", || async {
            let r = get(base, &bob_token, &format!("/v1/users/{bob_id}")).await;
            (r.1["display_name"] == "Bob B" && r.1["status_text"] == "busy").then_some(r)
        })
        .await;
    }

    // a cut off from everyone: names owned elsewhere cannot be registered.
    cluster.cut("a", "b", true);
    cluster.cut("a", "c", true);
    let mut statuses = Vec::new();
    for name in ["gina", "hank", "ivan", "judy", "kate", "liam"] {
        let body = json!({"username": name, "password": "correct horse"});
        let (s, v) = post(a, "", "/v1/auth/register", body).await;
        assert!(s == 201 || s == 503, "{name}: {s} {v}");
        if s == 503 {
            assert_eq!(v["error"]["code"], "home_unreachable");
        }
        statuses.push(s);
    }
    assert!(statuses.contains(&503), "{statuses:?}");
}
