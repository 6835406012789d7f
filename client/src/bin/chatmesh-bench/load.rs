//! Open-loop senders: a set of connections that send at fixed intended
//! times and measure send→`sent` from those times.
//!
//! Each send's `client_msg_id` is `b{phase}-{k}-{intended µs}` and its text
//! starts with `t={intended µs};`, so whoever sees the answer or the
//! delivered message can compute the latency without shared state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use client::ws::{Connection, FrameSender};
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use protocol::frames::{ClientFrame, ServerFrame};
use std::sync::Mutex;

use crate::stats;

/// One phase of load at one rate.
pub struct Phase {
    /// Sends per second over all connections.
    pub rate: f64,
    /// Measured time, after the warm-up.
    pub duration: Duration,
    /// Load before measuring starts.
    pub warmup: Duration,
    /// Bytes of text per message.
    pub text_len: usize,
}

impl Phase {
    /// The measured window of a phase starting at `start_us`: sends
    /// intended in `from..until` count.
    pub fn window(&self, start_us: u64) -> (u64, u64) {
        let from_us = start_us + self.warmup.as_micros() as u64;
        (from_us, from_us + self.duration.as_micros() as u64)
    }
}

/// When the next phase may start: far enough ahead that every sender task
/// is waiting for its first intended time.
pub fn next_start() -> u64 {
    stats::unix_micros() + 300_000
}

/// What a phase measured (sends whose intended time fell in the window).
pub struct PhaseResult {
    /// Sends answered by `sent`.
    pub acked: u64,
    /// Sends answered by `error`.
    pub errors: u64,
    /// One of those errors.
    pub first_error: Option<String>,
    /// From the window's start to its end, or to the last answer if later.
    pub elapsed: Duration,
    /// Send→sent latency.
    pub hist: Histogram<u64>,
}

#[derive(Default)]
struct Window {
    from_us: AtomicU64,
    until_us: AtomicU64,
    last_ack_us: AtomicU64,
    answered: AtomicU64,
}

struct ConnStats {
    hist: Histogram<u64>,
    acked: u64,
    errors: u64,
    first_error: Option<String>,
}

struct Sender {
    sink: Option<FrameSender>,
    chat_id: String,
    stats: Arc<Mutex<ConnStats>>,
}

/// Connected senders, each bound to one chat.
pub struct Senders {
    senders: Vec<Sender>,
    window: Arc<Window>,
    phase: u32,
}

impl Senders {
    /// Connects one sender per `(access token, chat)`.
    pub async fn connect(base: &str, devices: Vec<(String, String)>) -> Result<Self> {
        let window = Arc::new(Window::default());
        let connections: Vec<_> = futures::stream::iter(devices)
            .map(|(token, chat_id)| async move {
                let connection = Connection::connect(base, &token)
                    .await
                    .context("connect a sender")?;
                Ok::<_, anyhow::Error>((connection, chat_id))
            })
            .buffered(64)
            .collect()
            .await;
        let mut senders = Vec::new();
        for result in connections {
            let (connection, chat_id) = result?;
            let (sink, stream) = connection.split();
            let stats = Arc::new(Mutex::new(ConnStats {
                hist: stats::histogram(),
                acked: 0,
                errors: 0,
                first_error: None,
            }));
            tokio::spawn(answers(stream, stats.clone(), window.clone()));
            senders.push(Sender {
                sink: Some(sink),
                chat_id,
                stats,
            });
        }
        Ok(Self {
            senders,
            window,
            phase: 0,
        })
    }

