//! Three real region processes on loopback, linked over QUIC through
//! fault-injecting proxies: users in different regions chat in one group,
//! sends survive partitions and a SIGKILL, and clocks are checked.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::http::{all_history, get, post};
use common::mesh::{Cluster, eventually, user, visible};
use common::ws::Ws;
use serde_json::{Value, json};

const REGIONS: [&str; 3] = ["ap-south", "eu-west", "us-east"];

/// One mesh at a time: each test runs three region processes, and several
/// meshes at once on a small machine only measure the machine.
static ONE_MESH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until `username` is known in every region.
async fn known_everywhere(cluster: &Cluster, token: &str, username: &str) {
    for region in REGIONS {
        visible(
            cluster,
            region,
            token,
            &format!("/v1/users?username={username}"),
        )
        .await;
    }
}

/// The (seq, client_msg_id) of every message of `chat` in region `base`.
async fn log_of(base: &str, token: &str, chat: &str) -> Vec<(u64, String)> {
    all_history(base, token, chat)
        .await
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().unwrap(),
                m["client_msg_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits until every region's history of `chat` has `len` messages, and
/// answers them (asserting they are identical everywhere).
async fn converged(
    cluster: &Cluster,
    tokens: &[(&str, &str)],
    chat: &str,
    len: usize,
) -> Vec<(u64, String)> {
    for (region, token) in tokens {
        let base = cluster.base(region).to_owned();
        eventually(&format!("{len} messages in {region}"), || {
            let base = base.clone();
            async move {
                match tokio::time::timeout(Duration::from_secs(5), log_of(&base, token, chat)).await
                {
                    Ok(log) => log.len() >= len,
                    Err(_) => false,
                }
            }
        })
        .await;
    }
    let (first_region, first_token) = tokens[0];
    let reference = log_of(cluster.base(first_region), first_token, chat).await;
    for (region, token) in &tokens[1..] {
        assert_eq!(
            log_of(cluster.base(region), token, chat).await,
            reference,
            "history in {region} differs from {first_region}"
        );
    }
    let seqs: Vec<u64> = reference.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=reference.len() as u64).collect::<Vec<_>>());
    reference
}

/// Three users, one in each region, and a group homed in eu-west.
struct Scene {
    cluster: Cluster,
    chat: String,
    alice: (String, String),
    bob: (String, String),
    carol: (String, String),
}

async fn scene(cluster: Cluster) -> Scene {
    cluster.linked().await;
    let alice = user(cluster.base("eu-west"), "alice").await;
    let bob = user(cluster.base("us-east"), "bob").await;
    let carol = user(cluster.base("ap-south"), "carol").await;
    for (token, name) in [(&alice.1, "bob"), (&alice.1, "carol"), (&bob.1, "alice")] {
        known_everywhere(&cluster, token, name).await;
    }
    let (status, chat) = post(
        cluster.base("eu-west"),
        &alice.1,
        "/v1/chats",
        json!({"kind": "group", "title": "Mesh", "members": [bob.0, carol.0]}),
    )
    .await;
    assert_eq!(status, 201, "{chat}");
    assert_eq!(chat["home_region"], "eu-west");
    let chat = chat["chat_id"].as_str().unwrap().to_owned();
    for (region, token) in [("us-east", &bob.1), ("ap-south", &carol.1)] {
        visible(&cluster, region, token, &format!("/v1/chats/{chat}")).await;
    }
    Scene {
        cluster,
        chat,
        alice,
        bob,
        carol,
    }
}

