//! Replies, edits, deletes for everyone and reactions across three real
//! region processes: folded in every region's history, pushed live to every
//! device, bad input refused, concurrent reactions from three regions
//! converging, and a delete made while the home is cut off erasing the text
//! from every region's store (read key by key after the regions stop).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::http::{call, get, post};
use common::mesh::{Cluster, eventually, user, visible};
use common::ws::Ws;
use serde_json::{Value, json};

const REGIONS: [&str; 3] = ["ap-south", "eu-west", "us-east"];

/// One mesh at a time: each test runs three region processes.
static ONE_MESH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Alice in eu-west (the group's home), Bob in us-east, Carol in ap-south.
struct Scene {
    cluster: Cluster,
    chat: String,
    /// (region, user id, token), Alice, Bob, Carol.
    users: [(&'static str, String, String); 3],
}

async fn scene() -> Scene {
    let cluster = Cluster::start(&REGIONS, &[], 500).await;
    cluster.linked().await;
    let alice = user(cluster.base("eu-west"), "alice").await;
    let bob = user(cluster.base("us-east"), "bob").await;
    let carol = user(cluster.base("ap-south"), "carol").await;
    for name in ["bob", "carol"] {
        for region in REGIONS {
            visible(
                &cluster,
                region,
                &alice.1,
                &format!("/v1/users?username={name}"),
            )
            .await;
        }
    }
    let (status, chat) = post(
        cluster.base("eu-west"),
        &alice.1,
        "/v1/chats",
        json!({"kind": "group", "title": "Folds", "members": [bob.0, carol.0]}),
    )
    .await;
    assert_eq!(status, 201, "{chat}");
    let chat = chat["chat_id"].as_str().unwrap().to_owned();
    for (region, token) in [("us-east", &bob.1), ("ap-south", &carol.1)] {
        visible(&cluster, region, token, &format!("/v1/chats/{chat}")).await;
    }
    Scene {
        cluster,
        chat,
        users: [
            ("eu-west", alice.0, alice.1),
            ("us-east", bob.0, bob.1),
            ("ap-south", carol.0, carol.1),
        ],
    }
}

/// The message at `seq` as region `region`'s history shows it (folded),
/// once it is there.
async fn folded(s: &Scene, who: usize, seq: u64) -> Value {
    let (region, _, token) = &s.users[who];
    let base = s.cluster.base(region);
    let (status, page) = get(
        base,
        token,
        &format!(
            "/v1/chats/{}/messages?after_seq={}&limit=1",
            s.chat,
            seq - 1
        ),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["messages"][0].clone()
}

/// Waits until `check` holds of the message at `seq` in every region.
async fn everywhere(s: &Scene, seq: u64, what: &str, check: impl Fn(&Value) -> bool) {
    for who in 0..3 {
        eventually(&format!("{what} in {}", s.users[who].0), || async {
            check(&folded(s, who, seq).await)
        })
        .await;
    }
}

/// The next `message` frame of the chat on `ws`.
async fn next_message(ws: &mut Ws, chat: &str) -> Value {
    loop {
        let (frame, _) = ws.until("message").await;
        if frame["chat_id"] == chat {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_reactions_fold_in_every_region_and_reach_every_device() {
    let _one = ONE_MESH.lock().await;
    let s = scene().await;
    let chat = s.chat.clone();
    let mut devices = Vec::new();
    for (region, _, token) in &s.users {
        devices.push(Ws::connect(s.cluster.base(region), token).await);
    }
    // Bob writes in us-east (forwarded to the home), then edits it there.
    let sent = devices[1].send_text(&chat, "b1", "hello from bob").await;
    assert_eq!(sent["status"], "sent", "{sent}");
    let seq = sent["seq"].as_u64().unwrap();
    let edit = devices[1].answered(
        json!({"type": "edit", "chat_id": chat, "client_msg_id": "b2", "target_seq": seq, "text": "hello, edited"}),
    )
    .await;
    assert_eq!(edit["status"], "sent", "{edit}");
    // Every device sees the text and then the edit entry, live.
    for ws in &mut devices {
        let text = next_message(ws, &chat).await;
        assert_eq!(text["seq"], seq);
        let frame = next_message(ws, &chat).await;
        assert_eq!(frame["kind"], "edit", "{frame}");
        assert_eq!(frame["target_seq"], seq);
        assert_eq!(frame["text"], "hello, edited");
    }
    everywhere(&s, seq, "the edit", |m| {
        m["text"] == "hello, edited" && m["edited_at"].is_u64()
    })
    .await;

    // Three regions react at once with the same emoji, and Carol with a
    // second one; then Alice takes hers back.
    let mut answers = Vec::new();
    for (i, ws) in devices.iter_mut().enumerate() {
        ws.send(json!({"type": "react", "chat_id": chat, "client_msg_id": format!("r{i}"), "target_seq": seq, "emoji": "👍", "on": true}))
            .await;
    }
    for (i, ws) in devices.iter_mut().enumerate() {
        let frame = ws.answer_for(&format!("r{i}")).await;
        assert_eq!(frame["status"], "sent", "{frame}");
        answers.push(frame["seq"].as_u64().unwrap());
    }
    let party = devices[2].answered(
        json!({"type": "react", "chat_id": chat, "client_msg_id": "r9", "target_seq": seq, "emoji": "🎉", "on": true}),
    )
    .await;
    assert_eq!(party["status"], "sent", "{party}");
    let (status, body) = post(
        s.cluster.base("eu-west"),
        &s.users[0].2,
        &format!("/v1/chats/{chat}/messages/{seq}/reactions"),
        json!({"client_msg_id": "r10", "emoji": "👍", "on": false}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    answers.sort_unstable();
    answers.dedup();
    assert_eq!(answers.len(), 3, "three reactions, three seqs");
    // Every device receives all five reaction entries, in one order.
    let mut orders = Vec::new();
    for ws in &mut devices {
        let mut order = Vec::new();
        for _ in 0..5 {
            let frame = next_message(ws, &chat).await;
            assert_eq!(frame["kind"], "reaction", "{frame}");
            order.push((frame["seq"].as_u64().unwrap(), frame["sender_id"].clone()));
        }
        orders.push(order);
    }
    assert!(orders.iter().all(|o| *o == orders[0]), "{orders:?}");
    let (bob, carol) = (s.users[1].1.clone(), s.users[2].1.clone());
    everywhere(&s, seq, "the reactions", |m| {
        let thumbs: Vec<&str> = m["reactions"]["👍"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        thumbs.len() == 2
            && thumbs.contains(&bob.as_str())
            && thumbs.contains(&carol.as_str())
            && m["reactions"]["🎉"] == json!([carol])
    })
    .await;
    // Folded state is the same record in every region.
    let reference = folded(&s, 0, seq).await;
    for who in 1..3 {
        assert_eq!(folded(&s, who, seq).await, reference);
    }
    assert_eq!(reference["history"][0]["text"], "hello from bob");

    // `kinds=all` lists the entries; the default leaves them out.
    let (region, _, token) = &s.users[2];
    let (_, all) = get(
        s.cluster.base(region),
        token,
        &format!("/v1/chats/{chat}/messages?kinds=all&limit=500"),
    )
    .await;
    let kinds: Vec<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "reaction").count(), 5);
    assert_eq!(kinds.iter().filter(|k| **k == "edit").count(), 1);
    let (_, page) = get(
        s.cluster.base(region),
        token,
        &format!("/v1/chats/{chat}/messages?limit=500"),
    )
    .await;
    assert!(
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] == "text" || m["kind"] == "system"),
        "{page}"
    );

    // A reply from ap-south, pushed with its reply_to.
    let reply = devices[2].answered(
        json!({"type": "send", "chat_id": chat, "client_msg_id": "c1", "text": "agreed", "reply_to": seq}),
    )
    .await;
    assert_eq!(reply["status"], "sent", "{reply}");
    let frame = next_message(&mut devices[0], &chat).await;
    assert_eq!(frame["reply_to"], seq, "{frame}");

    // Bad input: a clear error, and nothing changes.
    let last_before = get(
        s.cluster.base("eu-west"),
        &s.users[0].2,
        &format!("/v1/chats/{chat}"),
    )
    .await
    .1["last_seq"]
        .clone();
    let base = s.cluster.base("eu-west").to_owned();
    let alice = s.users[0].2.clone();
    let path = format!("/v1/chats/{chat}/messages/{seq}");
    let cases = [
        (
            reqwest::Method::PATCH,
            path.clone(),
            Some(json!({"client_msg_id": "x1", "text": "not mine"})),
            403,
            "forbidden",
        ),
        (
            reqwest::Method::POST,
            format!("{path}/reactions"),
            Some(json!({"client_msg_id": "x2", "emoji": "not an emoji", "on": true})),
            400,
            "bad_request",
        ),
        (
            reqwest::Method::POST,
            format!("{path}/reactions"),
            Some(json!({"client_msg_id": "x3", "emoji": "👍".repeat(100), "on": true})),
            413,
            "too_large",
        ),
        (
            reqwest::Method::POST,
            format!("/v1/chats/{chat}/messages"),
            Some(json!({"client_msg_id": "x4", "text": "to nothing", "reply_to": 9999})),
            404,
            "not_found",
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1/chats/{chat}/messages/abc"),
            Some(json!({"client_msg_id": "x5", "text": "?"})),
            400,
            "bad_request",
        ),
        (
            reqwest::Method::DELETE,
            format!("{path}?client_msg_id="),
            None,
            400,
            "bad_request",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = call(method.clone(), &base, &alice, &path, body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
    }
    let last_after = get(
        s.cluster.base("eu-west"),
        &s.users[0].2,
        &format!("/v1/chats/{chat}"),
    )
    .await
    .1["last_seq"]
        .clone();
    assert_eq!(last_before, last_after, "refusals changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_while_the_home_is_cut_off_erases_the_text_from_every_store() {
    let _one = ONE_MESH.lock().await;
    let mut s = scene().await;
    let chat = s.chat.clone();
    let (_, _, bob) = s.users[1].clone();
    let us = s.cluster.base("us-east").to_owned();
    let mut b = Ws::connect(&us, &bob).await;
    let sent = b.send_text(&chat, "s1", "the secret plan").await;
    let seq = sent["seq"].as_u64().unwrap();
    let edit = b.answered(
        json!({"type": "edit", "chat_id": chat, "client_msg_id": "s2", "target_seq": seq, "text": "the secret plan, revised"}),
    )
    .await;
    assert_eq!(edit["status"], "sent", "{edit}");
    everywhere(&s, seq, "the edited text", |m| {
        m["text"] == "the secret plan, revised"
    })
    .await;

    s.cluster.cut("eu-west", "us-east", true);
    // The link is noticed down within the transport's idle timeout.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (status, answer) = call(
        reqwest::Method::DELETE,
        &us,
        &bob,
        &format!("/v1/chats/{chat}/messages/{seq}?client_msg_id=s3"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted", "{answer}");
    s.cluster.cut("eu-west", "us-east", false);
    everywhere(&s, seq, "the delete", |m| {
        m["deleted"] == true && m["text"] == "" && m.get("history").is_none()
    })
    .await;
    // The delete entry keeps its place: the edit at seq+1, the delete after.
    let (_, all) = get(
        &us,
        &bob,
        &format!("/v1/chats/{chat}/messages?kinds=all&after_seq={seq}"),
    )
    .await;
    let kinds: Vec<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["edit", "delete"], "{all}");
    // A second delete is refused.
    let (status, answer) = call(
        reqwest::Method::DELETE,
        s.cluster.base("eu-west"),
        &s.users[0].2,
        &format!("/v1/chats/{chat}/messages/{seq}?client_msg_id=s4"),
        None,
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (409, &json!("conflict"))
    );

    // Every region's store, key by key: the text is gone, not hidden.
    for region in REGIONS {
        s.cluster.stop(region);
        let db = store::Database::open_embedded(
            &s.cluster.store_dir(region),
            store::EmbeddedOptions::default(),
        )
        .unwrap();
        let rows = db
            .begin()
            .get_range(store::RangeOption::between(&[0x00], &[0xff]).snapshot())
            .await
            .unwrap();
        assert!(
            rows.len() > 10,
            "{region} holds the chat ({} keys)",
            rows.len()
        );
        for (key, value) in &rows {
            assert!(
                !String::from_utf8_lossy(value).contains("secret"),
                "{region} keeps the deleted text under {}",
                String::from_utf8_lossy(key)
            );
        }
    }
}
