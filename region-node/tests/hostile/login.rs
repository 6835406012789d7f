//! Login throttling: the check and the count are one step, a throttled
//! (username, address) pair does not lock the user out from elsewhere, and
//! failures behind one address do not lock out its known users.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;

use super::common::{Node, fast_raw};

const PASSWORD: &str = "correct horse battery";

async fn login_from(node: &Node, from: [u8; 4], username: &str, password: &str) -> u16 {
    let http = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(from)))
        .build()
        .unwrap();
    http.post(format!("{}/v1/auth/login", node.base))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn node_with(per_pair: u32, per_address: u32) -> Node {
    let mut raw = fast_raw();
    raw.auth.login_failures_per_username = Some(per_pair);
    raw.auth.login_failures_per_address = Some(per_address);
    raw.auth.login_throttle_window_secs = Some(600);
    Node::start_with(raw).await
}

#[tokio::test]
async fn parallel_wrong_guesses_are_throttled() {
    let node = node_with(3, 1000).await;
    node.client()
        .register("henry", PASSWORD, None)
        .await
        .unwrap();
    let guesses = (0..40).map(|i| {
        let node = &node;
        async move { login_from(node, [127, 0, 0, 1], "henry", &format!("guess {i}")).await }
    });
    let statuses = futures::future::join_all(guesses).await;
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((unauthorized, throttled), (3, 37), "{statuses:?}");
    node.stop().await;
}

#[tokio::test]
async fn a_throttled_pair_does_not_lock_out_the_rightful_user() {
    let node = node_with(3, 1000).await;
    node.client()
        .register("henry", PASSWORD, None)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            login_from(&node, [127, 0, 0, 1], "henry", "wrong one").await,
            401
        );
    }
    assert_eq!(
        login_from(&node, [127, 0, 0, 1], "henry", "wrong one").await,
        429
    );
    // The attacker's address is throttled even with the right password ...
    assert_eq!(
        login_from(&node, [127, 0, 0, 1], "henry", PASSWORD).await,
        429
    );
    // ... but henry, elsewhere, logs in.
    assert_eq!(
        login_from(&node, [127, 0, 0, 2], "henry", PASSWORD).await,
        200
    );
    node.stop().await;
}

#[tokio::test]
async fn failures_behind_one_address_do_not_lock_out_its_known_users() {
    let node = node_with(3, 5).await;
    let anon = node.client();
    for name in ["ivy", "jack"] {
        anon.register(name, PASSWORD, None).await.unwrap();
    }
    // ivy has logged in from this address before.
    assert_eq!(
        login_from(&node, [127, 0, 0, 3], "ivy", PASSWORD).await,
        200
    );
    // Someone behind the same address guesses at many accounts.
    for i in 0..6 {
        let status = login_from(&node, [127, 0, 0, 3], &format!("nobody{i}"), "guess").await;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(
        login_from(&node, [127, 0, 0, 3], "ghost", "guess").await,
        429
    );
    // ivy still logs in from there.
    assert_eq!(
        login_from(&node, [127, 0, 0, 3], "ivy", PASSWORD).await,
        200
    );
    node.stop().await;
}
