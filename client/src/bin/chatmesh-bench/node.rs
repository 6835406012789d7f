//! The region under test: a `region-node` process this bench starts on a
//! fresh data directory, or an existing region given by URL; or a whole
//! mesh of regions, started as one `region-node mesh` process; and the
//! [`Meter`] of their processes' CPU time.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use tokio::process::{Child, Command};

use crate::cpu::Meter;

/// Where the region comes from.
#[derive(Args)]
pub struct TargetArgs {
    /// Use this running region instead of starting one.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Its process id, to read its memory and CPU time (with `--url`).
    #[arg(long, global = true, visible_alias = "region-pid")]
    pub node_pid: Option<u32>,
    /// The `region-node` binary to start [default: the one beside this binary].
    #[arg(long, global = true)]
    pub node_bin: Option<PathBuf>,
}

/// A region being measured.
pub struct Target {
    /// Its base URL.
    pub base: String,
    /// Its process, when known.
    pub pid: Option<u32>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

/// Settings of a started region: cheap password hashing so setting up
/// thousands of devices takes seconds, a send limit far above the load,
/// since the bench measures the messaging path, not the limiter, and no
/// login throttle: in a mesh, logins retry while their account replicates.
const BENCH_CONFIG: &str = r#"
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
login_failures_per_address = 1000000
login_failures_per_username = 1000000

[limits]
sends_per_second = 100000
send_burst = 100000
registrations_per_address = 1000000
"#;

impl Target {
    /// Connects to `--url` or starts a region.
    pub async fn start(args: &TargetArgs) -> Result<Self> {
        if let Some(url) = &args.url {
            return Ok(Self {
                base: url.trim_end_matches('/').to_owned(),
                pid: args.node_pid,
                child: None,
                _dir: None,
            });
        }
        let bin = node_binary(args)?;
        let dir = tempfile::tempdir().context("create a data directory")?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, BENCH_CONFIG).context("write the region config")?;
        let port = free_port()?;
        let child = Command::new(&bin)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let target = Self {
            base: format!("http://127.0.0.1:{port}"),
            pid: child.id(),
            child: Some(child),
            _dir: Some(dir),
        };
        target.wait_ready().await?;
        Ok(target)
    }

    async fn wait_ready(&self) -> Result<()> {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(answer) = http.get(format!("{}/readyz", self.base)).send().await
                && answer.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the region at {} did not become ready", self.base)
    }

    /// The region's process, for CPU time; nothing when it is not known.
    pub fn meter(&self) -> Meter {
        match self.pid {
            Some(pid) => Meter::new(vec![("region".to_owned(), pid)]),
            None => Meter::unavailable(),
        }
    }

    /// Resident memory of the region's process in KiB, if it can be read.
    pub fn rss_kib(&self) -> Option<u64> {
        self.pid.and_then(rss_kib)
    }

    /// Stops a started region (SIGTERM, so it drains).
    pub async fn stop(mut self) {
        terminate(self.child.take(), Duration::from_secs(10)).await;
    }
}

/// The `region-node` binary: `--node-bin`, else the one beside this binary.
fn node_binary(args: &TargetArgs) -> Result<PathBuf> {
    let bin = match &args.node_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()
            .context("find this binary")?
            .with_file_name("region-node"),
    };
    if !bin.exists() {
        bail!(
            "{} not found: build it (cargo build --release -p chatmesh-region-node) or pass --url",
            bin.display()
        );
    }
    Ok(bin)
}

/// One region of a started mesh.
#[derive(Debug, Clone)]
pub struct MeshRegion {
    /// Its name in the topology.
    pub name: String,
    /// Its HTTP base URL.
    pub base: String,
}

/// A whole mesh on this machine: `region-node mesh` run as one child
/// process on a generated topology of free loopback ports, with the same
/// bench settings as a single region, given to every region through
/// `CHATMESH_CONFIG`.
pub struct Mesh {
    /// The regions, in topology order.
    pub regions: Vec<MeshRegion>,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// What to start.
pub struct MeshSpec<'a> {
    /// Region names, in topology order.
    pub names: &'a [&'a str],
    /// Delay added to every packet between two regions, each direction.
    pub one_way: Duration,
    /// `settings.replication` of the topology: events per batch and in
    /// flight per link; `None` keeps the topology's defaults.
    pub replication: Option<(usize, usize)>,
}

impl Mesh {
    /// Starts the mesh and waits until every region is ready and every
    /// link is up (each region reports `chatmesh_peer_up 1` for each peer).
    pub async fn start(args: &TargetArgs, spec: &MeshSpec<'_>) -> Result<Self> {
        if args.url.is_some() {
            bail!("mesh scenarios start their own mesh; --url is for single-region scenarios");
        }
        let bin = node_binary(args)?;
        let dir = tempfile::tempdir().context("create a data directory")?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, BENCH_CONFIG).context("write the region config")?;
        let mut ports = Vec::new();
        for _ in spec.names {
            ports.push((free_port()?, free_udp_port()?));
        }
        let yaml = topology_yaml(
            spec.names,
            &ports,
            &dir.path().join("certs"),
            spec.replication,
        );
        let regions_file = dir.path().join("regions.yaml");
        std::fs::write(&regions_file, yaml).context("write the topology")?;
        let child = Command::new(&bin)
            .arg("mesh")
            .arg("--regions")
            .arg(&regions_file)
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--latency")
            .arg(format!("{}us", spec.one_way.as_micros()))
            .env("CHATMESH_CONFIG", &config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {} mesh", bin.display()))?;
        let mesh = Self {
            regions: spec
                .names
                .iter()
                .zip(&ports)
                .map(|(name, (http, _))| MeshRegion {
                    name: (*name).to_owned(),
                    base: format!("http://127.0.0.1:{http}"),
                })
                .collect(),
            child: Some(child),
            dir,
        };
        mesh.wait_linked().await?;
        Ok(mesh)
    }

