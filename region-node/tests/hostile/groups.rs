//! A group's member list is refused when it is over the limit, before any
//! per-member work: duplicates do not make a long list acceptable.

use reqwest::Method;
use serde_json::json;

use super::common::Node;
use super::common::ws::user;
use super::{assert_error, raw};

#[tokio::test]
async fn member_lists_over_the_limit_are_refused_however_many_repeat() {
    let node = Node::start().await;
    let c = node.client();
    let (_, alice) = user(&c, "alice").await;
    let (bob_id, _) = user(&c, "bob").await;
    let url = format!("{}/v1/chats", node.base);

    // 1,001 entries naming one user: over the limit of 1,000 entries.
    let repeated = vec![bob_id.clone(); 1001];
    let (status, _, body) = raw(
        Method::POST,
        url.clone(),
        Some(&alice),
        Some(json!({"kind": "group", "title": "t", "members": repeated})),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_error(&body, "too_large");

    // 80,000 short ids: refused at once.
    let many: Vec<String> = (0..80_000).map(|i| format!("u_{i}")).collect();
    let (status, _, body) = raw(
        Method::POST,
        url.clone(),
        Some(&alice),
        Some(json!({"kind": "group", "title": "t", "members": many})),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_error(&body, "too_large");

    // A list with a few repeats inside the limit is deduplicated.
    let (status, _, chat) = raw(
        Method::POST,
        url,
        Some(&alice),
        Some(json!({"kind": "group", "title": "t", "members": [bob_id, bob_id]})),
    )
    .await;
    assert_eq!(status, 201, "{chat}");
    assert_eq!(chat["members"].as_array().unwrap().len(), 2, "{chat}");
    node.stop().await;
}
