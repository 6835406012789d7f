//! Receiver processes. A process may hold at most ~20,000 open files, so
//! the connections of a run are spread over worker processes (this binary
//! started again with the hidden `worker` command). Each worker connects
//! the devices whose tokens it is given, records the latency of every
//! `message` frame whose text carries an intended send time (`t=<µs>`), and
//! answers the parent's commands on stdin with one JSON line on stdout:
//!
//! - at start: `{"connected": n, "failed": m, "error": "…"}`
//! - `window <from µs> <until µs>`: count only messages whose intended send
//!   time falls in this window from now on (no answer)
//! - `report`: `{"received": n, "last_us": t, "closed": k, "hist": "<base64>"}`,
//!   and the counters start again
//! - `stop` or end of input: the worker exits.

use std::borrow::Cow;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result, bail};
use client::ws::Connection;
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::stats;

/// Connections opened at once by one worker.
const CONNECT_CONCURRENCY: usize = 128;

/// A worker's first line.
#[derive(Debug, Serialize, Deserialize)]
struct Connected {
    connected: usize,
    failed: usize,
    error: Option<String>,
}

/// A worker's answer to `report`.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    received: u64,
    last_us: u64,
    closed: usize,
    hist: String,
}

/// What the parent learns from all workers at once.
pub struct Totals {
    /// Message frames received.
    pub received: u64,
    /// When the last one arrived (µs since the epoch).
    pub last_us: u64,
    /// Connections the server closed.
    pub closed: usize,
    /// Send→deliver latency.
    pub hist: Histogram<u64>,
}

/// Per-connection counters, shared with the reporting loop.
#[derive(Default)]
struct Counters {
    received: u64,
    last_us: u64,
    hist: Option<Histogram<u64>>,
}

