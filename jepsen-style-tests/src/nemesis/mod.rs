//! The nemesis: faults injected while the workload runs.
//!
//! `--nemesis partition,slow,kill,pause,skew` (or `all`, or `none`) picks the
//! kinds; [`schedule::plan`] turns them and the seed into timed faults;
//! [`run`] carries the plan out against a [`Cluster`], recording each
//! fault's start and stop as a `nemesis` event, and undoes whatever still
//! holds when the run is cancelled.
//!
//! - [`partition`]: partition shapes and the traffic they block.
//! - [`fault`]: one fault, its start, its stop and its history value.
//! - [`schedule`]: the seeded plan.

pub mod fault;
pub mod partition;
pub mod schedule;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cluster::Cluster;
use crate::history::{F, OpType, Process};
use crate::workload::recorder::{Actor, Recorder};

use self::fault::FaultSpec;
use self::schedule::Planned;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Inter-region links cut in a shape.
    Partition,
    /// Links delayed, jittered, lossy and duplicating.
    Slow,
    /// A region SIGKILLed and restarted.
    Kill,
    /// A region SIGSTOPped and SIGCONTed.
    Pause,
    /// A region's clock skewed.
    Skew,
}

impl Kind {
    /// Every kind, in the order `all` means.
    pub const ALL: [Kind; 5] = [
        Kind::Partition,
        Kind::Slow,
        Kind::Kill,
        Kind::Pause,
        Kind::Skew,
    ];

    /// The name in `--nemesis` and in the history.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Partition => "partition",
            Kind::Slow => "slow",
            Kind::Kill => "kill",
            Kind::Pause => "pause",
            Kind::Skew => "skew",
        }
    }

    /// Whether it acts on links between regions.
    pub fn needs_links(self) -> bool {
        matches!(self, Kind::Partition | Kind::Slow)
    }

    /// Whether it works against a deployment this harness did not start.
    pub fn works_on_existing(self) -> bool {
        self == Kind::Skew
    }
}

/// The kinds chosen by `--nemesis`, in [`Kind::ALL`] order without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Kinds(pub Vec<Kind>);

/// A `--nemesis` value that names no kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown nemesis {0:?}: use partition, slow, kill, pause, skew, all or none")]
pub struct UnknownKind(pub String);

impl FromStr for Kinds {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut kinds = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "all" => kinds.extend(Kind::ALL),
                "none" => {}
                _ => kinds.push(
                    Kind::ALL
                        .into_iter()
                        .find(|k| k.name() == word)
                        .ok_or_else(|| UnknownKind(word.to_owned()))?,
                ),
            }
        }
        kinds.sort();
        kinds.dedup();
        Ok(Self(kinds))
    }
}

/// The faults holding right now, readable for a progress line.
#[derive(Debug, Clone, Default)]
pub struct Active {
    faults: Arc<Mutex<BTreeMap<usize, String>>>,
}

impl Active {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, String>> {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Descriptions of the faults in force.
    pub fn snapshot(&self) -> Vec<String> {
        self.lock().values().cloned().collect()
    }
}

/// How the nemesis ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Faults started.
    pub started: usize,
    /// Errors met starting or stopping faults (the run goes on).
    pub errors: Vec<String>,
}

/// Carries out `plan` against `cluster` from now, recording every start and
/// stop. Returns once every fault has ended: by its plan, or early when
/// `cancel` fires (faults not started yet are skipped).
pub async fn run(
    cluster: Arc<Cluster>,
    plan: Vec<Planned>,
    recorder: Recorder,
    active: Active,
    cancel: CancellationToken,
) -> Outcome {
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (id, planned) in plan.into_iter().enumerate() {
        let (cluster, recorder, active, cancel) = (
            cluster.clone(),
            recorder.clone(),
            active.clone(),
            cancel.clone(),
        );
        tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep_until(start + planned.at) => {}
                () = cancel.cancelled() => return None,
            }
            Some(hold(&cluster, id, &planned, &recorder, &active, &cancel).await)
        });
    }
    let mut outcome = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Some(errors)) => {
                outcome.started += 1;
                outcome.errors.extend(errors);
            }
            Ok(None) => {}
            Err(error) => outcome.errors.push(format!("fault task: {error}")),
        }
    }
    outcome
}

/// Starts one fault, holds it, stops it; answers the errors met.
async fn hold(
    cluster: &Cluster,
    id: usize,
    planned: &Planned,
    recorder: &Recorder,
    active: &Active,
    cancel: &CancellationToken,
) -> Vec<String> {
    let nemesis = Actor::named(Process::nemesis());
    let fault = &planned.fault;
    let mut errors = Vec::new();
    // Recorded before the fault acts and after it is undone, so the
    // recorded window covers every moment it could have had an effect.
    recorder.record(
        &nemesis,
        OpType::Info,
        F::Nemesis,
        &fault.event("start"),
        None,
    );
    active.lock().insert(id, fault.describe());
    let started = fault.start(cluster).await;
    if let Err(error) = &started {
        tracing::warn!(%error, fault = %fault.describe(), "fault did not start");
        errors.push(format!("start {}: {error}", fault.describe()));
    } else {
        tokio::select! {
            () = tokio::time::sleep(planned.hold) => {}
            () = cancel.cancelled() => {}
        }
    }
    let stop_error = stop(cluster, fault).await.err();
    active.lock().remove(&id);
    let mut event = fault.event("stop");
    if let Some(error) = &stop_error {
        tracing::warn!(%error, fault = %fault.describe(), "fault did not stop cleanly");
        errors.push(format!("stop {}: {error}", fault.describe()));
        event.detail = format!("{} (stop failed: {error})", event.detail);
    }
    recorder.record(&nemesis, OpType::Info, F::Nemesis, &event, None);
    errors
}

/// Undoes a fault, retrying a restart once: a region that fails to come
/// back on the first try (a port still held, a slow disk) usually does on
/// the second.
async fn stop(cluster: &Cluster, fault: &FaultSpec) -> Result<(), crate::cluster::ClusterError> {
    match fault.stop(cluster).await {
        Err(error) if matches!(fault, FaultSpec::Kill(_)) => {
            tracing::warn!(%error, "restart failed; trying again");
            tokio::time::sleep(Duration::from_secs(1)).await;
            fault.stop(cluster).await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nemesis_lists_parse_to_kinds() {
        let kinds: Kinds = "kill, partition,kill".parse().expect("parse");
        assert_eq!(kinds.0, [Kind::Partition, Kind::Kill]);
        assert_eq!("all".parse::<Kinds>().expect("all").0, Kind::ALL);
        assert!("none".parse::<Kinds>().expect("none").0.is_empty());
        assert!("".parse::<Kinds>().expect("empty").0.is_empty());
        assert_eq!(
            "partition,flood".parse::<Kinds>(),
            Err(UnknownKind("flood".to_owned()))
        );
    }
}
