//! Roles, mutes, profiles, contacts, blocks and account deletion on one
//! node: every bad input gets a clear error and changes nothing.

#![allow(clippy::unwrap_used)]

mod common;

use common::Node;
use common::http::{all_history, call, get, post};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse";

async fn user(base: &str, name: &str) -> (String, String) {
    let body = json!({"username": name, "password": PASSWORD});
    let (s, v) = post(base, "", "/v1/auth/register", body.clone()).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(base, "", "/v1/auth/login", body).await;
    assert_eq!(s, 200, "{v}");
    (
        v["user_id"].as_str().unwrap().to_owned(),
        v["access_token"].as_str().unwrap().to_owned(),
    )
}

/// Asserts a refusal with `status` and `code` and a message.
fn refused(r: &(u16, Value), status: u16, code: &str) {
    assert_eq!(r.0, status, "{}", r.1);
    assert_eq!(r.1["error"]["code"], code, "{}", r.1);
    assert!(
        r.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        r.1
    );
}

fn role(chat: &Value, user: &str) -> Value {
    chat["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user)
        .map_or(Value::Null, |m| m["role"].clone())
}

#[tokio::test]
async fn roles_and_mutes_refuse_bad_input() {
    let node = Node::start().await;
    let base = node.base.as_str();
    let (owner, owner_t) = user(base, "owner").await;
    let (ann, ann_t) = user(base, "ann").await;
    let (bob, bob_t) = user(base, "bob").await;
    let (_, zed_t) = user(base, "zed").await;
    let body = json!({"kind": "group", "title": "g", "members": [ann, bob]});
    let (s, chat) = post(base, &owner_t, "/v1/chats", body).await;
    assert_eq!(s, 201, "{chat}");
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    let path = |who: &str| format!("/v1/chats/{chat_id}/members/{who}");
    let patch = |token: &str, who: &str, body: Value| {
        let (token, path) = (token.to_owned(), path(who));
        async move { call(Method::PATCH, base, &token, &path, Some(body)).await }
    };

    // Bad input, each refused.
    refused(
        &patch(&ann_t, &bob, json!({"role": "admin"})).await,
        403,
        "forbidden",
    );
    refused(
        &patch(&ann_t, &ann, json!({"role": "owner"})).await,
        403,
        "forbidden",
    );
    refused(
        &patch(&zed_t, &bob, json!({"role": "admin"})).await,
        403,
        "not_member",
    );
    refused(
        &patch(&owner_t, "u_nobody", json!({"role": "admin"})).await,
        404,
        "not_found",
    );
    refused(
        &patch(&owner_t, &bob, json!({"role": "king"})).await,
        400,
        "bad_request",
    );
    refused(&patch(&owner_t, &bob, json!({})).await, 400, "bad_request");
    refused(
        &patch(&owner_t, &owner, json!({"role": "member"})).await,
        400,
        "bad_request",
    );
    // A plain member may not add members or rename.
    let r = post(
        base,
        &ann_t,
        &format!("/v1/chats/{chat_id}/members"),
        json!({"user_ids": [owner]}),
    )
    .await;
    refused(&r, 403, "forbidden");
    let r = call(
        Method::PATCH,
        base,
        &ann_t,
        &format!("/v1/chats/{chat_id}"),
        Some(json!({"title": "mine"})),
    )
    .await;
    refused(&r, 403, "forbidden");
    // Nothing changed: only the creation message, roles as created.
    let history = all_history(base, &owner_t, &chat_id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    let (_, now) = get(base, &owner_t, &format!("/v1/chats/{chat_id}")).await;
    assert_eq!(
        (role(&now, &ann), role(&now, &bob)),
        (json!("member"), json!("member"))
    );

    // Granted admin, Ann renames and removes Bob (a plain member), and
    // each role change is a system message with its own seq.
    let (s, v) = patch(&owner_t, &ann, json!({"role": "admin"})).await;
    assert_eq!((s, role(&v, &ann)), (200, json!("admin")), "{v}");
    let r = call(
        Method::PATCH,
        base,
        &ann_t,
        &format!("/v1/chats/{chat_id}"),
        Some(json!({"title": "ours"})),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = call(Method::DELETE, base, &ann_t, &path(&bob), None).await;
    assert_eq!(r.0, 200, "{}", r.1);
    // Ann may still not change roles, nor remove the owner.
    refused(
        &patch(&ann_t, &owner, json!({"role": "member"})).await,
        403,
        "forbidden",
    );
    let r = call(Method::DELETE, base, &ann_t, &path(&owner), None).await;
    refused(&r, 403, "forbidden");
    let (s, v) = patch(&owner_t, &ann, json!({"role": "member"})).await;
    assert_eq!((s, role(&v, &ann)), (200, json!("member")), "{v}");
    let events: Vec<Value> = all_history(base, &owner_t, &chat_id)
        .await
        .iter()
        .filter_map(|m| m.get("event").cloned())
        .collect();
    assert!(events.contains(&json!("admin_granted")), "{events:?}");
    assert!(events.contains(&json!("admin_revoked")), "{events:?}");

    // Mutes: members only, numbers only.
    let settings = format!("/v1/chats/{chat_id}/settings");
    let r = call(
        Method::PUT,
        base,
        &zed_t,
        &settings,
        Some(json!({"muted_until": 5})),
    )
    .await;
    refused(&r, 403, "not_member");
    let r = call(
        Method::PUT,
        base,
        &ann_t,
        &settings,
        Some(json!({"muted_until": "soon"})),
    )
    .await;
    refused(&r, 400, "bad_request");
    let r = call(
        Method::PUT,
        base,
        &ann_t,
        "/v1/chats/c_nope/settings",
        Some(json!({"muted_until": 5})),
    )
    .await;
    refused(&r, 404, "not_found");
    let (_, v) = get(base, &ann_t, &format!("/v1/chats/{chat_id}")).await;
    assert_eq!(v["muted_until"], 0, "{v}");
    let r = call(
        Method::PUT,
        base,
        &ann_t,
        &settings,
        Some(json!({"muted_until": 1_900_000_000_000u64})),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let (_, v) = get(base, &ann_t, &format!("/v1/chats/{chat_id}")).await;
    assert_eq!(v["muted_until"], 1_900_000_000_000u64, "{v}");
    let (_, v) = get(base, &ann_t, "/v1/chats").await;
    assert_eq!(v["chats"][0]["muted_until"], 1_900_000_000_000u64, "{v}");
    let (_, v) = get(base, &owner_t, "/v1/chats").await;
    assert_eq!(v["chats"][0]["muted_until"], 0, "a mute is per user: {v}");
    drop(bob_t);
}

#[tokio::test]
async fn profiles_contacts_blocks_and_deletion_refuse_bad_input() {
    let node = Node::start().await;
    let base = node.base.as_str();
    let (ann, ann_t) = user(base, "ann").await;
    let (bob, bob_t) = user(base, "bob").await;

    // Profiles.
    let me = |body: Value| {
        let ann_t = ann_t.clone();
        async move { call(Method::PATCH, base, &ann_t, "/v1/me", Some(body)).await }
    };
    for bad in [
        json!({"display_name": "evil\u{202E}gpj.exe"}),
        json!({"display_name": "\u{200B}\u{200B}"}),
        json!({"display_name": ""}),
        json!({"status_text": "\u{3164}"}),
        json!({"status_text": "x".repeat(141)}),
        json!({"avatar_media_id": "../../etc/passwd"}),
        json!({"avatar_media_id": "m".repeat(129)}),
        json!({"avatar": "https://example.com/a.png"}),
        json!({}),
    ] {
        refused(&me(bad.clone()).await, 400, "bad_request");
    }
    let (_, v) = get(base, &ann_t, "/v1/me").await;
    assert_eq!(
        (v["display_name"].as_str(), v["status_text"].as_str()),
        (Some("ann"), Some("")),
        "{v}"
    );
    let r = me(json!({"display_name": "Ann A", "status_text": "here", "avatar_media_id": "m_01"}))
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let (_, v) = get(base, &ann_t, "/v1/me").await;
    assert_eq!(
        (
            &v["display_name"],
            &v["status_text"],
            &v["avatar_media_id"],
            &v["home_region"]
        ),
        (
            &json!("Ann A"),
            &json!("here"),
            &json!("m_01"),
            &json!("local")
        ),
        "{v}"
    );

    // Contacts and blocks.
    for (path, code, status) in [
        (format!("/v1/contacts/{ann}"), "bad_request", 400),
        (format!("/v1/blocks/{ann}"), "bad_request", 400),
        ("/v1/contacts/u_nobody".to_owned(), "not_found", 404),
        ("/v1/blocks/u_nobody".to_owned(), "not_found", 404),
    ] {
        refused(
            &call(Method::PUT, base, &ann_t, &path, None).await,
            status,
            code,
        );
    }
    let (_, v) = get(base, &ann_t, "/v1/blocks").await;
    assert_eq!(v, json!({"blocks": []}));
    let (_, v) = get(base, &ann_t, "/v1/contacts").await;
    assert_eq!(v, json!({"contacts": []}));
    let r = call(
        Method::PUT,
        base,
        &ann_t,
        &format!("/v1/contacts/{bob}"),
        None,
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    let (_, v) = get(base, &ann_t, "/v1/contacts").await;
    assert_eq!(v["contacts"][0]["user_id"], bob.as_str(), "{v}");
    assert_eq!(v["contacts"][0]["online"], false, "{v}");

    // A direct chat, then Ann blocks Bob: his sends and a new open are
    // refused with `blocked`; Ann may still write to him.
    let (s, direct) = post(
        base,
        &bob_t,
        "/v1/chats",
        json!({"kind": "direct", "peer": ann}),
    )
    .await;
    assert_eq!(s, 201, "{direct}");
    let direct = direct["chat_id"].as_str().unwrap().to_owned();
    let msgs = format!("/v1/chats/{direct}/messages");
    let r = call(
        Method::PUT,
        base,
        &ann_t,
        &format!("/v1/blocks/{bob}"),
        None,
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    refused(
        &post(
            base,
            &bob_t,
            &msgs,
            json!({"client_msg_id": "b1", "text": "hi"}),
        )
        .await,
        403,
        "blocked",
    );
    refused(
        &post(
            base,
            &bob_t,
            "/v1/chats",
            json!({"kind": "direct", "peer": ann}),
        )
        .await,
        403,
        "blocked",
    );
    let mut ws = common::ws::Ws::connect(base, &bob_t).await;
    let frame = ws.send_text(&direct, "b2", "hi").await;
    assert_eq!(
        (frame["type"].as_str(), frame["code"].as_str()),
        (Some("error"), Some("blocked")),
        "{frame}"
    );
    let r = post(
        base,
        &ann_t,
        &msgs,
        json!({"client_msg_id": "a1", "text": "bye"}),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(all_history(base, &ann_t, &direct).await.len(), 1);
    let r = call(
        Method::DELETE,
        base,
        &ann_t,
        &format!("/v1/blocks/{bob}"),
        None,
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    let r = post(
        base,
        &bob_t,
        &msgs,
        json!({"client_msg_id": "b3", "text": "hi"}),
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);

    // Deletion: a wrong or missing password changes nothing.
    let r = call(
        Method::DELETE,
        base,
        &ann_t,
        "/v1/me",
        Some(json!({"password": "wrong horse"})),
    )
    .await;
    refused(&r, 403, "forbidden");
    let r = call(Method::DELETE, base, &ann_t, "/v1/me", Some(json!({}))).await;
    refused(&r, 400, "bad_request");
    let (s, v) = get(base, &ann_t, "/v1/me").await;
    assert_eq!((s, v["display_name"].as_str()), (200, Some("Ann A")), "{v}");
    let mut ann_ws = common::ws::Ws::connect(base, &ann_t).await;
    let r = call(
        Method::DELETE,
        base,
        &ann_t,
        "/v1/me",
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert!(ann_ws.closed().await.is_some());
    refused(&get(base, &ann_t, "/v1/me").await, 401, "unauthorized");
    let (s, v) = get(base, &bob_t, &format!("/v1/users/{ann}")).await;
    assert_eq!(
        (s, &v),
        (
            200,
            &json!({"user_id": ann, "username": "", "display_name": "", "deleted": true})
        )
    );
    let (_, v) = get(base, &bob_t, "/v1/users?username=ann").await;
    assert_eq!(v["error"]["code"], "not_found", "{v}");
    refused(
        &post(
            base,
            "",
            "/v1/auth/login",
            json!({"username": "ann", "password": PASSWORD}),
        )
        .await,
        401,
        "unauthorized",
    );
    refused(
        &post(
            base,
            "",
            "/v1/auth/register",
            json!({"username": "ann", "password": PASSWORD}),
        )
        .await,
        409,
        "conflict",
    );
    // Her message stays, from her id.
    let history = all_history(base, &bob_t, &direct).await;
    assert!(
        history
            .iter()
            .any(|m| m["sender_id"] == ann.as_str() && m["text"] == "bye")
    );
}
