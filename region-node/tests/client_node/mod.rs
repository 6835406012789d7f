//! A real region node served by `region_node::run()` inside the test
//! process on a loopback port, with cheap password hashing, that can be
//! stopped and started again on the same port and data directory.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use client::Client;
use protocol::auth::TokenResponse;
use region_node::config::{Config, NodeArgs, RawConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The shutdown trigger and the task of a running node.
type Running = (
    oneshot::Sender<()>,
    JoinHandle<Result<(), region_node::RunError>>,
);

pub struct Node {
    pub base: String,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    running: Option<Running>,
}

impl Node {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut node = Self {
            base: format!("http://{addr}"),
            addr,
            dir: tempfile::tempdir().unwrap(),
            running: None,
        };
        node.serve(listener).await;
        node
    }

    /// Stops the node gracefully (open WebSockets are closed with 1001).
    pub async fn stop(&mut self) {
        if let Some((shutdown, task)) = self.running.take() {
            let _ = shutdown.send(());
            task.await.unwrap().unwrap();
        }
    }

    /// Starts the node again on the same address and data.
    pub async fn restart(&mut self) {
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        self.serve(listener.expect("rebind the node's port")).await;
    }

    async fn serve(&mut self, listener: TcpListener) {
        let mut raw = RawConfig::default();
        raw.auth.argon2_memory_kib = Some(64);
        raw.auth.argon2_iterations = Some(1);
        let args = NodeArgs {
            data: Some(self.dir.path().to_owned()),
            listen: Some(self.addr.to_string()),
            ..NodeArgs::default()
        };
        let config = Config::from_parts(&args, raw).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(region_node::run(config, listener, async move {
            let _ = rx.await;
        }));
        self.running = Some((tx, task));
        let http = Client::new(&self.base).unwrap();
        for _ in 0..200 {
            if http
                .request(reqwest::Method::GET, "/readyz")
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("node never became ready");
    }

    /// Registers `username` and logs in: an authenticated client and its tokens.
    pub async fn user(&self, username: &str) -> (Client, TokenResponse) {
        let anonymous = Client::new(&self.base).unwrap();
        anonymous
            .register(username, "password-1", None)
            .await
            .unwrap();
        let tokens = anonymous
            .login(username, "password-1", Some("test"))
            .await
            .unwrap();
        (anonymous.with_token(&tokens.access_token), tokens)
    }
}
