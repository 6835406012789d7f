//! One whole run: bring up (or reach) the mesh, set up the workload, run it
//! with the nemesis for the asked time, stop it, heal everything, wait for
//! the regions to agree and record the final reads.
//!
//! `OUT/history.jsonl` is the history; a local mesh also leaves its
//! topology, data and logs in `OUT`, and `OUT/nemesis-plan.txt` lists the
//! planned faults of the seed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio_util::sync::CancellationToken;

use crate::cluster::{Cluster, LocalOptions};
use crate::nemesis::{self, Active, Kind, Kinds, schedule};
use crate::workload::converge::{self, Convergence};
use crate::workload::recorder::{Counts, Recorder};
use crate::workload::{Workload, WorkloadOptions};

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The topology.
    pub regions_file: PathBuf,
    /// Use the deployment at the topology's addresses instead of starting one.
    pub existing: bool,
    /// How long the workload (and the nemesis) runs.
    pub time: Duration,
    /// The faults.
    pub nemesis: Kinds,
    /// The seed of the workload, the nemesis and the links.
    pub seed: u64,
    /// Operations a second, all processes together.
    pub rate: f64,
    /// Users to register.
    pub users: usize,
    /// Where the history (and a local mesh's files) go.
    pub out: PathBuf,
    /// The `region-node` executable, for a local mesh.
    pub region_node: PathBuf,
    /// A sabotage mode for every region of a local mesh.
    pub sabotage: Option<String>,
    /// How long to wait for the regions to agree after the heal.
    pub converge_within: Duration,
}

/// What a run is doing, for a progress line.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Client completions so far.
    pub counts: Arc<Counts>,
    /// Faults in force.
    pub active: Active,
    phase: Arc<Mutex<String>>,
}

impl Status {
    /// The current phase.
    pub fn phase(&self) -> String {
        self.phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_phase(&self, phase: &str) {
        *self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = phase.to_owned();
    }
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The history file.
    pub history: PathBuf,
    /// Events written.
    pub events: u64,
    /// Client processes.
    pub processes: usize,
    /// Chats.
    pub chats: usize,
    /// Faults started and errors met.
    pub nemesis: nemesis::Outcome,
    /// How the final phase ended.
    pub convergence: Convergence,
    /// Regions whose process exited by itself (a crash under test).
    pub exited: Vec<(String, String)>,
}

/// Runs the workload with faults and records the history.
pub async fn run(options: RunOptions, status: Status) -> anyhow::Result<RunSummary> {
    if options.existing {
        let refused: Vec<&str> = options
            .nemesis
            .0
            .iter()
            .filter(|k| !k.works_on_existing())
            .map(|k| k.name())
            .collect();
        if !refused.is_empty() {
            bail!(
                "--existing: only the skew nemesis works against a deployment this harness did not start; remove {}",
                refused.join(", ")
            );
        }
        if options.sabotage.is_some() {
            bail!("--sabotage starts regions in a sabotage mode; it cannot apply to --existing");
        }
    }
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("create {}", options.out.display()))?;

    status.set_phase("starting the mesh");
    let cluster = if options.existing {
        let cluster = Cluster::existing(&options.regions_file).context("read the topology")?;
        cluster
            .wait_all_healthy(Duration::from_secs(10))
            .await
            .context("reach the deployment")?;
        cluster
    } else {
        Cluster::start(LocalOptions {
            regions_file: options.regions_file.clone(),
            out: options.out.clone(),
            program: options.region_node.clone(),
            sabotage: options.sabotage.clone(),
            seed: options.seed,
        })
        .await
        .context("start the mesh")?
    };
    let cluster = Arc::new(cluster);
    let result = drive(&options, &status, cluster.clone()).await;
    status.set_phase("stopping the mesh");
    let exited = cluster.exited();
    cluster.shutdown().await;
    let mut summary = result?;
    summary.exited = exited;
    status.set_phase("done");
    Ok(summary)
}

