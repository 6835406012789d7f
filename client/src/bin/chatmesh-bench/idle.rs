//! Memory per idle connection: the region's resident memory before and
//! after thousands of devices connect and sit idle (they answer the
//! server's pings, nothing more), and the region's CPU time while they sit
//! idle.

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use crate::accounts;
use crate::node::{Target, rss_kib};
use crate::workers::Pool;
use crate::{parse_duration, stats};

/// `idle` options.
#[derive(Args)]
pub struct IdleArgs {
    /// Connections to hold open.
    #[arg(long, default_value_t = 19_000)]
    conns: usize,
    /// Users they belong to (devices are spread over them).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Receiver processes [default: one per 9,000 connections].
    #[arg(long)]
    procs: Option<usize>,
    /// How long the connections sit idle before memory is read again.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    settle: Duration,
}

/// Runs the scenario and prints the figures.
pub async fn run(target: &Target, args: &IdleArgs) -> Result<()> {
    if target.pid.is_none() {
        bail!("memory needs the region's process: let the bench start it, or pass --node-pid");
    }
    let bar = stats::progress("idle");
    let users = args.users.clamp(1, args.conns.max(1));
    let per_user = args.conns.div_ceil(users);
    bar.set_message(format!("creating {users} users × {per_user} devices"));
    let prefix = accounts::run_prefix("idle");
    let devices = accounts::devices(&target.base, &prefix, users, per_user).await?;
    let tokens: Vec<String> = devices
        .into_iter()
        .flatten()
        .take(args.conns)
        .map(|d| d.token)
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = target.rss_kib().unwrap_or(0);
    let procs = args.procs.unwrap_or_else(|| args.conns.div_ceil(9_000));
    bar.set_message(format!(
        "connecting {} devices from {procs} processes",
        tokens.len()
    ));
    let (mut pool, connected) = Pool::start(&target.base, &tokens, procs).await?;
    let after_connect = target.rss_kib().unwrap_or(0);
    bar.set_message(format!("{connected} connections idle"));
    let meter = target.meter();
    let cpu_before = meter.read()?;
    tokio::time::sleep(args.settle).await;
    let usage = meter.since(cpu_before.as_ref())?;
    let after = target.rss_kib().unwrap_or(0);
    let totals = pool.report().await?;
    let client_kib: u64 = pool.pids().into_iter().filter_map(rss_kib).sum();
    pool.stop().await;
    bar.finish_and_clear();
    let per_conn = |kib: u64| (kib.saturating_sub(before) * 1024) as f64 / connected.max(1) as f64;
    println!(
        "\nidle connections: {connected} of {} ({} closed by the server)",
        tokens.len(),
        totals.closed
    );
    println!(
        "| region RSS before | after connecting | after {} s idle | bytes per idle connection |",
        args.settle.as_secs()
    );
    println!("|---|---|---|---|");
    println!(
        "| {:.1} MiB | {:.1} MiB | {:.1} MiB | {} (at connect: {}) |",
        before as f64 / 1024.0,
        after_connect as f64 / 1024.0,
        after as f64 / 1024.0,
        stats::thousands(per_conn(after)),
        stats::thousands(per_conn(after_connect)),
    );
    println!("{}", meter.describe());
    if let Some(usage) = usage {
        let per_sec = usage.total().as_micros() as f64 / args.settle.as_secs_f64().max(1e-3);
        println!(
            "region CPU while idle ({} s, no sends, so none per send or delivery): {} µs/s, {:.2} µs/s per connection",
            args.settle.as_secs(),
            stats::thousands(per_sec),
            per_sec / connected.max(1) as f64
        );
    }
    println!(
        "load generator: {procs} processes, {:.1} MiB, {} bytes per connection",
        client_kib as f64 / 1024.0,
        stats::thousands((client_kib * 1024) as f64 / connected.max(1) as f64)
    );
    Ok(())
}
