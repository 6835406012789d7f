//! Durable sends per second: one sender device per chat, each chat a group
//! of its sender alone, so every `sent` is a committed, fsynced append and
//! nothing else; latency is send→`sent` from the intended send time. The
//! region's CPU time per send is read over each rate's measured window and
//! its answers (no chat has a second member, so there are no deliveries).

use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use client::Client;

use crate::load::{self, Phase, Senders};
use crate::node::Target;
use crate::{accounts, cpu, parse_duration, stats};

/// `sends` options.
#[derive(Args)]
pub struct SendsArgs {
    /// Chats, each with its own sender device.
    #[arg(long, default_value_t = 1000)]
    chats: usize,
    /// Offered sends per second; several run one after another.
    #[arg(long, value_delimiter = ',', default_value = "5000,10000,20000,30000")]
    rates: Vec<f64>,
    /// Measured time per rate.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before measuring, per rate.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 100)]
    text_len: usize,
}

/// Runs the scenario and prints one row per rate.
pub async fn run(target: &Target, args: &SendsArgs) -> Result<()> {
    let bar = stats::progress("sends");
    bar.set_message(format!("creating {} users and chats", args.chats));
    let prefix = accounts::run_prefix("sends");
    let meter = target.meter();
    let setup_before = meter.read()?;
    let devices = accounts::devices(&target.base, &prefix, args.chats, 1).await?;
    let accounts_cpu = meter.since(setup_before.as_ref())?;
    let client = Client::new(&target.base)?;
    let mut pairs = Vec::new();
    for (i, user) in devices.iter().enumerate() {
        let device = user.first().context("a device per user")?;
        let chat = client
            .with_token(&device.token)
            .create_group(&format!("bench {i}"), &[], None)
            .await
            .context("create a chat")?;
        pairs.push((device.token.clone(), chat.chat_id));
    }
    bar.set_message("connecting senders");
    let mut senders = Senders::connect(&target.base, pairs).await?;
    let mut rows = Vec::new();
    for &rate in &args.rates {
        let phase = Phase {
            rate,
            duration: args.duration,
            warmup: args.warmup,
            text_len: args.text_len,
        };
        let start_us = load::next_start();
        let before = meter.read_at(phase.window(start_us).0);
        let result = senders.run(&phase, start_us, &bar).await?;
        let before = before.await.context("the CPU reading task failed")??;
        let usage = meter.since(before.as_ref())?;
        let per_sec = result.acked as f64 / result.elapsed.as_secs_f64();
        let (p50, p99) = stats::p50_p99(&result.hist);
        bar.println(format!(
            "offered {}/s: {} durable sends/s, send→sent {}, {} errors{}",
            stats::thousands(rate),
            stats::thousands(per_sec),
            stats::percentiles(&result.hist),
            result.errors,
            result
                .first_error
                .map(|e| format!(" (e.g. {e})"))
                .unwrap_or_default()
        ));
        rows.push((
            rate,
            result.acked,
            result.errors,
            per_sec,
            p50,
            p99,
            result.hist.max() as f64 / 1000.0,
            cpu::per_unit(usage.as_ref(), result.acked),
        ));
    }
    bar.finish_and_clear();
    println!(
        "\nsends into {} chats ({} s per rate, {} B text)",
        args.chats,
        args.duration.as_secs(),
        args.text_len
    );
    println!("{}", meter.describe());
    if let Some(usage) = &accounts_cpu {
        println!("{}", cpu::accounts_line(usage, devices.len()));
    }
    println!(
        "| offered/s | sent | errors | durable sends/s | p50 ms | p99 ms | max ms | cpu µs/send |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (rate, acked, errors, per_sec, p50, p99, max, cpu_per_send) in rows {
        println!(
            "| {} | {} | {errors} | {} | {p50:.2} | {p99:.2} | {max:.2} | {cpu_per_send} |",
            stats::thousands(rate),
            stats::thousands(acked as f64),
            stats::thousands(per_sec)
        );
    }
    Ok(())
}
