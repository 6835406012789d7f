//! `region-node`: runs one chatmesh region node, or with `mesh`, every
//! region of a topology on this machine.

use anyhow::Context as _;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use region_node::config::{Config, NodeArgs};
use region_node::launcher::{self, MeshArgs};
use tokio::net::TcpListener;

/// mimalloc: glibc's allocator spent a third of the node's time under a
/// send load (fragmented bins, consolidation); many small short-lived
/// buffers per message are what a chat node allocates.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run a chatmesh region node (no subcommand), or a whole local mesh.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    node: NodeArgs,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "CHATMESH_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start every region of a topology on this machine, with the links
    /// between them delayed and lossy as asked; Ctrl-C stops them all.
    Mesh(MeshArgs),
    /// Make a development CA and a server certificate it signs, for serving
    /// HTTPS and WSS on this machine (`--tls-cert`, `--tls-key`); clients
    /// trust the CA with `chatmesh --ca-cert`.
    DevCert(DevCertArgs),
    /// Replace the token signing key with a fresh one, with the node
    /// stopped (the data directory, or in a mesh the shared `token.key`,
    /// from the usual flags). Nobody is logged out: refresh tokens do not
    /// depend on the key, and clients refresh their access tokens.
    RotateTokenKey,
}

#[derive(clap::Args)]
struct DevCertArgs {
    /// Directory to write ca.pem, cert.pem and key.pem into (mode 0700).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Names the server is reached by: DNS names or IP addresses.
    #[arg(long = "name", default_values = ["localhost", "127.0.0.1"])]
    names: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Files the node creates (the store's journal holds the token signing
    // key) are for its own user alone.
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    let cli = parse_cli();
    init_tracing(cli.log_json);
    match cli.command {
        Some(Command::Mesh(args)) => {
            return launcher::run(args, cli.log_json)
                .await
                .context("run the local mesh");
        }
        Some(Command::DevCert(args)) => {
            let out = region_node::tls::dev::generate(&args.out, &args.names)
                .context("make development certificates")?;
            println!(
                "CA (give clients --ca-cert): {}\nserve with: region-node --tls-cert {} --tls-key {}",
                out.ca.display(),
                out.cert.display(),
                out.key.display()
            );
            return Ok(());
        }
        Some(Command::RotateTokenKey) => {
            let config = Config::load(&cli.node).context("load configuration")?;
            region_node::accounts::secret::rotate(&config)
                .await
                .context("rotate the token signing key")?;
            println!(
                "token signing key replaced; start the node: access tokens signed with the old key answer 401 and clients refresh"
            );
            return Ok(());
        }
        None => {}
    }
    let config = Config::load(&cli.node).context("load configuration")?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("bind {}", config.listen))?;
    region_node::run(config, listener, shutdown_signal())
        .await
        .context("run region node")
}

/// Parses the command line, refusing node flags given together with `mesh`:
/// the mesh takes every region's settings from the topology, so a
/// `--listen` there would be silently ignored. Values from the environment
/// are not refused; they are simply not passed on.
fn parse_cli() -> Cli {
    let mut command = Cli::command();
    let matches = command.get_matches_mut();
    // `rotate-token-key` acts on the node the flags describe.
    if matches
        .subcommand_name()
        .is_some_and(|name| name != "rotate-token-key")
        && let Some(flag) = node_flag_given(&command, &matches)
    {
        command
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("--{flag} configures a single node; `mesh` takes each region's settings from the topology"),
            )
            .exit();
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

/// The long name of the first node flag written on the command line (not
/// taken from the environment); `--log-json`, being global, is not one.
fn node_flag_given(command: &clap::Command, matches: &ArgMatches) -> Option<String> {
    command
        .get_arguments()
        .filter(|arg| !arg.is_global_set())
        .find(|arg| matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|arg| {
            arg.get_long()
                .map_or_else(|| arg.get_id().to_string(), str::to_owned)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(args: &[&str]) -> ArgMatches {
        Cli::command().try_get_matches_from(args).unwrap()
    }

    #[test]
    fn without_a_subcommand_the_flat_node_flags_still_work() {
        let args = [
            "region-node",
            "--listen",
            "127.0.0.1:9000",
            "--region",
            "eu",
        ];
        let cli = Cli::from_arg_matches(&matches(&args)).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.node.listen.as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(cli.node.region.as_deref(), Some("eu"));
    }

    #[test]
    fn mesh_takes_its_own_flags() {
        let args = [
            "region-node",
            "--log-json",
            "mesh",
            "--regions",
            "r.yaml",
            "--data",
            "/tmp/m",
            "--latency",
            "80ms",
            "--loss",
            "0.01",
        ];
        let found = matches(&args);
        assert_eq!(
            node_flag_given(&Cli::command(), &found),
            None,
            "--data after mesh is the mesh's"
        );
        let cli = Cli::from_arg_matches(&found).unwrap();
        assert!(cli.log_json);
        let Some(Command::Mesh(mesh)) = cli.command else {
            panic!("mesh subcommand expected");
        };
        assert_eq!(mesh.regions, std::path::PathBuf::from("r.yaml"));
        assert_eq!(mesh.data, Some("/tmp/m".into()));
        assert_eq!(mesh.latency, std::time::Duration::from_millis(80));
        assert_eq!(mesh.loss, 0.01);
        assert_eq!(mesh.seed, None);
    }

    #[test]
    fn node_flags_before_mesh_are_noticed() {
        let found = matches(&["region-node", "--listen", "127.0.0.1:1", "mesh"]);
        assert_eq!(
            node_flag_given(&Cli::command(), &found).as_deref(),
            Some("listen")
        );
        assert!(
            Cli::command()
                .try_get_matches_from(["region-node", "mesh", "--latency", "80"])
                .is_err(),
            "a latency without a unit is refused"
        );
    }
}