    /// The process id of region `name` (found by its data directory).
    pub fn pid_of(&self, name: &str) -> Result<u32> {
        let data = self.dir.path().join("data").join(name);
        let output = std::process::Command::new("pgrep")
            .arg("-f")
            .arg(data.as_os_str())
            .output()
            .context("run pgrep")?;
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|line| line.trim().parse().ok())
            .with_context(|| format!("no process of region {name}"))
    }

    /// Every region's process, for CPU time (the launcher itself, which
    /// runs the link proxies, is not a region and is left out).
    pub fn meter(&self) -> Result<Meter> {
        let processes = self
            .regions
            .iter()
            .map(|region| Ok((region.name.clone(), self.pid_of(&region.name)?)))
            .collect::<Result<_>>()?;
        Ok(Meter::new(processes))
    }

    async fn wait_linked(&self) -> Result<()> {
        let http = reqwest::Client::new();
        for region in &self.regions {
            let mut linked = false;
            for _ in 0..600 {
                if let Ok(answer) = http.get(format!("{}/metrics", region.base)).send().await
                    && let Ok(text) = answer.text().await
                    && self
                        .regions
                        .iter()
                        .filter(|peer| peer.name != region.name)
                        .all(|peer| gauge(&text, "chatmesh_peer_up", &peer.name) == Some(1.0))
                {
                    linked = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !linked {
                bail!("region {} did not link with every peer", region.name);
            }
        }
        Ok(())
    }

    /// Stops the mesh (SIGTERM to the launcher, which drains every region).
    pub async fn stop(mut self) {
        terminate(self.child.take(), Duration::from_secs(40)).await;
    }
}

/// Sends `signal` (`-STOP`, `-CONT`, `-TERM`, …) to process `pid`.
pub fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .context("run kill")?;
    if !status.success() {
        bail!("kill {signal} {pid} failed");
    }
    Ok(())
}

/// SIGTERMs `child` (if any) and waits up to `wait` for it to exit.
async fn terminate(child: Option<Child>, wait: Duration) {
    if let Some(mut child) = child {
        if let Some(pid) = child.id() {
            let _ = signal(pid, "-TERM");
        }
        let _ = tokio::time::timeout(wait, child.wait()).await;
    }
}

/// A topology of regions on loopback, the first at 0°, the next further
/// east; its certificates go to `certs` so every region shares one CA.
fn topology_yaml(
    names: &[&str],
    ports: &[(u16, u16)],
    certs: &std::path::Path,
    replication: Option<(usize, usize)>,
) -> String {
    let mut yaml = String::from("regions:\n");
    for (i, (name, (http, quic))) in names.iter().zip(ports).enumerate() {
        yaml.push_str(&format!(
            "  - name: {name}\n    location: {{ lat: 0.0, lon: {} }}\n    http: 127.0.0.1:{http}\n    quic: 127.0.0.1:{quic}\n",
            30 * i
        ));
    }
    yaml.push_str(&format!("settings:\n  certs_dir: '{}'\n", certs.display()));
    if let Some((batch, window)) = replication {
        yaml.push_str(&format!(
            "  replication:\n    batch_entries: {batch}\n    window: {window}\n"
        ));
    }
    yaml
}

/// The value of gauge `name{peer="peer"}` in OpenMetrics text.
pub fn gauge(text: &str, name: &str, peer: &str) -> Option<f64> {
    let series = format!("{name}{{peer=\"{peer}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    crate::memory::status_kib(pid, "VmRSS:")
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn free_udp_port() -> Result<u16> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").context("find a free UDP port")?;
    Ok(socket.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_read_by_name_and_peer() {
        let text = "# TYPE chatmesh_peer_up gauge\n\
chatmesh_peer_up{peer=\"region-b\"} 1\n\
chatmesh_peer_up{peer=\"region-c\"} 0\n\
chatmesh_replication_lag_ms{peer=\"region-b\"} 12.5\n";
        assert_eq!(gauge(text, "chatmesh_peer_up", "region-b"), Some(1.0));
        assert_eq!(gauge(text, "chatmesh_peer_up", "region-c"), Some(0.0));
        assert_eq!(
            gauge(text, "chatmesh_replication_lag_ms", "region-b"),
            Some(12.5)
        );
        assert_eq!(gauge(text, "chatmesh_peer_up", "region-d"), None);
        assert_eq!(gauge(text, "chatmesh_peer", "region-b"), None);
    }

    #[test]
    fn the_topology_names_every_region_and_its_ports() {
        let yaml = topology_yaml(
            &["region-a", "region-b"],
            &[(8001, 9001), (8002, 9002)],
            std::path::Path::new("/tmp/certs"),
            Some((512, 4096)),
        );
        assert!(yaml.contains("name: region-a\n"), "{yaml}");
        assert!(
            yaml.contains("http: 127.0.0.1:8002\n    quic: 127.0.0.1:9002"),
            "{yaml}"
        );
        assert!(yaml.contains("certs_dir: '/tmp/certs'"), "{yaml}");
        assert!(
            yaml.contains("batch_entries: 512\n    window: 4096"),
            "{yaml}"
        );
    }
}
