//! Region memory under concurrent history pages: one group chat filled
//! with large messages, then `--concurrency` clients (each its own member,
//! token and connection) all asking for a page of `--limit` messages at a
//! random `before_seq` at the same moment, `--rounds` times.
//!
//! Closed bursts, not an open-loop rate. The question is what the region
//! holds when N pages are asked for at once, and a burst puts exactly N
//! requests in flight at its start, every round. An open-loop rate sets the
//! arrival rate, and the number in flight follows from it and the latency:
//! to hold N in flight the rate has to sit exactly at what the region
//! serves, just above it the queue (and the memory) grows without bound,
//! just below it fewer than N are ever outstanding. Latency is still taken
//! from the intended time: every request of a round is due at the round's
//! release instant, so a request that waits behind the region's bound on
//! pages read at once (`CONCURRENT_HISTORY_READS`) shows that wait.
//!
//! Set-up (accounts, the group, filling it over `POST …/messages`, one
//! probe page, one request per client to open its connection) comes before
//! any figure is read. Then the region's `VmRSS` is read after a pause, its
//! `VmHWM` is reset, and during the rounds `VmRSS` is sampled every 10 ms
//! on a thread of its own; CPU time is read over the rounds only.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use client::Client;
use futures::{StreamExt as _, TryStreamExt as _};
use rand::Rng as _;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::memory::{self, PeakSampler};
use crate::node::Target;
use crate::{accounts, cpu, stats};

/// `history` options.
#[derive(Args)]
pub struct HistoryArgs {
    /// Messages sent into the chat at set-up.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Bytes of text per message (the most a message may hold is 65,536).
    #[arg(long, default_value_t = 60_000)]
    text_bytes: usize,
    /// Clients asking for a page at the same moment.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Bursts, one after another: a round starts once the last one is answered.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Messages asked for per page (the most a page may ask for is 500).
    #[arg(long, default_value_t = 500)]
    limit: u32,
}

/// Sends in flight while filling the chat.
const FILL_IN_FLIGHT: usize = 16;
/// How often the region's `VmRSS` is sampled during the rounds.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// Time between scheduling a round and its release, so every request of
/// the round is spawned and waiting when the moment comes.
const RELEASE_LEAD: Duration = Duration::from_millis(5);
/// Pause after set-up before memory is read, so the allocator has given
/// back what filling the chat no longer uses.
const SETTLE: Duration = Duration::from_secs(2);

/// What one page request came back with.
struct Page {
    /// From the round's release to the last byte of the answer, in µs.
    latency_us: u64,
    answer: Result<PageSize>,
}

/// The size of a page that was answered.
#[derive(Default, Clone, Copy)]
struct PageSize {
    messages: u64,
    text_bytes: u64,
    json_bytes: u64,
}

