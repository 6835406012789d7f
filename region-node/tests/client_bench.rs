//! The load generator against a real region node: each scenario runs at a
//! small scale and its report adds up (every send answered, every message
//! delivered to every member, every connection counted), and the region's
//! CPU time per send and per delivery is a figure. The mesh scenarios
//! start a `region-node mesh` of their own from the `region-node` binary of
//! this build. The bench binary belongs to the client crate: it is built
//! here, in the same target directory and profile, if missing or stale.

#![allow(clippy::unwrap_used)]

mod client_node;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use client_node::Node;
use tokio::process::Command;

/// Runs `chatmesh-bench --url … <args>` and answers its stdout.
async fn bench(node: &Node, args: &[&str]) -> String {
    let bin = tokio::task::spawn_blocking(bench_bin).await.unwrap();
    let output = Command::new(bin)
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

/// Asserts a `cpu µs/…` cell holds a figure (the node runs in this test
/// process, whose CPU time the bench is given through `--region-pid`).
fn assert_cpu_cell(cell: &str, out: &str) {
    let micros: f64 = cell
        .parse()
        .unwrap_or_else(|_| panic!("cpu cell {cell:?} is not a number: {out}"));
    assert!(micros.is_finite() && micros >= 0.0, "{out}");
}

/// The cells of the table's last row, without thousands separators.
fn last_row(stdout: &str) -> Vec<String> {
    rows(stdout).pop().unwrap()
}

/// The cells of every row of the table but its header.
fn rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .skip(1)
        .map(|row| {
            row.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace(',', ""))
                .collect()
        })
        .collect()
}

/// The `chatmesh-bench` binary beside this build's `region-node`, built
/// (in the same target directory and profile) once per test run: this
/// crate's tests do not build other crates' binaries by themselves.
fn bench_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let node = PathBuf::from(env!("CARGO_BIN_EXE_region-node"));
        let profile_dir = node.parent().unwrap();
        let mut build = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"));
        build
            .args(["build", "-p", "chatmesh-client", "--bin", "chatmesh-bench"])
            .arg("--target-dir")
            .arg(profile_dir.parent().unwrap());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "building chatmesh-bench failed");
        profile_dir.join("chatmesh-bench")
    })
}

/// Mesh scenarios start several regions each; one at a time keeps them
/// from starving each other of the machine's cores.
static MESH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `chatmesh-bench <args>` against a mesh it starts; answers stdout.
async fn mesh_bench(args: &[&str]) -> String {
    let bin = tokio::task::spawn_blocking(bench_bin).await.unwrap();
    let _one_at_a_time = MESH.lock().await;
    let output = Command::new(bin)
        .arg("--node-bin")
        .arg(env!("CARGO_BIN_EXE_region-node"))
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

#[tokio::test]
async fn sends_are_all_answered() {
    let node = Node::start().await;
    let pid = std::process::id().to_string();
    let out = bench(
        &node,
        &[
            "--region-pid",
            &pid,
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
    assert_eq!(row.len(), 8, "{out}");
    assert_cpu_cell(&row[7], &out);
    assert!(out.contains("set-up: 5 accounts registered"), "{out}");
}

#[tokio::test]
async fn cpu_is_not_measured_without_the_region_pid() {
    let node = Node::start().await;
    let out = bench(
        &node,
        &[
            "sends",
            "--chats",
            "2",
            "--rates",
            "20",
            "--duration",
            "1s",
            "--warmup",
            "0s",
        ],
    )
    .await;
    assert!(out.contains("region CPU: cannot be measured"), "{out}");
    assert_eq!(last_row(&out)[7], "-", "{out}");
}

#[tokio::test]
async fn fanout_reaches_every_member() {
    let node = Node::start().await;
    let pid = std::process::id().to_string();
    let out = bench(
        &node,
        &[
            "--region-pid",
            &pid,
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
    assert_eq!(row.len(), 8, "{out}");
    assert_cpu_cell(&row[6], &out);
    assert_cpu_cell(&row[7], &out);
    // Twenty deliveries per send cost less each than the send.
    let (per_send, per_delivery): (f64, f64) = (row[6].parse().unwrap(), row[7].parse().unwrap());
    assert!(per_delivery <= per_send, "{out}");
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
    assert!(out.contains("region CPU while idle"), "{out}");
}

#[tokio::test]
async fn cross_delivers_every_send_from_both_placements() {
    let out = mesh_bench(&[
        "cross",
        "--one-way-ms",
        "10",
        "--chats",
        "4",
        "--receivers",
        "2",
        "--rates",
        "20",
        "--duration",
        "2s",
        "--warmup",
        "1s",
    ])
    .await;
    let rows = rows(&out);
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0][0].starts_with("home"), "{out}");
    assert!(rows[1][0].starts_with("remote"), "{out}");
    for row in rows {
        let (sent, deliveries, errors): (u64, u64, u64) = (
            row[2].parse().unwrap(),
            row[3].parse().unwrap(),
            row[4].parse().unwrap(),
        );
        // 20/s for the 2 s window, as scheduled, whatever the latency.
        assert!((38..=42).contains(&sent), "{out}");
        // One receiving device per chat in the other region.
        assert_eq!(deliveries, sent, "{out}");
        assert_eq!(errors, 0, "{out}");
        assert_cpu_cells(&row, &out, &["region-a ", "region-b ", "region-c "]);
    }
}

/// Asserts the last three cells of a mesh row: CPU per send and per
/// delivery over the regions, and per send by region, naming each region.
fn assert_cpu_cells(row: &[String], out: &str, regions: &[&str]) {
    let [per_send, per_delivery, by_region] = &row[row.len() - 3..] else {
        panic!("a short row: {out}");
    };
    assert_cpu_cell(per_send, out);
    assert_cpu_cell(per_delivery, out);
    for region in regions {
        assert!(by_region.contains(region), "{out}");
    }
}

#[tokio::test]
async fn replication_applies_every_event_at_the_replica() {
    let out = mesh_bench(&[
        "replication",
        "--chats",
        "6",
        "--receivers",
        "3",
        "--rates",
        "50",
        "--duration",
        "2s",
        "--warmup",
        "1s",
        "--procs",
        "1",
    ])
    .await;
    let row = last_row(&out);
    let (sent, applied, errors): (u64, u64, u64) = (
        row[1].parse().unwrap(),
        row[2].parse().unwrap(),
        row[3].parse().unwrap(),
    );
    assert!((98..=102).contains(&sent), "{out}");
    assert_eq!(applied, sent, "{out}");
    assert_eq!(errors, 0, "{out}");
    assert_eq!(row.len(), 15, "{out}");
    assert_cpu_cells(&row, &out, &["region-a ", "region-b "]);
}
