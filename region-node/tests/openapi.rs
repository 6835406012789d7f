//! The OpenAPI description served at `/v1/openapi.json` covers every route
//! the router serves, with every method, and only those.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::Node;

/// `(METHOD, path)` of every `.route(...)` in the router's source: the
/// router is the one list of routes, so the description is held to it.
fn routed() -> BTreeSet<(String, String)> {
    // Each file's code before its tests.
    let code = |path: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        text.split("#[cfg(test)]").next().unwrap().to_owned()
    };
    let src = code(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs"))
        + &code(concat!(env!("CARGO_MANIFEST_DIR"), "/src/metrics.rs"));
    let mut routes = BTreeSet::new();
    for (at, _) in src.match_indices(".route(") {
        let rest = &src[at + ".route(".len()..];
        let path = rest.split('"').nth(1).unwrap().to_owned();
        // The handlers run to the call's closing parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .unwrap()
            .0;
        for method in ["get", "post", "put", "patch", "delete"] {
            let call = format!("{method}(");
            let named = rest[..end].match_indices(&call).any(|(i, _)| {
                i == 0
                    || !rest.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && rest.as_bytes()[i - 1] != b'_'
            });
            if named {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_description_covers_every_route_and_method() {
    let node = Node::start().await;
    let spec: serde_json::Value = reqwest::get(format!("{}/v1/openapi.json", node.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let mut described = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routed = routed();
    assert!(
        routed.len() > 30,
        "the router's routes were found: {routed:?}"
    );
    let missing: Vec<_> = routed.difference(&described).collect();
    let extra: Vec<_> = described.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes without a description: {missing:?}"
    );
    assert!(extra.is_empty(), "described but not routed: {extra:?}");
    // Authenticated operations name the bearer scheme; errors have the body.
    let chat = &spec["paths"]["/v1/chats/{chat_id}"]["get"];
    assert_eq!(chat["security"][0]["bearer"], serde_json::json!([]));
    assert_eq!(
        chat["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
}
