//! `region-node mesh`: every region of a topology on this machine in one
//! command, with the links between them slowed and made lossy by userspace
//! proxies, so a laptop behaves like regions continents apart.
//!
//! The launcher starts one proxy per ordered pair of regions, then one child
//! process per region: this same executable with
//! `--regions FILE --region NAME --data DIR/NAME`, told through
//! `CHATMESH_PEER_ADDRS` to dial each peer through its proxy. Children's
//! output is copied to ours behind a `[region]` prefix. The plan, the
//! proxies and the processes are `mesh_testkit`'s, shared with the
//! consistency harness; what is here is the command itself. A stop request
//! (Ctrl-C, SIGTERM, SIGHUP) is passed on as SIGTERM and the launcher exits
//! once every region has drained; a second one, or a region still running
//! after [`STOP_GRACE`], ends them with SIGKILL. A region that exits on its
//! own stops the rest, and the launcher exits with an error naming it.
//!
//! - `signals`: the launcher's own stop requests.
//! - `table`: the start-up summary.

mod signals;
mod table;

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use mesh_testkit::children::Children;
use mesh_testkit::flags::{parse_duration, parse_probability};
use mesh_testkit::links::{LinkFaults, Links};
use mesh_testkit::plan::{self, PEER_ADDRS_ENV, Route};
use mesh_testkit::process::{Launch, Output, RegionProcess};
use placement::topology::Topology;

use self::signals::StopSignals;
use self::table::Summary;

