//! Starts real region nodes for end-to-end tests: `run()` on port 0 in this
//! process, or the `region-node` binary as a child process.

#![allow(dead_code)]

pub mod http;
pub mod mesh;
pub mod ws;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use region_node::config::{Config, NodeArgs, RawConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A node served by `run()` inside the test process.
pub struct Node {
    pub base: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), region_node::RunError>>>,
    pub dir: tempfile::TempDir,
}

/// Cheap password hashing so tests that create many accounts stay fast.
pub fn fast_raw() -> RawConfig {
    let mut raw = RawConfig::default();
    raw.auth.argon2_memory_kib = Some(64);
    raw.auth.argon2_iterations = Some(1);
    raw
}

impl Node {
    /// Starts a node with test defaults.
    pub async fn start() -> Self {
        Self::start_with(fast_raw()).await
    }

    /// Starts a node with this raw configuration on a fresh data directory.
    pub async fn start_with(raw: RawConfig) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, raw).await
    }

    /// Starts a node on an existing data directory.
    pub async fn start_in(dir: tempfile::TempDir, raw: RawConfig) -> Self {
        let args = NodeArgs {
            data: Some(dir.path().to_owned()),
            listen: Some("127.0.0.1:0".into()),
            ..NodeArgs::default()
        };
        let config = Config::from_parts(&args, raw).expect("config");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(region_node::run(config, listener, async move {
            let _ = rx.await;
        }));
        let node = Self {
            base,
            shutdown: Some(tx),
            task: Some(task),
            dir,
        };
        wait_healthy(&node.base).await;
        node
    }

    /// An anonymous SDK client of this node.
    pub fn client(&self) -> client::Client {
        client::Client::new(&self.base).expect("client")
    }

    /// Stops the node gracefully and hands back its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("join").expect("node run");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }
}

/// Polls `/healthz` until it answers.
pub async fn wait_healthy(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node at {base} never became healthy");
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Spawns the real `region-node` binary.
pub fn spawn_binary(args: &[&str], envs: &[(&str, &str)], data: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_region-node"));
    command
        .args(args)
        .env_remove("CHATMESH_LISTEN")
        .env_remove("CHATMESH_DATA")
        .env_remove("CHATMESH_CONFIG")
        .env_remove("CHATMESH_REGION")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .current_dir(data);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.spawn().expect("spawn region-node")
}

/// Sends SIGTERM and waits for the exit status.
pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait().expect("wait")
}
