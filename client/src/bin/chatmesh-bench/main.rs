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
//! - [`history`]: region memory while many clients read large history
//!   pages at once.
//! - [`mesh`]: across regions of a mesh started on this machine:
//!   cross-region send→deliver with simulated RTT, replication throughput.
//! - [`load`]: open-loop senders.
//! - [`workers`]: receiver processes and the lines they speak.
//! - [`stats`]: histograms, summaries and the progress line.
//! - [`cpu`]: the region processes' CPU time, per send and per delivery.
//! - [`memory`]: a region process's peak resident memory over a window.

mod accounts;
mod cpu;
mod fanout;
mod history;
mod idle;
mod load;
mod memory;
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
    /// Region memory, page latency and CPU while many clients read large
    /// history pages at once.
    History(history::HistoryArgs),
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

/// Parses a duration with units (`10s`, `500ms`, `2m`, `1.5s`, through
/// humantime), or a bare number of seconds (`10`), as the flags always took.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bare = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let parsed = if bare {
        humantime::parse_duration(&format!("{text}s"))
    } else {
        humantime::parse_duration(text)
    };
    parsed.map_err(|error| format!("bad duration {text:?}: {error}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // These start what they need themselves: a mesh, or nothing.
    match &cli.scenario {
        Scenario::Worker(args) => return workers::run_worker(&args.url, &args.tokens).await,
        Scenario::Cross(args) => return mesh::cross::run(&cli.target, args).await,
        Scenario::Replication(args) => return mesh::replication::run(&cli.target, args).await,
        Scenario::Sends(_) | Scenario::Fanout(_) | Scenario::Idle(_) | Scenario::History(_) => {}
    }
    let target = node::Target::start(&cli.target).await?;
    let result = match cli.scenario {
        Scenario::Sends(args) => sends::run(&target, &args).await,
        Scenario::Fanout(args) => fanout::run(&target, &args).await,
        Scenario::Idle(args) => idle::run(&target, &args).await,
        Scenario::History(args) => history::run(&target, &args).await,
        Scenario::Worker(_) | Scenario::Cross(_) | Scenario::Replication(_) => Ok(()),
    };
    target.stop().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_bare_seconds() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }
}
