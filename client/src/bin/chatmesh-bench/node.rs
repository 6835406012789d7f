//! The region under test: a `region-node` process this bench starts on a
//! fresh data directory, or an existing region given by URL.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use tokio::process::{Child, Command};

/// Where the region comes from.
#[derive(Args)]
pub struct TargetArgs {
    /// Use this running region instead of starting one.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Its process id, to read its memory (with `--url`).
    #[arg(long, global = true)]
    pub node_pid: Option<u32>,
    /// The `region-node` binary to start [default: the one beside this binary].
    #[arg(long, global = true)]
    pub node_bin: Option<PathBuf>,
}

/// A region being measured.
pub struct Target {
    /// Its base URL.
    pub base: String,
    /// Its process, when known.
    pub pid: Option<u32>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

/// Settings of a started region: cheap password hashing so setting up
/// thousands of devices takes seconds, and a send limit far above the load,
/// since the bench measures the messaging path, not the limiter.
const BENCH_CONFIG: &str = r#"
[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[limits]
sends_per_second = 100000
send_burst = 100000
"#;

impl Target {
    /// Connects to `--url` or starts a region.
    pub async fn start(args: &TargetArgs) -> Result<Self> {
        if let Some(url) = &args.url {
            return Ok(Self {
                base: url.trim_end_matches('/').to_owned(),
                pid: args.node_pid,
                child: None,
                _dir: None,
            });
        }
        let bin = match &args.node_bin {
            Some(bin) => bin.clone(),
            None => std::env::current_exe()
                .context("find this binary")?
                .with_file_name("region-node"),
        };
        if !bin.exists() {
            bail!(
                "{} not found: build it (cargo build --release -p chatmesh-region-node) or pass --url",
                bin.display()
            );
        }
        let dir = tempfile::tempdir().context("create a data directory")?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, BENCH_CONFIG).context("write the region config")?;
        let port = free_port()?;
        let child = Command::new(&bin)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let target = Self {
            base: format!("http://127.0.0.1:{port}"),
            pid: child.id(),
            child: Some(child),
            _dir: Some(dir),
        };
        target.wait_ready().await?;
        Ok(target)
    }

    async fn wait_ready(&self) -> Result<()> {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(answer) = http.get(format!("{}/readyz", self.base)).send().await
                && answer.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the region at {} did not become ready", self.base)
    }

    /// Resident memory of the region's process in KiB, if it can be read.
    pub fn rss_kib(&self) -> Option<u64> {
        self.pid.and_then(rss_kib)
    }

    /// Stops a started region (SIGTERM, so it drains).
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?.port())
}
