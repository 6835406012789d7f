//! Roles, blocks, mutes, contacts, profiles and account deletion across a
//! real three-region mesh: a role change made through one region is a
//! system message in every region's history and pushed live to members
//! connected anywhere; a block made in region a refuses a direct send made
//! in region c; deleting an account in one region revokes its devices and
//! closes its connections in all of them.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::http::{all_history, call, get, post};
use common::mesh::Cluster;
use common::ws::Ws;
use reqwest::Method;
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

/// Logs `name` in at `base` once the account has reached it; (user_id, token).
async fn login(base: &str, name: &str) -> (String, String) {
    let body = json!({"username": name, "password": "correct horse"});
    let (_, v) = eventually(&format!("login {name} at {base}"), || async {
        let r = post(base, "", "/v1/auth/login", body.clone()).await;
        (r.0 == 200).then_some(r)
    })
    .await;
    (
        v["user_id"].as_str().unwrap().to_owned(),
        v["access_token"].as_str().unwrap().to_owned(),
    )
}

/// Waits on `ws` for a `message` frame of `chat` with `event`.
async fn system_frame(ws: &mut Ws, chat: &str, event: &str) -> Value {
    loop {
        let frame = ws.next().await;
        if frame["type"] == "message" && frame["chat_id"] == chat && frame["event"] == event {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_blocks_and_deletion_hold_in_every_region() {
    let cluster = Cluster::start(&["a", "b", "c"], &[], 500).await;
    cluster.linked().await;
    let (a, b, c) = (cluster.base("a"), cluster.base("b"), cluster.base("c"));
    for name in ["alice", "bob", "carol"] {
        let body = json!({"username": name, "password": "correct horse"});
        let (s, v) = post(a, "", "/v1/auth/register", body).await;
        assert_eq!(s, 201, "{name}: {v}");
    }
    let (alice, alice_a) = login(a, "alice").await;
    let (bob, bob_b) = login(b, "bob").await;
    let (carol, carol_c) = login(c, "carol").await;

    // --- Roles: a group homed in b, changed by its owner through c. ---
    let (alice_c_id, alice_c) = login(c, "alice").await;
    assert_eq!(alice_c_id, alice);
    let body =
        json!({"kind": "group", "title": "crew", "members": [bob, carol], "home_region": "b"});
    let (s, group) = post(a, &alice_a, "/v1/chats", body).await;
    assert_eq!(s, 201, "{group}");
    let group = group["chat_id"].as_str().unwrap().to_owned();
    // Carol, a plain member, may not change roles.
    let (s, v) = call(
        Method::PATCH,
        c,
        &carol_c,
        &format!("/v1/chats/{group}/members/{bob}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let mut carol_ws = Ws::connect(c, &carol_c).await;
    let (s, v) = call(
        Method::PATCH,
        c,
        &alice_c,
        &format!("/v1/chats/{group}/members/{bob}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user_id"] == bob.as_str() && m["role"] == "admin"),
        "{v}"
    );
    // Pushed live to Carol in c, and in every region's history.
    let frame = system_frame(&mut carol_ws, &group, "admin_granted").await;
    assert_eq!(frame["user_ids"], json!([bob]));
    let seq = frame["seq"].as_u64().unwrap();
    for (base, token) in [(a, &alice_a), (b, &bob_b), (c, &carol_c)] {
        eventually("the role change in history", || async {
            let history = all_history(base, token, &group).await;
            history
                .iter()
                .any(|m| m["seq"] == seq && m["event"] == "admin_granted")
                .then_some((200, Value::Null))
        })
        .await;
    }
    // Bob, now an admin, renames the group from a and adds nobody new.
    let (s, v) = call(
        Method::PATCH,
        a,
        &login(a, "bob").await.1,
        &format!("/v1/chats/{group}"),
        Some(json!({"title": "crew 2"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Alice hands the group to Bob; she stays on as an admin.
    let (s, v) = call(
        Method::PATCH,
        a,
        &alice_a,
        &format!("/v1/chats/{group}/members/{bob}"),
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let frame = system_frame(&mut carol_ws, &group, "owner_changed").await;
    assert_eq!(frame["sender_id"], alice.as_str());

    // --- Mute, per user, seen in every region. ---
    let (s, v) = call(
        Method::PUT,
        c,
        &carol_c,
        &format!("/v1/chats/{group}/settings"),
        Some(json!({"muted_until": 4_102_444_800_000u64})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (carol_a_id, carol_a) = login(a, "carol").await;
    assert_eq!(carol_a_id, carol);
    eventually("the mute in a", || async {
        let r = get(a, &carol_a, "/v1/chats").await;
        r.1["chats"]
            .as_array()?
            .iter()
            .any(|chat| {
                chat["chat_id"] == group.as_str() && chat["muted_until"] == 4_102_444_800_000u64
            })
            .then_some(r)
    })
    .await;
    let (_, v) = get(a, &alice_a, &format!("/v1/chats/{group}")).await;
    assert_eq!(v["muted_until"], 0, "Alice has not muted it: {v}");

    // --- Blocks: Carol and Bob talk; Bob blocks Carol in a; Carol's next
    // direct send in c is refused, and so is opening the chat again. ---
    let (s, direct) = post(
        c,
        &carol_c,
        "/v1/chats",
        json!({"kind": "direct", "peer": bob}),
    )
    .await;
    assert!(s == 200 || s == 201, "{direct}");
    let direct = direct["chat_id"].as_str().unwrap().to_owned();
    let send = |key: &str| json!({"client_msg_id": key, "text": "hello bob"});
    let (s, v) = post(
        c,
        &carol_c,
        &format!("/v1/chats/{direct}/messages"),
        send("m1"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let bob_a = login(a, "bob").await.1;
    let (s, v) = call(Method::PUT, a, &bob_a, &format!("/v1/blocks/{carol}"), None).await;
    assert_eq!(s, 204, "{v}");
    let mut attempt = 0;
    let (_, v) = eventually("a direct send refused in c", || {
        attempt += 1;
        let key = format!("try-{attempt}");
        let carol_c = carol_c.clone();
        let direct = direct.clone();
        async move {
            let r = post(
                c,
                &carol_c,
                &format!("/v1/chats/{direct}/messages"),
                send(&key),
            )
            .await;
            (r.0 == 403).then_some(r)
        }
    })
    .await;
    assert_eq!(v["error"]["code"], "blocked", "{v}");
    let (s, v) = post(
        c,
        &carol_c,
        "/v1/chats",
        json!({"kind": "direct", "peer": bob}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("blocked")),
        "{v}"
    );
    // The blocked sends left nothing in the chat, in any region.
    for (base, token) in [(b, &bob_b), (c, &carol_c)] {
        let history = all_history(base, token, &direct).await;
        assert!(
            history.iter().all(|m| m["client_msg_id"] == "m1"),
            "{history:?}"
        );
    }
    // In the group they share, Carol's messages are still delivered.
    let (s, v) = post(
        c,
        &carol_c,
        &format!("/v1/chats/{group}/messages"),
        send("g1"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = get(b, &bob_b, "/v1/blocks").await;
    eventually("the block listed in b", || async {
        let r = get(b, &bob_b, "/v1/blocks").await;
        (r.1["blocks"][0]["user_id"] == carol.as_str()).then_some(r)
    })
    .await;
    drop(v);
    // Unblocked in b, Carol may send again in c.
    let (s, v) = call(
        Method::DELETE,
        b,
        &bob_b,
        &format!("/v1/blocks/{carol}"),
        None,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    eventually("a direct send accepted again in c", || async {
        let r = post(
            c,
            &carol_c,
            &format!("/v1/chats/{direct}/messages"),
            send("m2"),
        )
        .await;
        (r.0 == 200).then_some(r)
    })
    .await;

    // --- Contacts and profiles, mesh-wide. ---
    let (s, v) = call(
        Method::PUT,
        a,
        &bob_a,
        &format!("/v1/contacts/{carol}"),
        None,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = call(
        Method::PATCH,
        b,
        &carol_c,
        "/v1/me",
        Some(json!({"display_name": "Carol C", "avatar_media_id": "m_0123abc"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    eventually(
        "Carol among Bob's contacts in c, with her profile",
        || async {
            let r = get(c, &bob_b, "/v1/contacts").await;
            let first = r.1["contacts"].get(0)?;
            (first["user_id"] == carol.as_str()
                && first["display_name"] == "Carol C"
                && first["avatar_media_id"] == "m_0123abc"
                && first["online"] == true)
                .then_some(r)
        },
    )
    .await;
    eventually(
        "GET /v1/me in c shows the edit and the home region",
        || async {
            let r = get(c, &carol_c, "/v1/me").await;
            (r.1["display_name"] == "Carol C" && r.1["home_region"] == "a").then_some(r)
        },
    )
    .await;

    // --- Account deletion in a: every device everywhere. ---
    let alice_b = login(b, "alice").await.1;
    let mut alice_ws_b = Ws::connect(b, &alice_b).await;
    let mut alice_ws_c = Ws::connect(c, &alice_c).await;
    let (s, v) = call(
        Method::DELETE,
        a,
        &alice_a,
        "/v1/me",
        Some(json!({"password": "wrong horse"})),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (s, _) = get(a, &alice_a, "/v1/me").await;
    assert_eq!(s, 200, "a wrong password changes nothing");
    let (s, v) = call(
        Method::DELETE,
        a,
        &alice_a,
        "/v1/me",
        Some(json!({"password": "correct horse"})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, _) = get(a, &alice_a, "/v1/me").await;
    assert_eq!(s, 401);
    assert!(
        alice_ws_b.closed().await.is_some(),
        "the session in b closes"
    );
    assert!(
        alice_ws_c.closed().await.is_some(),
        "the session in c closes"
    );
    for (base, token) in [(b, &alice_b), (c, &alice_c), (a, &alice_b)] {
        eventually("the token refused", || async {
            let r = get(base, token, "/v1/devices").await;
            (r.0 == 401).then_some(r)
        })
        .await;
    }
    for base in [a, b, c] {
        let (_, v) = eventually("the profile erased", || async {
            let r = get(base, &carol_c, &format!("/v1/users/{alice}")).await;
            (r.1["deleted"] == true).then_some(r)
        })
        .await;
        assert!(v.get("display_name").is_none_or(|n| n == ""), "{v}");
        assert!(v.get("username").is_none_or(|n| n == ""), "{v}");
        let (s, _) = post(
            base,
            "",
            "/v1/auth/login",
            json!({"username": "alice", "password": "correct horse"}),
        )
        .await;
        assert_eq!(s, 401);
    }
    // Her messages remain; her name is held.
    let history = all_history(b, &bob_b, &group).await;
    assert!(history.iter().any(|m| m["sender_id"] == alice.as_str()));
    let (s, v) = post(
        c,
        "",
        "/v1/auth/register",
        json!({"username": "alice", "password": "correct horse"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
}

/// The block is checked where the direct chat is sequenced: a region that
/// has not heard of it forwards the send, and the chat's home refuses it.
#[tokio::test(flavor = "multi_thread")]
async fn the_home_refuses_a_forwarded_send_of_a_blocked_user() {
    let cluster = Cluster::start(&["a", "b", "c"], &[], 500).await;
    cluster.linked().await;
    let c = cluster.base("c");
    let body = json!({"username": "erin", "password": "correct horse"});
    let (s, v) = post(c, "", "/v1/auth/register", body).await;
    assert_eq!(s, 201, "{v}");
    // Find a user whose direct chat with Erin is homed outside c.
    let mut found = None;
    for i in 0..16 {
        let name = format!("sender{i}");
        let body = json!({"username": name, "password": "correct horse"});
        let (s, v) = post(c, "", "/v1/auth/register", body).await;
        assert_eq!(s, 201, "{v}");
        let (id, token) = login(c, &name).await;
        let erin = login(c, "erin").await.0;
        let (s, chat) = post(
            c,
            &token,
            "/v1/chats",
            json!({"kind": "direct", "peer": erin}),
        )
        .await;
        assert!(s == 200 || s == 201, "{chat}");
        let home = chat["home_region"].as_str().unwrap().to_owned();
        if home != "c" {
            found = Some((
                id,
                token,
                chat["chat_id"].as_str().unwrap().to_owned(),
                home,
            ));
            break;
        }
    }
    let (sender, sender_c, direct, home) = found.expect("a pair homed outside c");
    let other = if home == "a" { "b" } else { "a" };
    let (home_base, other_base) = (cluster.base(&home), cluster.base(other));
    let msgs = format!("/v1/chats/{direct}/messages");
    let (s, v) = post(
        c,
        &sender_c,
        &msgs,
        json!({"client_msg_id": "m1", "text": "hi"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Erin blocks the sender in the third region, cut off from c.
    let erin_other = login(other_base, "erin").await.1;
    let erin_c = login(c, "erin").await.1;
    cluster.cut(other, "c", true);
    let (s, v) = call(
        Method::PUT,
        other_base,
        &erin_other,
        &format!("/v1/blocks/{sender}"),
        None,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let erin_home = login(home_base, "erin").await.1;
    eventually("the block known at the chat's home", || async {
        let r = get(home_base, &erin_home, "/v1/blocks").await;
        (r.1["blocks"][0]["user_id"] == sender.as_str()).then_some(r)
    })
    .await;
    let (_, v) = get(c, &erin_c, "/v1/blocks").await;
    assert_eq!(v, json!({"blocks": []}), "c has not heard of the block");
    // c forwards the send; the home refuses it.
    let r = post(
        c,
        &sender_c,
        &msgs,
        json!({"client_msg_id": "m2", "text": "hi"}),
    )
    .await;
    assert_eq!(
        (r.0, r.1["error"]["code"].as_str()),
        (403, Some("blocked")),
        "{}",
        r.1
    );
    let history = all_history(home_base, &erin_home, &direct).await;
    assert_eq!(history.len(), 1, "{history:?}");
    cluster.cut(other, "c", false);
}