/// How long regions get to drain after SIGTERM before they are killed; a
/// node waits up to 10 s for its chat tasks, then flushes its store.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// Flags of `region-node mesh`.
#[derive(Debug, Clone, Args)]
pub struct MeshArgs {
    /// The topology; every region in it is started on this machine.
    #[arg(long, default_value = "regions.yaml")]
    pub regions: PathBuf,
    /// Parent of the regions' data directories; each region uses
    /// DIR/<its data name> [default: $XDG_DATA_HOME/chatmesh/mesh].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// One-way delay added to every packet between regions, e.g. 80ms.
    #[arg(long, value_parser = parse_duration, default_value = "0ms")]
    pub latency: Duration,
    /// Each packet's delay varies by up to ± this much, e.g. 5ms.
    #[arg(long, value_parser = parse_duration, default_value = "0ms")]
    pub jitter: Duration,
    /// Probability that a packet between regions is dropped, e.g. 0.01.
    #[arg(long, value_parser = parse_probability, default_value = "0")]
    pub loss: f64,
    /// Seed for the links' loss and jitter draws, to replay a run
    /// [default: random, printed at start].
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs the mesh until a stop request or a region's exit, starting each
/// region as this executable.
pub async fn run(args: MeshArgs, log_json: bool) -> anyhow::Result<()> {
    let program = std::env::current_exe().context("find the region-node executable")?;
    run_with(&program, args, log_json).await
}

/// [`run`], starting each region as `program`.
pub async fn run_with(program: &Path, args: MeshArgs, log_json: bool) -> anyhow::Result<()> {
    let topology = Topology::load(&args.regions).context("load the topology")?;
    // Children resolve the file from the same working directory, but an
    // absolute path reads unambiguously in `ps` and in their logs.
    let regions_file = std::path::absolute(&args.regions).context("resolve the topology path")?;
    let data_root = args
        .data
        .clone()
        .unwrap_or_else(|| crate::config::default_data_dir("mesh"));
    let seed = args.seed.unwrap_or_else(rand::random);
    let faults = LinkFaults {
        delay: args.latency,
        jitter: args.jitter,
        loss: args.loss,
        duplicate: 0.0,
    };

    let links = plan::links(&topology, seed);
    let proxies = Links::start(&links, faults)
        .await
        .context("start the link proxies")?;
    let routes: Vec<Route> = proxies.routes().cloned().collect();
    // Listen before the first child starts, so no stop request is missed.
    let mut signals = StopSignals::new().context("listen for stop signals")?;

    // Before the first region speaks, so the table heads the output.
    print!(
        "{}",
        Summary {
            regions_file: &args.regions,
            topology: &topology,
            data_root: &data_root,
            faults,
            seed,
            routes: &routes,
        }
        .render()
    );
    // Children write into a pipe, so they cannot tell whether colours would
    // reach a terminal; we can.
    let colour = std::io::stderr().is_terminal();
    let label_width = topology.names().map(str::len).max().unwrap_or(0) + 2;
    let mut children = Children::new();
    for region in &topology.regions {
        let mut launch = Launch::new(program, &region.name);
        launch
            .arg("--regions")
            .arg(&regions_file)
            .arg("--region")
            .arg(&region.name)
            .arg("--data")
            .arg(data_root.join(region.data_dir_name()))
            .env(PEER_ADDRS_ENV, proxies.peer_addrs(&region.name));
        if log_json {
            launch.arg("--log-json");
        }
        if !colour {
            launch.env("NO_COLOR", "1");
        }
        launch.output = Output::Prefixed(format!("{:<label_width$}", format!("[{}]", region.name)));
        // Ctrl-C reaches only the launcher, which then stops the regions in order.
        launch.own_group = true;
        if let Err(error) = children.spawn(RegionProcess::new(&region.name, launch)) {
            stop_started(&mut children).await;
            return Err(error).context("start the regions");
        }
    }

    let serving = tokio::spawn(announce_when_serving(
        topology.regions.iter().map(|r| r.http).collect(),
    ));

    let failures = supervise(&mut children, &mut signals).await;
    serving.abort();
    drop(proxies);
    if failures.is_empty() {
        eprintln!("mesh: every region stopped");
        Ok(())
    } else {
        anyhow::bail!("{}", failures.join("; "))
    }
}

/// Waits until every child has exited, passing stop requests on; answers
/// what went wrong, empty when the mesh stopped because it was asked to.
async fn supervise(children: &mut Children, signals: &mut StopSignals) -> Vec<String> {
    let mut failures = Vec::new();
    let mut stopping = false;
    let mut killed = false;
    let grace = tokio::time::sleep(Duration::MAX);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            signal = signals.recv() => {
                if stopping {
                    eprintln!("mesh: {signal} again, killing the regions");
                    children.kill_all();
                    killed = true;
                } else {
                    eprintln!("mesh: {signal}, stopping {} region(s); repeat to kill them", children.len());
                    children.terminate_all();
                    stopping = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
                }
            }
            exit = children.next_exit() => {
                let Some(exit) = exit else { break };
                if !stopping {
                    let why = format!("region {} exited unexpectedly ({})", exit.region, exit.status_text());
                    eprintln!("mesh: {why}; stopping the others");
                    failures.push(why);
                    children.terminate_all();
                    stopping = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + STOP_GRACE);
                } else if !exit.stopped_cleanly() {
                    let why = format!("region {} stopped badly ({})", exit.region, exit.status_text());
                    eprintln!("mesh: {why}");
                    failures.push(why);
                }
                if children.is_empty() {
                    break;
                }
            }
            () = &mut grace, if stopping && !killed => {
                eprintln!(
                    "mesh: {} region(s) still running after {}s, killing them",
                    children.len(),
                    STOP_GRACE.as_secs()
                );
                children.kill_all();
                killed = true;
            }
        }
    }
    failures
}

/// Stops the children started before a later one failed to start.
async fn stop_started(children: &mut Children) {
    children.terminate_all();
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while children.next_exit().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        children.kill_all();
        while children.next_exit().await.is_some() {}
    }
}

/// Prints one line once every region answers `GET /healthz` with 200; gives
/// up quietly after a minute (a region that fails to start is reported by
/// its exit instead).
async fn announce_when_serving(addrs: Vec<SocketAddr>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for addr in &addrs {
        while !healthy(*addr).await {
            if tokio::time::Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!("mesh: all {} region(s) are serving", addrs.len());
}

/// One plain HTTP/1.1 `GET /healthz`: an open port alone could be anyone's.
async fn healthy(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        std::io::Result::Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), probe).await,
        Ok(Ok(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    async fn answer_once(listener: &TcpListener, response: &'static [u8]) {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"GET /healthz HTTP/1.1\r\n"));
        stream.write_all(response).await.unwrap();
    }

    #[tokio::test]
    async fn only_a_200_from_healthz_counts_as_serving() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ok, ()) = tokio::join!(
            healthy(addr),
            answer_once(&listener, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        );
        assert!(ok);
        let (ok, ()) = tokio::join!(
            healthy(addr),
            answer_once(&listener, b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
        );
        assert!(!ok);
        drop(listener);
        assert!(!healthy(addr).await, "nothing listening");
    }
}
