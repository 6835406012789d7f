//! The mesh under test.
//!
//! A local cluster starts every region of a `regions.yaml` as a real
//! `region-node` process on fresh loopback ports, with a fault-injecting
//! proxy on every inter-region link, and can kill, restart, pause and
//! resume regions, cut links (one way or both), slow them down, and skew a
//! region's clock. An existing deployment is only reached over HTTP: the
//! cluster starts nothing and can only skew clocks (through the regions'
//! testing endpoint); every other fault is refused.
//!
//! The loopback layout, the link proxies and the region processes are
//! `mesh_testkit`'s, shared with `region-node mesh`.
//!
//! - [`flags`]: which testing flags the executable has.
//! - [`admin`]: health checks and clock skew over HTTP.

pub mod admin;
pub mod flags;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mesh_testkit::MeshError;
use mesh_testkit::layout;
use mesh_testkit::links::Links;
use mesh_testkit::plan::{self, PEER_ADDRS_ENV};
use mesh_testkit::process::{Launch, Output, RegionProcess, Signal};
use placement::topology::{Topology, TopologyError};

pub use mesh_testkit::links::LinkFaults;

/// Settings of every started region: cheap password hashing, since setup
/// registers and logs in a handful of users under a run's clock, and a short
/// presence grace so killed regions' devices go offline quickly.
pub const NODE_CONFIG: &str = "\
[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[limits]
presence_grace_secs = 1
";

/// How long a starting or restarted region gets to answer `/healthz`: three
/// regions starting at once on a loaded two-core machine take a while.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the cluster could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The topology file is unusable.
    #[error("topology: {0}")]
    Topology(#[from] TopologyError),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// No region of that name.
    #[error("no region named {0}")]
    UnknownRegion(String),
    /// Starting or steering the local mesh's links or processes failed.
    #[error(transparent)]
    Mesh(#[from] MeshError),
    /// The fault needs processes and proxies this harness started.
    #[error(
        "{operation} needs a mesh started by this harness; against an existing deployment only clock skew is possible"
    )]
    NotLocal {
        /// The refused operation.
        operation: &'static str,
    },
    /// A region did not answer `/healthz` in time.
    #[error("region {region} did not answer /healthz within {waited:?}")]
    Unhealthy {
        /// The region.
        region: String,
        /// How long we waited.
        waited: Duration,
    },
    /// A region's HTTP endpoint could not be reached.
    #[error("region {region}: {source}")]
    Http {
        /// The region.
        region: String,
        /// Why.
        source: reqwest::Error,
    },
    /// A region refused the clock skew (404 when it runs without `--test-admin`).
    #[error(
        "region {region} refused the clock skew with HTTP {status} (is it started with --test-admin?)"
    )]
    Skew {
        /// The region.
        region: String,
        /// Its answer.
        status: u16,
    },
    /// `--sabotage` was asked for but the executable has no such flag.
    #[error("{} has no --sabotage flag", program.display())]
    NoSabotage {
        /// The executable.
        program: PathBuf,
    },
}

/// How to start a local cluster.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The topology to start (addresses are replaced by fresh ports).
    pub regions_file: PathBuf,
    /// The run's output directory: `regions.yaml`, `node.toml`, `certs/`,
    /// `data/<region>`, `logs/<region>.log` go here.
    pub out: PathBuf,
    /// The `region-node` executable.
    pub program: PathBuf,
    /// A sabotage mode passed to every region (`--sabotage MODE`), to check
    /// that the checker catches a broken mesh.
    pub sabotage: Option<String>,
    /// Seed of the link proxies' random draws.
    pub seed: u64,
}

/// One region as the harness reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    /// Its name.
    pub name: String,
    /// Its HTTP base URL.
    pub base: String,
}

struct Local {
    processes: Vec<RegionProcess>,
    links: Links,
}