/// Runs a worker process until `stop`.
pub async fn run_worker(url: &str, tokens: &Path) -> Result<()> {
    let tokens = std::fs::read_to_string(tokens).context("read the token file")?;
    let tokens: Vec<String> = tokens.lines().map(str::to_owned).collect();
    let results: Vec<_> = futures::stream::iter(tokens)
        .map(|token| async move { Connection::connect(url, &token).await })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let mut counters = Vec::new();
    let window = Arc::new(Window::default());
    window.until_us.store(u64::MAX, Ordering::Relaxed);
    let closed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut failed = 0;
    let mut error = None;
    for result in results {
        match result {
            Ok(connection) => {
                let shared = Arc::new(Mutex::new(Counters::default()));
                counters.push(shared.clone());
                tokio::spawn(receive(connection, shared, window.clone(), closed.clone()));
            }
            Err(e) => {
                failed += 1;
                error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    say(&Connected {
        connected: counters.len(),
        failed,
        error,
    })?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["report"] => say(&collect(&counters, &closed)?)?,
            ["window", from, until] => {
                window.from_us.store(from.parse()?, Ordering::Relaxed);
                window.until_us.store(until.parse()?, Ordering::Relaxed);
            }
            ["stop"] => break,
            _ => bail!("unknown worker command {line:?}"),
        }
    }
    Ok(())
}

/// Intended send times that count.
#[derive(Default)]
struct Window {
    from_us: AtomicU64,
    until_us: AtomicU64,
}

/// The two fields of a frame the worker reads; parsing only these keeps
/// the load generator's own cost per delivery low.
#[derive(Deserialize)]
struct Light<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

/// Reads one connection's frames until it closes.
async fn receive(
    connection: Connection,
    counters: Arc<Mutex<Counters>>,
    window: Arc<Window>,
    closed: Arc<std::sync::atomic::AtomicUsize>,
) {
    let (_sender, mut receiver) = connection.split();
    while let Ok(text) = receiver.next_text().await {
        let Ok(frame) = serde_json::from_str::<Light<'_>>(&text) else {
            continue;
        };
        if frame.kind != "message" {
            continue;
        }
        let Some(intended) = frame
            .text
            .as_deref()
            .and_then(|t| t.strip_prefix("t="))
            .and_then(|rest| rest.split(';').next())
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        if intended < window.from_us.load(Ordering::Relaxed)
            || intended >= window.until_us.load(Ordering::Relaxed)
        {
            continue;
        }
        let now = stats::unix_micros();
        let mut counters = counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.received += 1;
        counters.last_us = counters.last_us.max(now);
        let hist = counters.hist.get_or_insert_with(stats::histogram);
        stats::record(hist, now.saturating_sub(intended));
    }
    closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn collect(
    counters: &[Arc<Mutex<Counters>>],
    closed: &std::sync::atomic::AtomicUsize,
) -> Result<Report> {
    let mut total = stats::histogram();
    let (mut received, mut last_us) = (0, 0);
    for shared in counters {
        let mut c = shared.lock().unwrap_or_else(|e| e.into_inner());
        received += c.received;
        last_us = last_us.max(c.last_us);
        if let Some(hist) = c.hist.take() {
            total.add(&hist).context("merge histograms")?;
        }
        *c = Counters::default();
    }
    Ok(Report {
        received,
        last_us,
        closed: closed.load(std::sync::atomic::Ordering::Relaxed),
        hist: stats::encode(&total)?,
    })
}

fn say<T: Serialize>(line: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, line)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// The parent's handle on its worker processes.
pub struct Pool {
    workers: Vec<Worker>,
    _dir: tempfile::TempDir,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Pool {
    /// Starts `procs` workers sharing `tokens` between them and waits until
    /// each has connected its share; answers the pool and how many
    /// connections are up.
    pub async fn start(base: &str, tokens: &[String], procs: usize) -> Result<(Self, usize)> {
        let dir = tempfile::tempdir().context("create a directory for token files")?;
        let exe = std::env::current_exe().context("find this binary")?;
        let procs = procs.clamp(1, tokens.len().max(1));
        let per = tokens.len().div_ceil(procs);
        let mut workers = Vec::new();
        for (i, share) in tokens.chunks(per.max(1)).enumerate() {
            let path: PathBuf = dir.path().join(format!("tokens-{i}"));
            std::fs::write(&path, share.join("\n")).context("write a token file")?;
            let mut child = Command::new(&exe)
                .arg("worker")
                .arg("--url")
                .arg(base)
                .arg("--tokens")
                .arg(&path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("start a worker process")?;
            let stdin = child.stdin.take().context("worker stdin")?;
            let stdout = child.stdout.take().context("worker stdout")?;
            workers.push(Worker {
                child,
                stdin,
                lines: BufReader::new(stdout).lines(),
            });
        }
        let mut connected = 0;
        for worker in &mut workers {
            let hello: Connected = read_line(&mut worker.lines).await?;
            if let Some(error) = hello.error {
                eprintln!("worker: {} connections failed, e.g. {error}", hello.failed);
            }
            connected += hello.connected;
        }
        Ok((Self { workers, _dir: dir }, connected))
    }

    /// Counts only messages intended to be sent in `from_us..until_us`.
    pub async fn window(&mut self, from_us: u64, until_us: u64) -> Result<()> {
        for worker in &mut self.workers {
            let line = format!("window {from_us} {until_us}\n");
            worker.stdin.write_all(line.as_bytes()).await?;
            worker.stdin.flush().await?;
        }
        Ok(())
    }

    /// The workers' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.workers.iter().filter_map(|w| w.child.id()).collect()
    }

    /// Collects and resets every worker's counters.
    pub async fn report(&mut self) -> Result<Totals> {
        for worker in &mut self.workers {
            worker.stdin.write_all(b"report\n").await?;
            worker.stdin.flush().await?;
        }
        let mut totals = Totals {
            received: 0,
            last_us: 0,
            closed: 0,
            hist: stats::histogram(),
        };
        for worker in &mut self.workers {
            let report: Report = read_line(&mut worker.lines).await?;
            totals.received += report.received;
            totals.last_us = totals.last_us.max(report.last_us);
            totals.closed += report.closed;
            totals.hist.add(stats::decode(&report.hist)?)?;
        }
        Ok(totals)
    }

    /// Stops every worker and waits for it.
    pub async fn stop(mut self) {
        for worker in &mut self.workers {
            let _ = worker.stdin.write_all(b"stop\n").await;
        }
        for worker in &mut self.workers {
            let _ = worker.child.wait().await;
        }
    }
}

async fn read_line<T: for<'de> Deserialize<'de>>(
    lines: &mut Lines<BufReader<ChildStdout>>,
) -> Result<T> {
    let line = lines.next_line().await?.context("a worker exited early")?;
    serde_json::from_str(&line).with_context(|| format!("read worker line {line:?}"))
}
