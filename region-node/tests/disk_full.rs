//! A full disk, end to end: the real `region-node` binary keeps its data
//! directory on a small tmpfs that the test fills up. Sends must then fail
//! with the storage-unavailable error (never a `sent`), `/readyz` must
//! answer 503, and once the test frees the space the node must take writes
//! again by itself, with every acknowledged message in the history under
//! gapless sequence numbers, also after a restart.
//!
//! Mounting needs root (CI runs tests as root); without it the test fails
//! and says why, it does not skip.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::http::all_history;
use common::ws::{Ws, user};
use common::{free_port, spawn_binary, terminate, wait_healthy};
use serde_json::Value;

/// Size of the filesystem the node's data directory lives on.
const TMPFS_SIZE: &str = "48m";

/// A tmpfs mounted for one test; unmounted when dropped, even after a panic.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE},mode=0700")])
            .arg("tmpfs")
            .arg(path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed ({status}): this test needs root (CI runs tests as root)",
            path.display()
        );
        Tmpfs {
            path: path.to_owned(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: detaches even if a process still holds a file open there.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The node's process; killed when dropped, so the mount can go.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes `path` until the filesystem has no room left; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let block = vec![0xa5u8; chunk];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(err) if err.raw_os_error() == Some(28) => break,
                Err(err) => panic!("filling {}: {err}", path.display()),
            }
        }
    }
    let _ = file.sync_all();
    written
}

async fn readyz(base: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits until `/readyz` answers `status`.
async fn ready_becomes(base: &str, status: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (now, body) = readyz(base).await;
        if now == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never answered {status}: {now} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The messages of a chat one client sent, by `client_msg_id`: the seq of each
/// acknowledged one.
#[derive(Default)]
struct Acked(BTreeMap<String, u64>);

impl Acked {
    /// Sends `id`; true if acknowledged, false if refused as storage unavailable.
    async fn send(&mut self, ws: &mut Ws, chat: &str, id: &str) -> bool {
        let answer = ws.send_text(chat, id, &format!("text of {id}")).await;
        match answer["type"].as_str() {
            Some("sent") => {
                let seq = answer["seq"].as_u64().expect("sent has a seq");
                self.0.insert(id.to_owned(), seq);
                true
            }
            Some("error") => {
                assert_eq!(answer["code"], "internal", "{answer}");
                let message = answer["message"].as_str().unwrap_or_default();
                assert!(message.contains("storage unavailable"), "{answer}");
                false
            }
            _ => panic!("unexpected answer {answer}"),
        }
    }

    /// Every acknowledged message is in `history` with its seq, and the
    /// history's seqs have no gaps.
    fn all_in(&self, history: &[Value]) {
        let seqs: Vec<u64> = history.iter().filter_map(|m| m["seq"].as_u64()).collect();
        for pair in seqs.windows(2) {
            assert_eq!(pair[1], pair[0] + 1, "gap in the history: {seqs:?}");
        }
        for (id, seq) in &self.0 {
            let found = history
                .iter()
                .find(|m| m["client_msg_id"] == id.as_str() || m["seq"] == *seq)
                .unwrap_or_else(|| panic!("acknowledged {id} (seq {seq}) is missing"));
            assert_eq!(found["seq"], *seq, "{found}");
            assert_eq!(found["text"], format!("text of {id}"), "{found}");
        }
    }
}

fn spawn(dir: &Path, data: &Path, config: &Path, listen: &str) -> Running {
    Running(spawn_binary(
        &[
            "--listen",
            listen,
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
        dir,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_sends_and_the_node_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Tmpfs::mount(&dir.path().join("disk"));
    let data = mount.path.join("data");
    let filler = mount.path.join("filler");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n[limits]\nsends_per_second = 100000\nsend_burst = 100000\n",
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let mut node = spawn(dir.path(), &data, &config, &listen);
    wait_healthy(&base).await;
    assert_eq!(ready_becomes(&base, 200).await["status"], "ready");

    let client = client::Client::new(&base).unwrap();
    let (_, alice) = user(&client, "alice").await;
    let (bob_id, _) = user(&client, "bob").await;
    let chat = client
        .with_token(&alice)
        .create_group("disk", &[bob_id], None)
        .await
        .unwrap()
        .chat_id;
    let mut ws = Ws::connect(&base, &alice).await;
    let mut acked = Acked::default();
    for n in 0..5 {
        assert!(acked.send(&mut ws, &chat, &format!("before-{n}")).await);
    }

    // Fill the disk; sends may still fit in pages the journal already has,
    // but soon one must be refused.
    let filled = fill(&filler);
    println!("filled the disk with {filled} bytes");
    let mut refused = None;
    for n in 0..2_000 {
        let id = format!("during-{n}");
        if !acked.send(&mut ws, &chat, &id).await {
            refused = Some(id);
            break;
        }
    }
    let refused = refused.expect("a send on a full disk was acknowledged 2,000 times");
    println!(
        "refused {refused} after {} acknowledged sends",
        acked.0.len()
    );
    let body = ready_becomes(&base, 503).await;
    assert_eq!(body["status"], "storage_unavailable");
    // The store keeps trying to reopen; while the disk stays full it stays unavailable.
    for n in 0..3 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(!acked.send(&mut ws, &chat, &format!("still-full-{n}")).await);
        assert_eq!(readyz(&base).await.0, 503);
    }
    // Plain HTTP writes answer 503 with the same code and a Retry-After.
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/chats"))
        .bearer_auth(&alice)
        .json(&serde_json::json!({"kind": "group", "title": "full", "members": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal", "{body}");

    // Space returns: the node takes writes again without a restart.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(ready_becomes(&base, 200).await["status"], "ready");
    for n in 0..5 {
        assert!(acked.send(&mut ws, &chat, &format!("after-{n}")).await);
    }
    acked.all_in(&all_history(&base, &alice, &chat).await);

    // And all of it is on the disk: a restart finds every acknowledged message.
    drop(ws);
    let status = terminate(&mut node.0);
    assert!(status.success(), "clean exit: {status}");
    drop(node);
    let node = spawn(dir.path(), &data, &config, &listen);
    wait_healthy(&base).await;
    let alice = common::ws::device(&client, "alice").await;
    acked.all_in(&all_history(&base, &alice, &chat).await);
    drop(node);
    drop(mount);
}