/// `message` frames of `chat` until `count` arrive; answers (seq, client_msg_id).
async fn live(ws: &mut Ws, chat: &str, count: usize) -> Vec<(u64, String)> {
    ws.messages(chat, count)
        .await
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().unwrap(),
                m["client_msg_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_in_three_regions_share_one_order() {
    let _one = ONE_MESH.lock().await;
    let s = scene(Cluster::start(&REGIONS, &[], 500).await).await;
    let mut a = Ws::connect(s.cluster.base("eu-west"), &s.alice.1).await;
    let mut b = Ws::connect(s.cluster.base("us-east"), &s.bob.1).await;
    let mut c = Ws::connect(s.cluster.base("ap-south"), &s.carol.1).await;
    for i in 0..10 {
        for (ws, who) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c")] {
            let sent = ws.send_text(&s.chat, &format!("{who}{i}"), "hello").await;
            assert_eq!(sent["type"], "sent", "{sent}");
            assert_eq!(sent["status"], "sent", "{sent}");
        }
    }
    // 30 texts, the same order on every device.
    let seen_a = live(&mut a, &s.chat, 30).await;
    let seen_b = live(&mut b, &s.chat, 30).await;
    let seen_c = live(&mut c, &s.chat, 30).await;
    assert_eq!(seen_a, seen_b);
    assert_eq!(seen_a, seen_c);
    let history = converged(
        &s.cluster,
        &[
            ("eu-west", &s.alice.1),
            ("us-east", &s.bob.1),
            ("ap-south", &s.carol.1),
        ],
        &s.chat,
        31,
    )
    .await;
    assert_eq!(history[1..], seen_a);
    // us-east counts the 31 entries of the chat it applied from eu-west.
    let text = reqwest::get(format!("{}/metrics", s.cluster.base("us-east")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let applied: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("chatmesh_replication_applied_events_total{peer=\"eu-west\"} ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no applied events from eu-west in {text}"));
    assert!(applied >= 31, "{applied}");

    // Bob reads everything in us-east (his last message was seq 30); Alice
    // in eu-west and Carol in ap-south see the receipt.
    b.send(json!({"type": "read", "chat_id": s.chat, "seq": 31}))
        .await;
    for ws in [&mut a, &mut c] {
        loop {
            let (receipt, _) = ws.until("receipt").await;
            if receipt["user_id"] == s.bob.0.as_str() && receipt["read_seq"] == 31 {
                break;
            }
        }
    }
    // Carol types in ap-south; Alice and Bob see it.
    c.send(json!({"type": "typing", "chat_id": s.chat, "active": true}))
        .await;
    for ws in [&mut a, &mut b] {
        let (typing, _) = ws.until("typing").await;
        assert_eq!(typing["user_id"], s.carol.0.as_str(), "{typing}");
        assert_eq!(typing["active"], true);
    }
    // Alice in eu-west watches Bob, who is connected to us-east.
    a.send(json!({"type": "presence_subscribe", "user_ids": [s.bob.0]}))
        .await;
    let (presence, _) = a.until("presence").await;
    assert_eq!(presence["online"], true, "{presence}");
    // Bob leaves; after the grace period Alice sees him offline.
    drop(b);
    let (presence, _) = a.until("presence").await;
    assert_eq!(presence["online"], false, "{presence}");
    assert!(presence["last_seen"].as_u64().unwrap() > 0, "{presence}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_in_a_cut_off_region_are_accepted_then_sequenced_once() {
    let _one = ONE_MESH.lock().await;
    let s = scene(Cluster::start(&REGIONS, &[], 500).await).await;
    let mut b = Ws::connect(s.cluster.base("us-east"), &s.bob.1).await;
    let mut b2 = Ws::connect(
        s.cluster.base("us-east"),
        &common::ws::device(
            &client::Client::new(s.cluster.base("us-east")).unwrap(),
            "bob",
        )
        .await,
    )
    .await;
    s.cluster.cut("eu-west", "us-east", true);
    // The link is noticed down within the transport's idle timeout.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let mut accepted = Vec::new();
    for i in 0..5 {
        let id = format!("cut{i}");
        let sent = b.send_text(&s.chat, &id, "while cut off").await;
        assert_eq!(sent["type"], "sent", "{sent}");
        assert_eq!(sent["status"], "accepted", "{sent}");
        accepted.push(id);
    }
    // Bob's other device sees them as pending.
    for id in &accepted {
        let (frame, _) = b2.until("pending").await;
        assert_eq!(&frame["client_msg_id"], id, "{frame}");
        assert_eq!(frame["seq"], 0);
    }
    // A membership change needs the home.
    let (status, body) = post(
        s.cluster.base("us-east"),
        &s.bob.1,
        &format!("/v1/chats/{}/members", s.chat),
        json!({"user_ids": [s.alice.0]}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (503, json!("home_unreachable"))
    );

    s.cluster.cut("eu-west", "us-east", false);
    // Each accepted send gets its final `sent` with a seq.
    let mut finals = Vec::new();
    for _ in &accepted {
        let (frame, _) = until_final_sent(&mut b).await;
        assert!(frame["seq"].as_u64().unwrap() > 1, "{frame}");
        finals.push(frame["client_msg_id"].as_str().unwrap().to_owned());
    }
    finals.sort();
    assert_eq!(finals, accepted);
    let history = converged(
        &s.cluster,
        &[
            ("eu-west", &s.alice.1),
            ("us-east", &s.bob.1),
            ("ap-south", &s.carol.1),
        ],
        &s.chat,
        6,
    )
    .await;
    for id in &accepted {
        assert_eq!(history.iter().filter(|(_, c)| c == id).count(), 1, "{id}");
    }
}

/// The next `sent` frame with status `sent`.
async fn until_final_sent(ws: &mut Ws) -> (Value, Vec<Value>) {
    loop {
        let (frame, skipped) = ws.until("sent").await;
        if frame["status"] == "sent" {
            return (frame, skipped);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_sends_survive_a_sigkill_of_the_cut_off_region() {
    let _one = ONE_MESH.lock().await;
    let mut s = scene(Cluster::start(&REGIONS, &[], 500).await).await;
    s.cluster.cut("eu-west", "us-east", true);
    tokio::time::sleep(Duration::from_secs(7)).await;
    let mut b = Ws::connect(s.cluster.base("us-east"), &s.bob.1).await;
    for i in 0..3 {
        let sent = b
            .send_text(&s.chat, &format!("k{i}"), "before the kill")
            .await;
        assert_eq!(sent["status"], "accepted", "{sent}");
    }
    drop(b);
    s.cluster.kill("us-east");
    s.cluster.restart("us-east").await;
    s.cluster.cut("eu-west", "us-east", false);
    let history = converged(
        &s.cluster,
        &[("eu-west", &s.alice.1), ("us-east", &s.bob.1)],
        &s.chat,
        4,
    )
    .await;
    for i in 0..3 {
        let id = format!("k{i}");
        assert_eq!(history.iter().filter(|(_, c)| *c == id).count(), 1, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_two_seconds_ahead_keeps_causality() {
    let _one = ONE_MESH.lock().await;
    let s = scene(Cluster::start(&REGIONS, &[("us-east", 2_000)], 5_000).await).await;
    let mut a = Ws::connect(s.cluster.base("eu-west"), &s.alice.1).await;
    let mut b = Ws::connect(s.cluster.base("us-east"), &s.bob.1).await;
    // Bob (clock ahead) sends; Alice sends after seeing it: her HLC is greater.
    let first = b.send_text(&s.chat, "ahead", "from the future").await;
    let seen = live(&mut a, &s.chat, 1).await;
    assert_eq!(seen[0].1, "ahead");
    let second = a.send_text(&s.chat, "after", "reply").await;
    let (h1, h2) = (
        first["hlc"].as_str().unwrap().to_owned(),
        second["hlc"].as_str().unwrap().to_owned(),
    );
    assert!(h2 > h1, "{h1} then {h2}");
    let _ = s.carol;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_beyond_the_max_offset_is_refused() {
    let _one = ONE_MESH.lock().await;
    let cluster = Cluster::start(&REGIONS, &[("us-east", 2_000)], 500).await;
    // The regions behind refuse us-east's links, and say why in metrics.
    for region in ["eu-west", "ap-south"] {
        let url = format!("{}/metrics", cluster.base(region));
        eventually(&format!("{region} to refuse us-east"), || {
            let url = url.clone();
            async move {
                let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
                text.lines().any(|l| {
                    l.starts_with("chatmesh_peer_refusals_total")
                        && l.contains("us-east")
                        && l.contains("clock_offset")
                        && !l.ends_with(" 0")
                })
            }
        })
        .await;
    }
    let text = reqwest::get(format!("{}/metrics", cluster.base("eu-west")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let up = |l: &&str| l.starts_with("chatmesh_peer_up") && l.contains("us-east");
    assert!(
        !text.lines().filter(up).any(|l| l.ends_with(" 1")),
        "a refused link is up: {text}"
    );
}

/// `PATCH /v1/chats/{chat}` in region `base`; answers (status, body).
async fn patch_chat(base: &str, token: &str, chat: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .patch(format!("{base}/v1/chats/{chat}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The (title, description) of `chat` as region `base` shows it.
async fn meta_of(base: &str, token: &str, chat: &str) -> (String, String) {
    let (status, body) = get(base, token, &format!("/v1/chats/{chat}")).await;
    assert_eq!(status, 200, "{body}");
    (
        body["title"].as_str().unwrap().to_owned(),
        body["description"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_metadata_is_edited_in_any_region_and_converges() {
    let _one = ONE_MESH.lock().await;
    let s = scene(Cluster::start(&REGIONS, &[], 500).await).await;
    let readers = [
        ("eu-west", s.alice.1.clone()),
        ("us-east", s.bob.1.clone()),
        ("ap-south", s.carol.1.clone()),
    ];
    let all_show = |title: String, description: String| {
        let readers = readers.clone();
        let cluster = &s.cluster;
        let chat = s.chat.clone();
        async move {
            for (region, token) in &readers {
                let base = cluster.base(region).to_owned();
                let want = (title.clone(), description.clone());
                eventually(&format!("{want:?} in {region}"), || {
                    let (base, want, chat) = (base.clone(), want.clone(), chat.clone());
                    async move { meta_of(&base, token, &chat).await == want }
                })
                .await;
            }
        }
    };
    // Alice, the group's owner, also has a device in us-east, which holds a
    // replica of the group homed in eu-west.
    let alice_us = common::ws::device(
        &client::Client::new(s.cluster.base("us-east")).unwrap(),
        "alice",
    )
    .await;
    let us = s.cluster.base("us-east").to_owned();
    let eu = s.cluster.base("eu-west").to_owned();

    // Members who are not admins may not edit, nor may anyone edit a chat
    // that does not exist; neither changes anything.
    let (status, body) = patch_chat(&us, &s.bob.1, &s.chat, json!({"title": "Bob's"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = patch_chat(&us, &alice_us, "c_nope", json!({"title": "x"})).await;
    assert_eq!(status, 404);
    let (status, _) = patch_chat(&us, &alice_us, &s.chat, json!({"title": " "})).await;
    assert_eq!(status, 400);
    assert_eq!(meta_of(&us, &s.bob.1, &s.chat).await.0, "Mesh");

    // Renamed in a replica region: every region shows it, and the home
    // writes it into the chat's order.
    let (status, body) = patch_chat(&us, &alice_us, &s.chat, json!({"title": "Renamed"})).await;
    assert_eq!(
        (status, body["title"].as_str()),
        (200, Some("Renamed")),
        "{body}"
    );
    all_show("Renamed".into(), String::new()).await;

    // us-east cut off from both other regions: edits still succeed there.
    s.cluster.cut("eu-west", "us-east", true);
    s.cluster.cut("ap-south", "us-east", true);
    let (status, _) = patch_chat(
        &us,
        &alice_us,
        &s.chat,
        json!({"description": "described while cut off", "title": "From us-east"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = patch_chat(&eu, &s.alice.1, &s.chat, json!({"title": "From eu-west"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        meta_of(&us, &alice_us, &s.chat).await,
        ("From us-east".into(), "described while cut off".into())
    );
    assert_eq!(
        meta_of(&eu, &s.alice.1, &s.chat).await,
        ("From eu-west".into(), String::new())
    );

    // Healed: the concurrent titles resolve to one winner everywhere, and
    // the description made while cut off reaches every region.
    s.cluster.cut("eu-west", "us-east", false);
    s.cluster.cut("ap-south", "us-east", false);
    let mut winner = None;
    for _ in 0..300 {
        let here = meta_of(&eu, &s.alice.1, &s.chat).await;
        let there = meta_of(&us, &alice_us, &s.chat).await;
        if here == there && here.1 == "described while cut off" {
            winner = Some(here.0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let winner = winner.expect("eu-west and us-east agree after the heal");
    assert!(
        winner == "From eu-west" || winner == "From us-east",
        "{winner}"
    );
    all_show(winner.clone(), "described while cut off".into()).await;

    // The home wrote each change it learned of as a system message, and
    // every region holds the same log.
    let tokens = [
        ("eu-west", s.alice.1.as_str()),
        ("us-east", s.bob.1.as_str()),
        ("ap-south", s.carol.1.as_str()),
    ];
    let history = all_history(&eu, &s.alice.1, &s.chat).await;
    let events: Vec<&str> = history.iter().filter_map(|m| m["event"].as_str()).collect();
    assert!(events.contains(&"chat_renamed"), "{events:?}");
    assert!(events.contains(&"chat_described"), "{events:?}");
    let last_rename = history
        .iter()
        .rev()
        .find(|m| m["event"] == "chat_renamed")
        .unwrap();
    assert_eq!(last_rename["title"].as_str(), Some(winner.as_str()));
    converged(&s.cluster, &tokens, &s.chat, history.len()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_homed_in_the_region_its_creator_names() {
    let _one = ONE_MESH.lock().await;
    let s = scene(Cluster::start(&REGIONS, &[], 500).await).await;
    let ap = s.cluster.base("ap-south").to_owned();
    let body = |home: &str| json!({"kind": "group", "title": "Placed", "members": [s.alice.0], "home_region": home});

    // Carol, in ap-south, names us-east: the group is created there and is
    // usable here at once.
    let (status, chat) = post(&ap, &s.carol.1, "/v1/chats", body("us-east")).await;
    assert_eq!(status, 201, "{chat}");
    assert_eq!(chat["home_region"], "us-east");
    let id = chat["chat_id"].as_str().unwrap().to_owned();
    let (status, here) = get(&ap, &s.carol.1, &format!("/v1/chats/{id}")).await;
    assert_eq!(
        (status, here["home_region"].as_str()),
        (200, Some("us-east"))
    );
    let (status, placed) = get(&ap, &s.carol.1, &format!("/v1/placement/chats/{id}")).await;
    assert_eq!(
        (status, placed["home"].as_str()),
        (200, Some("us-east")),
        "{placed}"
    );
    visible(
        &s.cluster,
        "eu-west",
        &s.alice.1,
        &format!("/v1/chats/{id}"),
    )
    .await;
    let mut ws = Ws::connect(&ap, &s.carol.1).await;
    let sent = ws.send_text(&id, "placed-1", "hello").await;
    assert_eq!(
        (sent["status"].as_str(), sent["seq"].as_u64()),
        (Some("sent"), Some(2))
    );

    // Naming a region outside the mesh, or one that cannot be reached,
    // creates nothing.
    let (status, _) = post(&ap, &s.carol.1, "/v1/chats", body("mars")).await;
    assert_eq!(status, 400);
    s.cluster.cut("ap-south", "us-east", true);
    let (status, error) = post(&ap, &s.carol.1, "/v1/chats", body("us-east")).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (503, Some("home_unreachable"))
    );
    let (_, list) = get(&ap, &s.carol.1, "/v1/chats").await;
    let placed = list["chats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["title"] == "Placed")
        .count();
    assert_eq!(placed, 1, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_has_one_direct_chat_whichever_regions_ask() {
    let _one = ONE_MESH.lock().await;
    let s = scene(Cluster::start(&REGIONS, &[], 500).await).await;
    let us = s.cluster.base("us-east").to_owned();
    let ap = s.cluster.base("ap-south").to_owned();
    // Bob in us-east and Carol in ap-south open their direct chat at once.
    let (bob, carol) = tokio::join!(
        post(
            &us,
            &s.bob.1,
            "/v1/chats",
            json!({"kind": "direct", "peer": s.carol.0})
        ),
        post(
            &ap,
            &s.carol.1,
            "/v1/chats",
            json!({"kind": "direct", "peer": s.bob.0})
        ),
    );
    assert!(matches!(bob.0, 200 | 201), "{bob:?}");
    assert!(matches!(carol.0, 200 | 201), "{carol:?}");
    assert_eq!(bob.1["chat_id"], carol.1["chat_id"]);
    assert_eq!(bob.1["home_region"], carol.1["home_region"]);
    let id = bob.1["chat_id"].as_str().unwrap().to_owned();

    // Both use it at once from their own regions.
    let mut b = Ws::connect(&us, &s.bob.1).await;
    let mut c = Ws::connect(&ap, &s.carol.1).await;
    let sent = b.send_text(&id, "hi-carol", "hi").await;
    assert_eq!(
        (sent["status"].as_str(), sent["seq"].as_u64()),
        (Some("sent"), Some(1))
    );
    let sent = c.send_text(&id, "hi-bob", "hi").await;
    assert_eq!(
        (sent["status"].as_str(), sent["seq"].as_u64()),
        (Some("sent"), Some(2))
    );
    assert_eq!(live(&mut b, &id, 2).await, live(&mut c, &id, 2).await);

    // Asked again, from a third region too, it is the same chat.
    let again = post(
        s.cluster.base("eu-west"),
        &s.alice.1,
        "/v1/chats",
        json!({"kind": "direct", "peer": s.bob.0}),
    )
    .await;
    assert!(matches!(again.0, 200 | 201), "{again:?}");
    let (status, same) = post(
        &ap,
        &s.carol.1,
        "/v1/chats",
        json!({"kind": "direct", "peer": s.bob.0}),
    )
    .await;
    assert_eq!((status, same["chat_id"].as_str()), (200, Some(id.as_str())));
}
