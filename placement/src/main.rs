//! `placement`: runs the standalone chatmesh placement service.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use placement::service::AdminToken;
use placement::topology::Topology;
use tokio::net::TcpListener;

/// Address used when neither --listen nor the topology's `placement.http` says.
const DEFAULT_LISTEN: &str = "127.0.0.1:8090";

/// Run the chatmesh placement service: nearest-region routing, region health
/// and the chat directory.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Region topology file.
    #[arg(long, env = "CHATMESH_REGIONS", default_value = "regions.yaml")]
    regions: PathBuf,
    /// Address to serve HTTP on [default: the topology's placement.http, else 127.0.0.1:8090].
    #[arg(long, env = "CHATMESH_PLACEMENT_LISTEN")]
    listen: Option<SocketAddr>,
    /// JSON file to keep the chat directory in; in memory only without it.
    #[arg(long, env = "CHATMESH_PLACEMENT_STATE")]
    state: Option<PathBuf>,
    /// Bearer token required to change the directory or push heartbeats.
    #[arg(long, env = "CHATMESH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "CHATMESH_LOG_JSON")]
    log_json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let topology = Topology::load(&cli.regions).context("load region topology")?;
    if cli.admin_token.as_deref() == Some("") {
        bail!("the admin token is empty; set a real token or leave it unset");
    }
    let listen = match (cli.listen, &topology.placement) {
        (Some(listen), _) => listen,
        (None, Some(placement)) => placement.http,
        (None, None) => DEFAULT_LISTEN
            .parse()
            .context("parse default listen address")?,
    };
    let config = placement::Config {
        topology,
        state_file: cli.state,
        admin_token: AdminToken::new(cli.admin_token),
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("bind {listen}"))?;
    placement::run(config, listener, shutdown_signal())
        .await
        .context("run placement service")
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