/// A running mesh (local) or a reachable one (existing). Shared by the
/// nemesis's concurrent faults: every operation takes `&self`.
pub struct Cluster {
    regions: Vec<RegionInfo>,
    topology: Topology,
    local: Option<Local>,
    http: reqwest::Client,
    /// Regions found exited on their own (and restarted) while healing.
    crashed: std::sync::Mutex<Vec<(String, String)>>,
}

fn create_dir(path: &Path) -> Result<(), ClusterError> {
    std::fs::create_dir_all(path).map_err(|source| ClusterError::Io {
        what: format!("create {}", path.display()),
        source,
    })
}

fn write_file(path: &Path, text: &str) -> Result<(), ClusterError> {
    std::fs::write(path, text).map_err(|source| ClusterError::Io {
        what: format!("write {}", path.display()),
        source,
    })
}

impl Cluster {
    /// Starts every region of the topology on this machine and waits until
    /// each answers `/healthz`.
    pub async fn start(options: LocalOptions) -> Result<Self, ClusterError> {
        let original = Topology::load(&options.regions_file)?;
        let out = std::path::absolute(&options.out).map_err(|source| ClusterError::Io {
            what: format!("resolve {}", options.out.display()),
            source,
        })?;
        for dir in ["certs", "data", "logs"] {
            create_dir(&out.join(dir))?;
        }
        let topology = layout::local_topology(&original, &out.join("certs"), layout::free_ports)
            .map_err(|source| ClusterError::Io {
                what: "find free ports".to_owned(),
                source,
            })?;
        let yaml_path = out.join("regions.yaml");
        let yaml = serde_norway::to_string(&topology).map_err(|e| ClusterError::Io {
            what: "write the topology".to_owned(),
            source: std::io::Error::other(e),
        })?;
        write_file(&yaml_path, &yaml)?;
        let config_path = out.join("node.toml");
        write_file(&config_path, NODE_CONFIG)?;

        let links =
            Links::start(&plan::links(&topology, options.seed), LinkFaults::default()).await?;
        let flags = flags::probe_flags(&options.program).await?;
        if !flags.test_admin {
            tracing::warn!(
                program = %options.program.display(),
                "region-node has no --test-admin flag: clock skew faults will be refused"
            );
        }
        if options.sabotage.is_some() && !flags.sabotage {
            return Err(ClusterError::NoSabotage {
                program: options.program.clone(),
            });
        }
        let mut processes = Vec::new();
        for region in &topology.regions {
            let dir = out.join("data").join(region.data_dir_name());
            create_dir(&dir)?;
            let mut launch = Launch::new(&options.program, &region.name);
            launch
                .arg("--regions")
                .arg(&yaml_path)
                .arg("--region")
                .arg(&region.name)
                .arg("--data")
                .arg(dir.join("store"))
                // The flag also overrides a CHATMESH_CONFIG we might pass on.
                .arg("--config")
                .arg(&config_path)
                .env(PEER_ADDRS_ENV, links.peer_addrs(&region.name))
                .env("NO_COLOR", "1");
            if flags.test_admin {
                launch.arg("--test-admin");
            }
            if let Some(mode) = &options.sabotage {
                launch
                    .arg("--sabotage")
                    .arg(mode)
                    .env("CHATMESH_SABOTAGE_ALLOWED", "yes");
            }
            if std::env::var_os("RUST_LOG").is_none() {
                launch.env("RUST_LOG", "info");
            }
            launch.dir = Some(dir);
            launch.output = Output::Appended(out.join("logs").join(format!("{}.log", region.name)));
            processes.push(RegionProcess::new(&region.name, launch));
        }
        let cluster = Self {
            regions: infos(&topology),
            topology,
            local: Some(Local { processes, links }),
            http: reqwest::Client::new(),
            crashed: std::sync::Mutex::default(),
        };
        if let Some(local) = &cluster.local {
            for process in &local.processes {
                process.spawn()?;
            }
        }
        cluster.wait_all_healthy(START_TIMEOUT).await?;
        Ok(cluster)
    }

