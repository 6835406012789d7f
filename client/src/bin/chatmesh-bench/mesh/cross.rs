//! Cross-region send→deliver: three regions with a simulated one-way delay
//! on every link, groups homed in the first region (`region-a`), their
//! receiving devices connected to the second (`region-b`), and senders
//! either at the home (a message reaches the receivers after one
//! replication hop) or at the receivers' region (the send is forwarded to
//! the home and the committed message replicated back: two hops).
//!
//! Each placement has its own chats, so while one placement sends, the
//! other's connections receive nothing. Latency runs from a send's intended
//! time to the `message` frame at the receiver in `region-b`.

use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};

use super::fixture::{self, SetSpec};
use super::{REGION_NAMES, measure, ms_cell, quantiles_ms};
use crate::load::{Phase, Senders};
use crate::node::{Mesh, MeshSpec, TargetArgs};
use crate::workers::Pool;
use crate::{accounts, parse_duration, stats};

/// Where the senders connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Placement {
    /// At the chats' home region: one replication hop to the receivers.
    Home,
    /// At the receivers' region: forwarded to the home, replicated back.
    Remote,
}

impl Placement {
    fn label(self) -> &'static str {
        match self {
            Self::Home => "home (region-a)",
            Self::Remote => "remote (region-b)",
        }
    }
}

/// `cross` options.
#[derive(Args)]
pub struct CrossArgs {
    /// Delay added to every packet between two regions, each direction, ms.
    #[arg(long, default_value_t = 40)]
    one_way_ms: u64,
    /// Chats per sender placement, each with its own sender device.
    #[arg(long, default_value_t = 500)]
    chats: usize,
    /// Receiving devices in region-b, each a member of chats / receivers
    /// chats of each placement.
    #[arg(long, default_value_t = 100)]
    receivers: usize,
    /// Sender placements to run, in turn.
    #[arg(long, value_delimiter = ',', default_value = "home,remote")]
    placements: Vec<Placement>,
    /// Offered sends per second; several run one after another.
    #[arg(long, value_delimiter = ',', default_value = "1000,2500,5000")]
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

/// One printed row.
struct Row {
    placement: Placement,
    rate: f64,
    sent: u64,
    errors: u64,
    delivered: u64,
    per_sec: f64,
    deliver: [f64; 4],
    sent_p99: f64,
    closed: usize,
    /// µs per send, per delivery, per send by region.
    cpu: [String; 3],
}

/// Starts the mesh, runs the scenario, prints one row per placement and
/// rate, and stops the mesh.
pub async fn run(target: &TargetArgs, args: &CrossArgs) -> Result<()> {
    let one_way = Duration::from_millis(args.one_way_ms);
    let mesh = Mesh::start(
        target,
        &MeshSpec {
            names: &REGION_NAMES,
            one_way,
            replication: None,
        },
    )
    .await?;
    let result = scenario(&mesh, args, one_way).await;
    mesh.stop().await;
    result
}

async fn scenario(mesh: &Mesh, args: &CrossArgs, one_way: Duration) -> Result<()> {
    let home = &mesh.regions.first().context("a home region")?.base;
    let far = &mesh.regions.get(1).context("a receivers' region")?.base;
    let bar = stats::progress("cross");
    let prefix = accounts::run_prefix("cross");
    bar.set_message(format!(
        "creating {} receivers and {} chats",
        args.receivers,
        args.chats * args.placements.len()
    ));
    let specs: Vec<SetSpec<'_>> = args
        .placements
        .iter()
        .map(|placement| SetSpec {
            chats: args.chats,
            sender_at: match placement {
                Placement::Home => home,
                Placement::Remote => far,
            },
        })
        .collect();
    let layout = fixture::layout(home, far, &prefix, args.receivers, &specs).await?;
    bar.set_message(format!("connecting {} receivers", layout.receivers.len()));
    let (mut pool, connected) = Pool::start(far, &layout.receivers, args.procs).await?;
    pool.report().await?;
    // Long enough for a send's two hops and a last batch after the answers.
    let settle = Duration::from_secs(2) + one_way * 4;
    let meter = mesh.meter()?;
    let mut rows = Vec::new();
    for ((&placement, spec), pairs) in args.placements.iter().zip(&specs).zip(layout.sets) {
        bar.set_message(format!(
            "connecting {} senders at {}",
            pairs.len(),
            spec.sender_at
        ));
        let mut senders = Senders::connect(spec.sender_at, pairs).await?;
        for &rate in &args.rates {
            let phase = Phase {
                rate,
                duration: args.duration,
                warmup: args.warmup,
                text_len: args.text_len,
            };
            let m = measure(&mut senders, &mut pool, &meter, &phase, settle, &bar).await?;
            rows.push(Row {
                placement,
                rate,
                sent: m.sent,
                errors: m.errors,
                delivered: m.delivered,
                per_sec: m.delivered_per_sec,
                deliver: quantiles_ms(&m.deliver_hist),
                sent_p99: quantiles_ms(&m.sent_hist)[2],
                closed: m.closed,
                cpu: m.cpu_cells(),
            });
        }
    }
    bar.finish_and_clear();
    pool.stop().await;
    let rtt_ms = 2 * one_way.as_millis();
    println!(
        "\ncross-region send→deliver: {} regions, one-way delay {} ms per link (RTT {rtt_ms} ms); \
         chats homed in region-a, {connected} receiving devices in region-b; {} chats per placement; \
         {} s per rate, {} B text; the load generator shares the machine with every region",
        mesh.regions.len(),
        one_way.as_millis(),
        args.chats,
        args.duration.as_secs(),
        args.text_len
    );
    println!("{}", meter.describe());
    println!(
        "| senders at | offered/s | sent | deliveries | errors | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | send→sent p99 ms | receivers closed | cpu µs/send | cpu µs/delivery | cpu µs/send by region |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let [p50, p90, p99, max] = row.deliver;
        let [cpu_send, cpu_delivery, cpu_by_region] = &row.cpu;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {cpu_send} | {cpu_delivery} | {cpu_by_region} |",
            row.placement.label(),
            stats::thousands(row.rate),
            stats::thousands(row.sent as f64),
            stats::thousands(row.delivered as f64),
            row.errors,
            stats::thousands(row.per_sec),
            ms_cell(p50),
            ms_cell(p90),
            ms_cell(p99),
            ms_cell(max),
            ms_cell(row.sent_p99),
            row.closed,
        );
    }
    println!(
        "target: p99 send→deliver ≤ RTT + 25 ms = {} ms at 5,000 sends/s",
        rtt_ms + 25
    );
    Ok(())
}