    /// Runs one phase starting at `start_us` (see [`next_start`]) and waits
    /// (up to 30 s) for its answers.
    pub async fn run(
        &mut self,
        phase: &Phase,
        start_us: u64,
        bar: &ProgressBar,
    ) -> Result<PhaseResult> {
        self.phase += 1;
        let n = self.senders.len() as f64;
        let (from_us, until_us) = phase.window(start_us);
        self.window.from_us.store(from_us, Ordering::Relaxed);
        self.window.until_us.store(until_us, Ordering::Relaxed);
        self.window.last_ack_us.store(0, Ordering::Relaxed);
        self.window.answered.store(0, Ordering::Relaxed);
        let issued = Arc::new(AtomicU64::new(0));
        let period_us = n * 1e6 / phase.rate;
        let padding = "x".repeat(phase.text_len.saturating_sub(24));
        let mut writers = Vec::new();
        for (i, sender) in self.senders.iter_mut().enumerate() {
            let Some(sink) = sender.sink.take() else {
                continue;
            };
            let offset_us = i as f64 * 1e6 / phase.rate;
            let schedule = Schedule {
                phase: self.phase,
                start_us: start_us as f64 + offset_us,
                period_us,
                until_us,
            };
            writers.push(tokio::spawn(write(
                sink,
                sender.chat_id.clone(),
                schedule,
                padding.clone(),
                issued.clone(),
            )));
        }
        let mut sinks = Vec::new();
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        let mut pending = writers;
        loop {
            ticker.tick().await;
            bar.set_message(format!(
                "{} sends issued, {} answered",
                stats::thousands(issued.load(Ordering::Relaxed) as f64),
                stats::thousands(self.window.answered.load(Ordering::Relaxed) as f64)
            ));
            if pending.iter().all(|w| w.is_finished()) {
                break;
            }
        }
        for writer in pending.drain(..) {
            sinks.push(writer.await.context("a sender task failed")?);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.window.answered.load(Ordering::Relaxed) < issued.load(Ordering::Relaxed)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (sender, sink) in self.senders.iter_mut().zip(sinks) {
            sender.sink = sink;
        }
        let mut result = PhaseResult {
            acked: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            hist: stats::histogram(),
        };
        for sender in &self.senders {
            let mut s = sender.stats.lock().unwrap_or_else(|e| e.into_inner());
            result.acked += s.acked;
            result.errors += s.errors;
            if result.first_error.is_none() {
                result.first_error = s.first_error.take();
            }
            result.hist.add(&s.hist).context("merge histograms")?;
            s.hist.reset();
            s.acked = 0;
            s.errors = 0;
        }
        let last = self
            .window
            .last_ack_us
            .load(Ordering::Relaxed)
            .max(until_us);
        result.elapsed = Duration::from_micros(last - from_us);
        Ok(result)
    }
}

struct Schedule {
    phase: u32,
    start_us: f64,
    period_us: f64,
    until_us: u64,
}

/// Sends on schedule; a late send goes out at once and its lateness counts
/// in its latency.
async fn write(
    mut sink: FrameSender,
    chat_id: String,
    schedule: Schedule,
    padding: String,
    issued: Arc<AtomicU64>,
) -> Option<FrameSender> {
    for k in 0u64.. {
        let intended = (schedule.start_us + k as f64 * schedule.period_us) as u64;
        if intended >= schedule.until_us {
            break;
        }
        let now = stats::unix_micros();
        if intended > now {
            tokio::time::sleep(Duration::from_micros(intended - now)).await;
        }
        let frame = ClientFrame::Send {
            chat_id: chat_id.clone(),
            client_msg_id: format!("b{}-{k}-{intended}", schedule.phase),
            text: format!("t={intended};{padding}"),
            reply_to: None,
        };
        if sink.send(&frame).await.is_err() {
            return None;
        }
        issued.fetch_add(1, Ordering::Relaxed);
    }
    Some(sink)
}

/// Reads a sender's answers for as long as its connection lives.
async fn answers(
    mut stream: client::ws::FrameReceiver,
    stats: Arc<Mutex<ConnStats>>,
    window: Arc<Window>,
) {
    while let Ok(frame) = stream.next().await {
        let (id, error) = match frame {
            ServerFrame::Sent { client_msg_id, .. } => (client_msg_id, None),
            ServerFrame::Error {
                code,
                message,
                reference: Some(id),
            } => (id, Some(format!("{code:?}: {message}"))),
            _ => continue,
        };
        let Some(intended) = id.rsplit('-').next().and_then(|t| t.parse::<u64>().ok()) else {
            continue;
        };
        let now = stats::unix_micros();
        window.answered.fetch_add(1, Ordering::Relaxed);
        let from = window.from_us.load(Ordering::Relaxed);
        let until = window.until_us.load(Ordering::Relaxed);
        if intended < from || intended >= until {
            continue;
        }
        let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
        match error {
            None => {
                s.acked += 1;
                stats::record(&mut s.hist, now.saturating_sub(intended));
                window.last_ack_us.fetch_max(now, Ordering::Relaxed);
            }
            Some(error) => {
                s.errors += 1;
                s.first_error.get_or_insert(error);
            }
        }
    }
}