/// Runs the scenario and prints the figures.
pub async fn run(target: &Target, args: &HistoryArgs) -> Result<()> {
    let Some(pid) = target.pid else {
        bail!("memory needs the region's process: let the bench start it, or pass --node-pid");
    };
    if args.concurrency == 0 || args.rounds == 0 || args.messages == 0 {
        bail!("--concurrency, --rounds and --messages must be at least 1");
    }
    let bar = stats::progress("history");
    bar.set_message(format!("creating {} users", args.concurrency));
    let prefix = accounts::run_prefix("history");
    let devices = accounts::devices(&target.base, &prefix, args.concurrency, 1).await?;
    let tokens: Vec<(String, String)> = devices
        .iter()
        .map(|user| {
            let device = user.first().context("a device per user")?;
            Ok((device.user_id.clone(), device.token.clone()))
        })
        .collect::<Result<_>>()?;
    let base = Client::new(&target.base)?;
    let owner = base.with_token(&tokens[0].1);
    let others: Vec<String> = tokens[1..].iter().map(|(user, _)| user.clone()).collect();
    let chat = owner
        .create_group("history bench", &others, None)
        .await
        .context("create the group")?
        .chat_id;

    let (first_seq, last_seq) = fill(&owner, &chat, args, &bar).await?;
    let probe = owner
        .history(&chat, None, None, Some(args.limit))
        .await
        .context("read the newest page")?;
    let per_page = probe.messages.len() as u64;
    // Below `lowest` a page would run out of messages before it is full.
    let highest = last_seq + 1;
    let lowest = (first_seq + per_page).min(highest);

    bar.set_message(format!("connecting {} clients", args.concurrency));
    let mut clients = Vec::with_capacity(tokens.len());
    for (_, token) in &tokens {
        // One `Client` each: its own connection pool, so its own connection.
        let client = Client::new(&target.base)?.with_token(token);
        client.me().await.context("open a client's connection")?;
        clients.push(client);
    }

    bar.set_message("settling");
    tokio::time::sleep(SETTLE).await;
    let before = target.rss_kib().unwrap_or(0);
    let hwm_reset = memory::reset_high_water_mark(pid);
    let meter = target.meter();
    let cpu_before = meter.read()?;
    let sampler = PeakSampler::start(pid, SAMPLE_EVERY);

    let mut hist = stats::histogram();
    let mut sizes = PageSize::default();
    let (mut pages, mut errors) = (0u64, 0u64);
    let mut first_error = None;
    let mut busy = Duration::ZERO;
    for round in 0..args.rounds {
        bar.set_message(format!(
            "round {}/{}: {} pages at once",
            round + 1,
            args.rounds,
            args.concurrency
        ));
        let release = Instant::now() + RELEASE_LEAD;
        let mut set = JoinSet::new();
        for client in &clients {
            let before_seq = rand::thread_rng().gen_range(lowest..=highest);
            let (client, chat, limit) = (client.clone(), chat.clone(), args.limit);
            set.spawn(async move {
                tokio::time::sleep_until(release).await;
                let answer = client
                    .history(&chat, None, Some(before_seq), Some(limit))
                    .await;
                let latency_us = release.elapsed().as_micros() as u64;
                Page {
                    latency_us,
                    answer: answer
                        .context("read a page")
                        .and_then(|page| page_size(&page)),
                }
            });
        }
        while let Some(page) = set.join_next().await {
            let page = page.context("a page task failed")?;
            stats::record(&mut hist, page.latency_us);
            match page.answer {
                Ok(size) => {
                    pages += 1;
                    sizes.messages += size.messages;
                    sizes.text_bytes += size.text_bytes;
                    sizes.json_bytes += size.json_bytes;
                }
                Err(error) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("{error:#}"));
                }
            }
        }
        busy += release.elapsed();
    }

    let peak = sampler.stop();
    let usage = meter.since(cpu_before.as_ref())?;
    let hwm = memory::status_kib(pid, "VmHWM:");
    let after = target.rss_kib().unwrap_or(0);
    bar.finish_and_clear();

    let mib = |kib: u64| kib as f64 / 1024.0;
    let delta = |kib: u64| (kib as f64 - before as f64) / 1024.0;
    let per = |total: u64| total as f64 / pages.max(1) as f64;
    println!(
        "\nhistory pages: {} clients × {} rounds, each asking at once for {} messages below a random before_seq in {lowest}..={highest}",
        args.concurrency, args.rounds, args.limit
    );
    println!(
        "chat: {} messages of {} B text (seq {first_seq}..={last_seq}); a full page holds {per_page}",
        stats::thousands(args.messages as f64),
        stats::thousands(args.text_bytes as f64),
    );
    let hwm_cell = match (hwm, hwm_reset) {
        (Some(hwm), true) => format!("{:.1} MiB (+{:.1})", mib(hwm), delta(hwm)),
        (Some(hwm), false) => format!("{:.1} MiB since start, not reset", mib(hwm)),
        (None, _) => "-".to_owned(),
    };
    println!(
        "| region RSS before | peak RSS (VmRSS every {} ms, {} samples) | peak VmHWM | RSS after |",
        SAMPLE_EVERY.as_millis(),
        peak.samples
    );
    println!("|---|---|---|---|");
    println!(
        "| {:.1} MiB | {:.1} MiB (+{:.1}) | {hwm_cell} | {:.1} MiB (+{:.1}) |",
        mib(before),
        mib(peak.kib),
        delta(peak.kib),
        mib(after),
        delta(after),
    );
    println!(
        "page latency from the round's release: {}",
        stats::percentiles(&hist)
    );
    println!("{}", meter.describe());
    let (p50, p99) = stats::p50_p99(&hist);
    println!(
        "| pages | errors | pages/s | p50 ms | p99 ms | max ms | messages/page | JSON bytes/page | text bytes/page | cpu µs/page |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {pages} | {errors} | {} | {p50:.1} | {p99:.1} | {:.1} | {:.1} | {} | {} | {} |",
        stats::thousands(pages as f64 / busy.as_secs_f64().max(1e-6)),
        hist.max() as f64 / 1000.0,
        per(sizes.messages),
        stats::thousands(per(sizes.json_bytes)),
        stats::thousands(per(sizes.text_bytes)),
        cpu::per_unit(usage.as_ref(), pages),
    );
    if let Some(error) = first_error {
        println!("first error: {error}");
    }
    Ok(())
}

/// Sends `--messages` messages of `--text-bytes` random letters and digits
/// (random, so no layer can compress them away) from `owner`; the first and
/// last `seq`.
async fn fill(
    owner: &Client,
    chat: &str,
    args: &HistoryArgs,
    bar: &indicatif::ProgressBar,
) -> Result<(u64, u64)> {
    let text_bytes = args.text_bytes;
    let seqs: Vec<u64> = futures::stream::iter(0..args.messages)
        .map(|i| async move {
            let text = random_text(text_bytes);
            let sent = owner
                .send_message(chat, &format!("fill-{i}"), &text)
                .await
                .with_context(|| format!("send message {i}"))?;
            if i % 100 == 0 {
                bar.set_message(format!(
                    "filling the chat: {i}/{} messages of {text_bytes} B",
                    args.messages
                ));
            }
            Ok::<_, anyhow::Error>(sent.seq)
        })
        .buffer_unordered(FILL_IN_FLIGHT)
        .try_collect()
        .await?;
    let first = seqs.iter().copied().min().context("no message sent")?;
    let last = seqs.iter().copied().max().context("no message sent")?;
    Ok((first, last))
}

/// `len` random ASCII letters and digits.
fn random_text(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A page's messages, text bytes, and JSON bytes: the decoded page encoded
/// again, which gives the answer's body length, since the server encodes
/// the same `protocol` types.
fn page_size(page: &protocol::chats::History) -> Result<PageSize> {
    let json = serde_json::to_vec(page).context("encode a page")?;
    Ok(PageSize {
        messages: page.messages.len() as u64,
        text_bytes: page.messages.iter().map(|m| m.text.len() as u64).sum(),
        json_bytes: json.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_texts_have_the_length_asked_and_differ() {
        let (a, b) = (random_text(1000), random_text(1000));
        assert_eq!(a.len(), 1000);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