async fn drive(
    options: &RunOptions,
    status: &Status,
    cluster: Arc<Cluster>,
) -> anyhow::Result<RunSummary> {
    status.set_phase("setting up users and groups");
    let tag = format!("{:08x}", rand::random::<u32>());
    let workload_options = WorkloadOptions {
        users: options.users,
        rate: options.rate,
        seed: options.seed,
        ..WorkloadOptions::default()
    };
    let mut workload = Workload::setup(cluster.regions(), workload_options, &tag)
        .await
        .context("set up the workload")?;

    let plan = schedule::plan(&schedule::PlanSettings {
        kinds: options.nemesis.0.clone(),
        regions: cluster.names(),
        duration: options.time,
        max_offset_ms: cluster.topology().settings.max_clock_offset_ms,
        seed: options.seed,
    });
    let plan_text: String = plan
        .iter()
        .map(|p| {
            format!(
                "{:>8.1}s {:>6.1}s {}\n",
                p.at.as_secs_f64(),
                p.hold.as_secs_f64(),
                p.fault.describe()
            )
        })
        .collect();
    let plan_path = options.out.join("nemesis-plan.txt");
    std::fs::write(&plan_path, plan_text)
        .with_context(|| format!("write {}", plan_path.display()))?;

    let history = options.out.join("history.jsonl");
    let (recorder, writer) = Recorder::start(&history, Instant::now(), status.counts.clone())
        .with_context(|| format!("create {}", history.display()))?;
    let cancel = CancellationToken::new();
    status.set_phase("running");
    workload.start(&recorder, &cancel);
    let nemesis = tokio::spawn(nemesis::run(
        cluster.clone(),
        plan,
        recorder.clone(),
        status.active.clone(),
        cancel.clone(),
    ));
    tokio::select! {
        () = tokio::time::sleep(options.time) => {}
        interrupted = tokio::signal::ctrl_c() => {
            if interrupted.is_ok() {
                tracing::warn!("interrupted: stopping the workload and healing");
            }
        }
    }
    cancel.cancel();
    status.set_phase("stopping the workload");
    workload.join().await;
    let nemesis = nemesis.await.context("join the nemesis")?;

    status.set_phase("healing");
    let skewed = options.nemesis.0.contains(&Kind::Skew);
    if let Err(error) = cluster.heal_all(skewed).await {
        tracing::warn!(%error, "heal the mesh");
    }
    if let Err(error) = cluster
        .wait_all_healthy(crate::cluster::START_TIMEOUT)
        .await
    {
        tracing::warn!(%error, "a region is not serving after the heal");
    }
    let healed = Instant::now();

    status.set_phase("waiting for the regions to agree");
    let convergence = converge::final_reads(
        workload.regions(),
        &workload.final_chats(),
        &recorder,
        healed,
        options.converge_within,
    )
    .await;
    let (processes, chats) = (workload.processes(), workload.chats().len());
    // The writer finishes once the last handle is gone.
    drop(recorder);
    drop(workload);
    let events = writer
        .await
        .context("join the history writer")?
        .context("write the history")?;
    Ok(RunSummary {
        history,
        events,
        processes,
        chats,
        nemesis,
        convergence,
        exited: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn existing_deployments_refuse_faults_they_cannot_take_before_starting() {
        let out = tempfile::tempdir().expect("tempdir");
        let options = RunOptions {
            regions_file: PathBuf::from("does-not-matter.yaml"),
            existing: true,
            time: Duration::from_secs(1),
            nemesis: "skew,kill,partition".parse().expect("kinds"),
            seed: 1,
            rate: 1.0,
            users: 3,
            out: out.path().join("run"),
            region_node: PathBuf::from("region-node"),
            sabotage: None,
            converge_within: Duration::from_secs(1),
        };
        let error = run(options, Status::default())
            .await
            .expect_err("refused")
            .to_string();
        assert!(error.contains("only the skew nemesis"), "{error}");
        assert!(error.contains("partition, kill"), "{error}");
        assert!(!out.path().join("run").exists(), "nothing was started");
    }
}