    /// A deployment already running at the topology's `http` addresses.
    pub fn existing(regions_file: &Path) -> Result<Self, ClusterError> {
        let topology = Topology::load(regions_file)?;
        Ok(Self {
            regions: infos(&topology),
            topology,
            local: None,
            http: reqwest::Client::new(),
            crashed: std::sync::Mutex::default(),
        })
    }

    /// The regions, in topology order.
    pub fn regions(&self) -> &[RegionInfo] {
        &self.regions
    }

    /// The region names, in topology order.
    pub fn names(&self) -> Vec<String> {
        self.regions.iter().map(|r| r.name.clone()).collect()
    }

    /// The HTTP base URL of `name`.
    pub fn base(&self, name: &str) -> Result<&str, ClusterError> {
        Ok(&self.regions[self.index(name)?].base)
    }

    /// The topology the regions run with.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Whether this harness started the regions (so every fault is possible).
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    fn index(&self, name: &str) -> Result<usize, ClusterError> {
        self.regions
            .iter()
            .position(|r| r.name == name)
            .ok_or_else(|| ClusterError::UnknownRegion(name.to_owned()))
    }

    fn local(&self, operation: &'static str) -> Result<&Local, ClusterError> {
        self.local
            .as_ref()
            .ok_or(ClusterError::NotLocal { operation })
    }

    fn process(&self, name: &str, operation: &'static str) -> Result<&RegionProcess, ClusterError> {
        let i = self.index(name)?;
        Ok(&self.local(operation)?.processes[i])
    }

    /// Waits until region `name` answers `/healthz`.
    pub async fn wait_healthy(&self, name: &str, within: Duration) -> Result<(), ClusterError> {
        admin::wait_healthy(&self.http, name, self.base(name)?, within).await
    }

    /// Waits until every region answers `/healthz`.
    pub async fn wait_all_healthy(&self, within: Duration) -> Result<(), ClusterError> {
        for region in &self.regions {
            admin::wait_healthy(&self.http, &region.name, &region.base, within).await?;
        }
        Ok(())
    }

    /// SIGKILLs region `name`.
    pub async fn kill(&self, name: &str) -> Result<(), ClusterError> {
        Ok(self.process(name, "kill")?.kill().await?)
    }

    /// Starts region `name` again with the same arguments and data, and
    /// waits until it serves. A region that still runs is left alone.
    pub async fn restart(&self, name: &str) -> Result<(), ClusterError> {
        self.process(name, "restart")?.spawn()?;
        self.wait_healthy(name, START_TIMEOUT).await
    }

    /// SIGSTOPs region `name`.
    pub async fn pause(&self, name: &str) -> Result<(), ClusterError> {
        self.process(name, "pause")?.signal(Signal::Pause).await?;
        Ok(())
    }

    /// SIGCONTs region `name`.
    pub async fn resume(&self, name: &str) -> Result<(), ClusterError> {
        self.process(name, "resume")?.signal(Signal::Resume).await?;
        Ok(())
    }

    /// Blocks (or restores) the traffic from `from` to `to` only.
    pub fn block(&self, from: &str, to: &str, blocked: bool) -> Result<(), ClusterError> {
        Ok(self.local("a link cut")?.links.block(from, to, blocked)?)
    }

    /// Cuts (or heals) the link between `a` and `b`, both ways.
    pub fn cut(&self, a: &str, b: &str, cut: bool) -> Result<(), ClusterError> {
        let links = &self.local("a link cut")?.links;
        links.block(a, b, cut)?;
        Ok(links.block(b, a, cut)?)
    }

    /// Sets the faults of the link between `a` and `b`, both ways.
    pub fn set_link_faults(
        &self,
        a: &str,
        b: &str,
        faults: LinkFaults,
    ) -> Result<(), ClusterError> {
        Ok(self.local("a slow link")?.links.set_faults(a, b, faults)?)
    }

    /// Runs region `name`'s clock `skew_ms` off (0: true time).
    pub async fn set_skew(&self, name: &str, skew_ms: i64) -> Result<(), ClusterError> {
        admin::set_clock_skew(&self.http, name, self.base(name)?, skew_ms).await
    }

