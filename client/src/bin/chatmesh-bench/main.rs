//! `chatmesh-bench`: an open-loop load generator for a chatmesh region.
//!
//! Every scenario schedules its sends at fixed intended times and measures
//! latency from the intended time, not from when the socket accepted the
//! frame, so a server that falls behind shows up in the percentiles instead
//! of quietly slowing the load down (no coordinated omission). Latencies go
//! into hdrhistogram; receivers run in worker processes so a run can hold
//! more connections than one process may open files.
//!
//! - [`node`]: the region under test: spawned from the `region-node` binary
//!   beside this one, or an existing one given by `--url`.
//! - [`accounts`]: creating users and devices in bulk.
//! - [`sends`]: durable sends per second into many chats.
//! - [`fanout`]: deliveries per second in one large group.
//! - [`idle`]: memory per idle connection.
//! - [`mesh`]: across regions of a mesh started on this machine:
//!   cross-region send→deliver with simulated RTT, replication throughput.
//! - [`load`]: open-loop senders.
//! - [`workers`]: receiver processes and the lines they speak.
//! - [`stats`]: histograms, summaries and the progress line.
//! - [`cpu`]: the region processes' CPU time, per send and per delivery.

mod accounts;
mod cpu;
mod fanout;
mod idle;
mod load;
mod mesh;
mod node;
mod sends;
mod stats;
mod workers;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

/// Measure a chatmesh region under open-loop load.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    target: node::TargetArgs,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Durable sends per second and send→sent latency into many chats.
    Sends(sends::SendsArgs),
    /// Deliveries per second and send→deliver latency in one large group.
    Fanout(fanout::FanoutArgs),
    /// Server memory per idle WebSocket connection.
    Idle(idle::IdleArgs),
    /// Send→deliver across regions of a mesh with simulated RTT, senders at
    /// the chats' home and at the receivers' region.
    Cross(mesh::cross::CrossArgs),
    /// Events per second replicated between two regions, and their lag.
    Replication(mesh::replication::ReplicationArgs),
    /// A receiver process (started by the other scenarios).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// Arguments of a receiver process.
#[derive(Args)]
struct WorkerArgs {
    /// Base URL of the region.
    #[arg(long)]
    url: String,
    /// File with one access token per line.
    #[arg(long)]
    tokens: PathBuf,
}

/// Parses `10s`, `500ms`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {text:?} (ms, s, m)")),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // These start what they need themselves: a mesh, or nothing.
    match &cli.scenario {
        Scenario::Worker(args) => return workers::run_worker(&args.url, &args.tokens).await,
        Scenario::Cross(args) => return mesh::cross::run(&cli.target, args).await,
        Scenario::Replication(args) => return mesh::replication::run(&cli.target, args).await,
        Scenario::Sends(_) | Scenario::Fanout(_) | Scenario::Idle(_) => {}
    }
    let target = node::Target::start(&cli.target).await?;
    let result = match cli.scenario {
        Scenario::Sends(args) => sends::run(&target, &args).await,
        Scenario::Fanout(args) => fanout::run(&target, &args).await,
        Scenario::Idle(args) => idle::run(&target, &args).await,
        Scenario::Worker(_) | Scenario::Cross(_) | Scenario::Replication(_) => Ok(()),
    };
    target.stop().await;
    result
}
