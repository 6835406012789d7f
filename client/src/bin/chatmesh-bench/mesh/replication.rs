//! Replication throughput over one link: two regions on loopback with no
//! added delay, many chats homed in `region-a` with their senders there,
//! one receiving device per chat (each device in several chats) in
//! `region-b`. Every message committed at the home is one replicated event
//! applied at `region-b`; it is counted when its `message` frame reaches
//! the receiver there.
//!
//! Lag is measured two ways: send→deliver at `region-b` from the intended
//! send time, an upper bound of commit→delivered (it includes the home's
//! own commit wait), and the home's replication lag gauges, sampled from its
//! `/metrics` while the phase runs.

use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;

use super::fixture::{self, SetSpec};
use super::lag::Sampler;
use super::{REGION_NAMES, measure, ms_cell, quantiles_ms};
use crate::load::{Phase, Senders};
use crate::node::{Mesh, MeshSpec, TargetArgs};
use crate::workers::Pool;
use crate::{accounts, cpu, parse_duration, stats};

/// `replication` options.
#[derive(Args)]
pub struct ReplicationArgs {
    /// Chats homed in region-a, each with its own sender device there.
    #[arg(long, default_value_t = 1000)]
    chats: usize,
    /// Receiving devices in region-b, each a member of chats / receivers
    /// chats.
    #[arg(long, default_value_t = 100)]
    receivers: usize,
    /// Offered sends (replicated events) per second; several run in turn.
    #[arg(long, value_delimiter = ',', default_value = "20000,40000,60000")]
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
    #[arg(long, default_value_t = 2)]
    procs: usize,
    /// Then pause region-b, send this long at --catch-up-rate, resume it
    /// and measure how fast it applies the backlog [default: off].
    #[arg(long, value_parser = parse_duration)]
    catch_up: Option<Duration>,
    /// Offered sends per second while region-b is paused.
    #[arg(long, default_value_t = 10_000.0)]
    catch_up_rate: f64,
    /// The topology's `replication.batch_entries` [default: the topology's].
    #[arg(long, requires = "window")]
    batch_entries: Option<usize>,
    /// The topology's `replication.window` [default: the topology's].
    #[arg(long, requires = "batch_entries")]
    window: Option<usize>,
}

/// Starts two regions, runs the scenario, prints one row per rate, and
/// stops the mesh.
pub async fn run(target: &TargetArgs, args: &ReplicationArgs) -> Result<()> {
    let mesh = Mesh::start(
        target,
        &MeshSpec {
            names: &REGION_NAMES[..2],
            one_way: Duration::ZERO,
            replication: args.batch_entries.zip(args.window),
        },
    )
    .await?;
    let result = scenario(&mesh, args).await;
    mesh.stop().await;
    result
}

async fn scenario(mesh: &Mesh, args: &ReplicationArgs) -> Result<()> {
    let home = mesh.regions.first().context("a home region")?;
    let far = mesh.regions.get(1).context("a replica region")?;
    let bar = stats::progress("replication");
    let prefix = accounts::run_prefix("repl");
    bar.set_message(format!(
        "creating {} receivers and {} chats",
        args.receivers, args.chats
    ));
    let mut layout = fixture::layout(
        &home.base,
        &far.base,
        &prefix,
        args.receivers,
        &[SetSpec {
            chats: args.chats,
            sender_at: &home.base,
        }],
    )
    .await?;
    let pairs = layout.sets.pop().context("the sender set")?;
    bar.set_message(format!("connecting {} receivers", layout.receivers.len()));
    let (mut pool, connected) = Pool::start(&far.base, &layout.receivers, args.procs).await?;
    pool.report().await?;
    bar.set_message(format!("connecting {} senders", pairs.len()));
    let mut senders = Senders::connect(&home.base, pairs).await?;
    let meter = mesh.meter()?;
    let mut rows = Vec::new();
    for &rate in &args.rates {
        let phase = Phase {
            rate,
            duration: args.duration,
            warmup: args.warmup,
            text_len: args.text_len,
        };
        let sampler = Sampler::start(&home.base, &far.name);
        let m = measure(
            &mut senders,
            &mut pool,
            &meter,
            &phase,
            Duration::from_secs(2),
            &bar,
        )
        .await?;
        let peak = sampler.finish().await;
        rows.push((rate, m, peak));
    }
    let caught_up = match args.catch_up {
        Some(duration) => {
            let phase = Phase {
                rate: args.catch_up_rate,
                duration,
                warmup: Duration::ZERO,
                text_len: args.text_len,
            };
            Some(super::catchup::measure(mesh, home, far, &mut senders, &phase, &bar).await?)
        }
        None => None,
    };
    bar.finish_and_clear();
    pool.stop().await;
    println!(
        "\nreplication region-a → region-b, no added delay: {} chats homed in region-a, senders there, \
         {connected} receiving devices in region-b; {} s per rate, {} B text; replication {}; \
         the load generator shares the machine with both regions",
        args.chats,
        args.duration.as_secs(),
        args.text_len,
        match args.batch_entries.zip(args.window) {
            Some((batch, window)) => format!("batch {batch}, window {window}"),
            None => "settings: the topology's defaults".to_owned(),
        }
    );
    println!("{}", meter.describe());
    println!(
        "| offered/s | sent | applied at region-b | errors | events/s applied | lag p50 ms | lag p99 ms | lag max ms | send→sent p99 ms | gauge max lag ms | gauge max events behind | receivers closed | cpu µs/send | cpu µs/delivery | cpu µs/send by region |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (rate, m, peak) in &rows {
        let [p50, _, p99, max] = quantiles_ms(&m.deliver_hist);
        let [cpu_send, cpu_delivery, cpu_by_region] = m.cpu_cells();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {cpu_send} | {cpu_delivery} | {cpu_by_region} |",
            stats::thousands(*rate),
            stats::thousands(m.sent as f64),
            stats::thousands(m.delivered as f64),
            m.errors,
            stats::thousands(m.delivered_per_sec),
            ms_cell(p50),
            ms_cell(p99),
            ms_cell(max),
            ms_cell(quantiles_ms(&m.sent_hist)[2]),
            if peak.samples == 0 {
                "-".to_owned()
            } else {
                format!("{:.0}", peak.ms)
            },
            if peak.samples == 0 {
                "-".to_owned()
            } else {
                stats::thousands(peak.events)
            },
            m.closed,
        );
    }
    println!(
        "lag = send→deliver at region-b from the intended send time (an upper bound of commit→delivered); \
         target: ≥ 50,000 events/s per link with p99 lag ≤ 100 ms"
    );
    if let Some(caught) = caught_up {
        println!(
            "\ncatch-up: region-b paused while region-a committed a backlog at {}/s, then resumed: \
             {} events applied in {:.2} s = {} events/s",
            stats::thousands(args.catch_up_rate),
            stats::thousands(caught.events as f64),
            caught.secs,
            stats::thousands(caught.rate()),
        );
        if let Some(usage) = &caught.cpu {
            println!(
                "catch-up CPU of {}: {} µs per event applied",
                far.name,
                cpu::per_unit(Some(usage), caught.events)
            );
        }
    }
    Ok(())
}
