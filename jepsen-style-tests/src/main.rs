//! `jepsen-style-tests`: run a workload with faults against a mesh, or
//! re-check a saved history.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jepsen::nemesis::Kinds;
use jepsen::run::{RunOptions, Status};
use mesh_testkit::flags::parse_duration_or_seconds;

/// chatmesh's consistency harness.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workload against a mesh while injecting faults; writes
    /// OUT/history.jsonl.
    Run(RunArgs),
    /// Check a saved history; writes the report next to it (or into
    /// --out). Exits 1 if it finds an anomaly.
    Check {
        /// The history (JSON lines).
        history: PathBuf,
        /// Where to write results.json, summary.txt, timeline.png and
        /// history.edn [default: the history's directory].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The region topology; every region in it is started on this machine
    /// on fresh ports (or, with --existing, reached at its addresses).
    #[arg(long, default_value = "regions.yaml")]
    regions: PathBuf,
    /// Run against the deployment at the topology's http addresses; start
    /// nothing. Only the skew nemesis works there.
    #[arg(long)]
    existing: bool,
    /// How long the workload runs, e.g. 60s or 5m.
    #[arg(long, default_value = "60s", value_parser = parse_duration_or_seconds)]
    time: Duration,
    /// Faults: a comma-separated list of partition, slow, kill, pause,
    /// skew; or all; or none.
    #[arg(long, default_value = "partition,kill,pause,slow")]
    nemesis: Kinds,
    /// Seed of the workload, the faults and the links [default: random,
    /// printed].
    #[arg(long)]
    seed: Option<u64>,
    /// Client operations a second, all processes together.
    #[arg(long, default_value_t = 30.0)]
    rate: f64,
    /// Users to register (each logs in one or two devices).
    #[arg(long, default_value_t = 6)]
    users: usize,
    /// Output directory [default: jepsen-runs/<seed>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The region-node executable [default: the one beside this binary].
    #[arg(long)]
    region_node: Option<PathBuf>,
    /// Start every region in this sabotage mode (drop-acked, duplicate,
    /// reorder, skip-fsync, ignore-removal, hlc-backwards), to see the
    /// checker catch it.
    #[arg(long, value_name = "MODE")]
    sabotage: Option<String>,
    /// How long the regions get to agree after the faults heal.
    #[arg(long, default_value = "60s", value_parser = parse_duration_or_seconds)]
    converge_within: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Run(args) => run(args).await,
        Command::Check { history, out } => {
            let out = out.unwrap_or_else(|| {
                history
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            });
            verdict(&history, &out)
        }
    }
}

/// Checks a history, prints the summary and where the report is; an
/// anomaly makes the process exit with 1.
fn verdict(history: &Path, out: &Path) -> anyhow::Result<()> {
    let report = jepsen::verdict::check_file(history, out)?;
    println!("{}", jepsen::report::summary(&report));
    println!("report: {}", out.join("summary.txt").display());
    if !report.is_valid() {
        std::process::exit(1);
    }
    Ok(())
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let region_node = match args.region_node {
        Some(path) => path,
        None => std::env::current_exe()
            .context("find this executable")?
            .with_file_name("region-node"),
    };
    if !args.existing && !region_node.exists() {
        anyhow::bail!(
            "{} not found: build it (cargo build -p chatmesh-region-node) or pass --region-node",
            region_node.display()
        );
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("jepsen-runs").join(seed.to_string()));
    eprintln!(
        "jepsen: seed {seed}, {} for {:?}, nemesis {}, output in {}",
        if args.existing {
            "an existing deployment"
        } else {
            "a local mesh"
        },
        args.time,
        if args.nemesis.0.is_empty() {
            "none".to_owned()
        } else {
            args.nemesis
                .0
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        },
        out.display()
    );
    let options = RunOptions {
        regions_file: args.regions,
        existing: args.existing,
        time: args.time,
        nemesis: args.nemesis,
        seed,
        rate: args.rate,
        users: args.users,
        out,
        region_node,
        sabotage: args.sabotage,
        converge_within: args.converge_within,
    };
    let status = Status::default();
    let progress = tokio::spawn(show_progress(status.clone()));
    let result = jepsen::run::run(options, status).await;
    progress.abort();
    let summary = result?;
    eprintln!(
        "jepsen: {} events from {} processes over {} chats; {} faults{}",
        summary.events,
        summary.processes,
        summary.chats,
        summary.nemesis.started,
        if summary.nemesis.errors.is_empty() {
            String::new()
        } else {
            format!(
                " ({} fault errors: {})",
                summary.nemesis.errors.len(),
                summary.nemesis.errors.join("; ")
            )
        }
    );
    match summary.convergence.after_heal {
        Some(after) => eprintln!(
            "jepsen: regions agreed {} ms after the heal",
            after.as_millis()
        ),
        None => eprintln!(
            "jepsen: regions did NOT agree within the deadline ({} rounds)",
            summary.convergence.rounds
        ),
    }
    for (region, status) in &summary.exited {
        eprintln!("jepsen: region {region} exited by itself: {status}");
    }
    println!("history: {}", summary.history.display());
    let out = summary
        .history
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    verdict(&summary.history, &out)
}

/// A live line on stderr: elapsed time, phase, completions, faults.
async fn show_progress(status: Status) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let (ok, fail, info) = status.counts.get();
        let faults = status.active.snapshot();
        bar.set_message(format!(
            "{} | ok {ok} fail {fail} info {info} | faults: {}",
            status.phase(),
            if faults.is_empty() {
                "none".to_owned()
            } else {
                faults.join("; ")
            }
        ));
        bar.tick();
    }
}
