//! The load generator against a real region node: each scenario runs at a
//! small scale and its report adds up (every send answered, every message
//! delivered to every member, every connection counted).

#![allow(clippy::unwrap_used)]

mod node;

use node::Node;
use tokio::process::Command;

/// Runs `chatmesh-bench --url … <args>` and answers its stdout.
async fn bench(node: &Node, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_chatmesh-bench"))
        .arg("--url")
        .arg(&node.base)
        .args(args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The cells of the table's last row, without thousands separators.
fn last_row(stdout: &str) -> Vec<String> {
    let row = stdout
        .lines()
        .rfind(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .unwrap();
    row.trim_matches('|')
        .split('|')
        .map(|c| c.trim().replace(',', ""))
        .collect()
}

#[tokio::test]
async fn sends_are_all_answered() {
    let node = Node::start().await;
    let out = bench(
        &node,
        &[
            "sends",
            "--chats",
            "5",
            "--rates",
            "100",
            "--duration",
            "2s",
            "--warmup",
            "1s",
        ],
    )
    .await;
    let row = last_row(&out);
    let (sent, errors): (u64, u64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
    // 100/s for the 2 s window, as scheduled, whatever the latency.
    assert!((195..=205).contains(&sent), "{out}");
    assert_eq!(errors, 0, "{out}");
}

#[tokio::test]
async fn fanout_reaches_every_member() {
    let node = Node::start().await;
    let out = bench(
        &node,
        &[
            "fanout",
            "--members",
            "20",
            "--senders",
            "2",
            "--rates",
            "10",
            "--duration",
            "2s",
            "--warmup",
            "1s",
            "--procs",
            "2",
        ],
    )
    .await;
    let row = last_row(&out);
    let (sent, deliveries): (u64, u64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
    assert!(sent > 0, "{out}");
    assert_eq!(deliveries, sent * 20, "{out}");
}

#[tokio::test]
async fn idle_counts_every_connection() {
    let node = Node::start().await;
    let pid = std::process::id().to_string();
    let out = bench(
        &node,
        &[
            "--node-pid",
            &pid,
            "idle",
            "--conns",
            "50",
            "--users",
            "5",
            "--procs",
            "2",
            "--settle",
            "1s",
        ],
    )
    .await;
    assert!(
        out.contains("idle connections: 50 of 50 (0 closed"),
        "{out}"
    );
}