    /// Undoes every fault: links whole and fast, every process resumed and
    /// running, and (with `reset_skew`) every clock true. Goes on past
    /// errors and answers the first.
    pub async fn heal_all(&self, reset_skew: bool) -> Result<(), ClusterError> {
        let mut first = None;
        let mut note = |result: Result<(), ClusterError>| {
            if let Err(error) = result
                && first.is_none()
            {
                first = Some(error);
            }
        };
        if let Some(local) = &self.local {
            local.links.heal();
            for (process, region) in local.processes.iter().zip(&self.regions) {
                note(
                    process
                        .signal(Signal::Resume)
                        .await
                        .map(|_| ())
                        .map_err(ClusterError::from),
                );
                if let Some(exit) = process.exited() {
                    // Not a fault of ours: the node died by itself, which
                    // the run must report even though it is restarted.
                    let status = exit.status_text();
                    tracing::warn!(region = %region.name, %status, "region exited by itself");
                    self.crashed
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((region.name.clone(), status));
                }
                if !process.is_running() || process.exited().is_some() {
                    note(process.kill().await.map_err(ClusterError::from));
                    note(self.restart(&region.name).await);
                }
            }
        }
        if reset_skew {
            for region in &self.regions {
                note(self.set_skew(&region.name, 0).await);
            }
        }
        match first {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Regions whose process exited by itself, with the status: those
    /// found (and restarted) while healing, and those exited now.
    pub fn exited(&self) -> Vec<(String, String)> {
        let mut exited = self
            .crashed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(local) = &self.local {
            exited.extend(
                local
                    .processes
                    .iter()
                    .zip(&self.regions)
                    .filter_map(|(p, r)| p.exited().map(|e| (r.name.clone(), e.status_text()))),
            );
        }
        exited
    }

    /// Stops every region (SIGKILL: the run's data is kept for inspection,
    /// and a clean shutdown is not what is under test).
    pub async fn shutdown(&self) {
        if let Some(local) = &self.local {
            for process in &local.processes {
                if let Err(error) = process.kill().await {
                    tracing::warn!(%error, "stop a region");
                }
            }
        }
    }
}

fn infos(topology: &Topology) -> Vec<RegionInfo> {
    topology
        .regions
        .iter()
        .map(|r| RegionInfo {
            name: r.name.clone(),
            base: layout::base_url(r.http),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_existing_deployment_refuses_every_fault_but_skew() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = dir.path().join("regions.yaml");
        std::fs::write(
            &yaml,
            "regions:\n  - { name: a, location: { lat: 0, lon: 0 }, http: 0.0.0.0:1, quic: 127.0.0.1:2 }\n  - { name: b, location: { lat: 1, lon: 1 }, http: 127.0.0.1:3, quic: 127.0.0.1:4 }\n",
        )
        .expect("write");
        let cluster = Cluster::existing(&yaml).expect("existing");
        assert!(!cluster.is_local());
        assert_eq!(cluster.names(), ["a", "b"]);
        assert_eq!(cluster.base("a").expect("a"), "http://127.0.0.1:1");
        let refused = |r: Result<(), ClusterError>| matches!(r, Err(ClusterError::NotLocal { .. }));
        assert!(refused(cluster.kill("a").await));
        assert!(refused(cluster.pause("a").await));
        assert!(refused(cluster.cut("a", "b", true)));
        assert!(refused(cluster.set_link_faults(
            "a",
            "b",
            LinkFaults::default()
        )));
        assert!(matches!(
            cluster.kill("nowhere").await,
            Err(ClusterError::UnknownRegion(_))
        ));
        // Skew is attempted (and fails here only because nothing listens).
        assert!(matches!(
            cluster.set_skew("b", 100).await,
            Err(ClusterError::Http { .. })
        ));
        // Healing an existing deployment without skew touches nothing.
        cluster.heal_all(false).await.expect("nothing to heal");
    }
}
