//! Deliveries per second in one large group: every member has one device
//! connected through the receiver workers, a few members send from extra
//! devices at a fixed rate, and each delivered `message` frame is timed from
//! its intended send time. The region's CPU time is read over each rate's
//! measured window and the wait for its deliveries, and divided by the
//! sends and by the deliveries of that window.

use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use client::Client;

use crate::load::{self, Phase, Senders};
use crate::node::Target;
use crate::workers::Pool;
use crate::{accounts, cpu, parse_duration, stats};

/// `fanout` options.
#[derive(Args)]
pub struct FanoutArgs {
    /// Group members, owner included, each with one connected device.
    #[arg(long, default_value_t = 1000)]
    members: usize,
    /// Members who also send, from a second device.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Offered messages per second into the group; several run in turn.
    #[arg(long, value_delimiter = ',', default_value = "100,200,300,400")]
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
    /// Receiver processes.
    #[arg(long, default_value_t = 1)]
    procs: usize,
}

/// Runs the scenario and prints one row per rate.
pub async fn run(target: &Target, args: &FanoutArgs) -> Result<()> {
    let bar = stats::progress("fanout");
    bar.set_message(format!("creating {} members", args.members));
    let prefix = accounts::run_prefix("fanout");
    let sender_count = args.senders.min(args.members);
    let meter = target.meter();
    let setup_before = meter.read()?;
    let members = accounts::devices(&target.base, &prefix, args.members, 1).await?;
    let accounts_cpu = meter.since(setup_before.as_ref())?;
    let owner = members
        .first()
        .and_then(|m| m.first())
        .context("at least one member")?;
    let others: Vec<String> = members[1..]
        .iter()
        .filter_map(|m| m.first().map(|d| d.user_id.clone()))
        .collect();
    let chat = Client::new(&target.base)?
        .with_token(&owner.token)
        .create_group("fanout bench", &others, None)
        .await
        .context("create the group")?;
    let tokens: Vec<String> = members
        .iter()
        .filter_map(|m| m.first().map(|d| d.token.clone()))
        .collect();
    bar.set_message(format!("connecting {} receivers", tokens.len()));
    let (mut pool, connected) = Pool::start(&target.base, &tokens, args.procs).await?;
    // Some members send from a second device; their first one receives.
    let mut sender_tokens = Vec::new();
    for i in 0..sender_count {
        let token = accounts::another_device(&target.base, &prefix, i).await?;
        sender_tokens.push((token, chat.chat_id.clone()));
    }
    let mut senders = Senders::connect(&target.base, sender_tokens).await?;
    pool.report().await?;
    let mut rows = Vec::new();
    for &rate in &args.rates {
        let phase = Phase {
            rate,
            duration: args.duration,
            warmup: args.warmup,
            text_len: args.text_len,
        };
        let start_us = load::next_start();
        let (from_us, until_us) = phase.window(start_us);
        pool.window(from_us, until_us).await?;
        let before = meter.read_at(from_us);
        let sent = senders.run(&phase, start_us, &bar).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = before.await.context("the CPU reading task failed")??;
        let usage = meter.since(before.as_ref())?;
        let totals = pool.report().await?;
        // Deliveries of sends intended in the window, over the window or
        // until the last of them arrived, whichever is longer.
        let span = Duration::from_micros(totals.last_us.max(until_us) - from_us).as_secs_f64();
        let per_sec = if span > 0.0 {
            totals.received as f64 / span
        } else {
            0.0
        };
        let (p50, p99) = stats::p50_p99(&totals.hist);
        bar.println(format!(
            "offered {}/s × {connected}: {} deliveries/s, send→deliver {}; send→sent p99 {:.2} ms; {} closed",
            stats::thousands(rate),
            stats::thousands(per_sec),
            stats::percentiles(&totals.hist),
            stats::p50_p99(&sent.hist).1,
            totals.closed
        ));
        rows.push((
            rate,
            sent.acked,
            totals.received,
            per_sec,
            p50,
            p99,
            cpu::per_unit(usage.as_ref(), sent.acked),
            cpu::per_unit(usage.as_ref(), totals.received),
        ));
    }
    bar.finish_and_clear();
    pool.stop().await;
    println!(
        "\nfan-out in one group of {} members ({connected} receiving devices, {sender_count} sending devices, chat {})",
        args.members, chat.chat_id
    );
    println!("{}", meter.describe());
    if let Some(usage) = &accounts_cpu {
        println!("{}", cpu::accounts_line(usage, members.len()));
    }
    println!(
        "| offered msgs/s | messages sent | deliveries | deliveries/s | p50 ms | p99 ms | cpu µs/send | cpu µs/delivery |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (rate, sent, received, per_sec, p50, p99, cpu_send, cpu_delivery) in rows {
        println!(
            "| {} | {} | {} | {} | {p50:.2} | {p99:.2} | {cpu_send} | {cpu_delivery} |",
            stats::thousands(rate),
            stats::thousands(sent as f64),
            stats::thousands(received as f64),
            stats::thousands(per_sec)
        );
    }
    Ok(())
}
