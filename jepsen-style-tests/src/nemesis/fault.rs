//! One fault: what it does to the cluster when it starts and how it is
//! undone when it stops, and how the history names it.

use crate::cluster::{Cluster, ClusterError, LinkFaults};
use crate::history::Fault;

use super::Kind;
use super::partition::Partition;

/// A concrete fault with its targets chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultSpec {
    /// Links cut in a shape.
    Partition(Partition),
    /// Links between these pairs slowed and made lossy.
    Slow {
        /// The (unordered) pairs of regions whose link is affected.
        links: Vec<(String, String)>,
        /// The faults, both ways.
        faults: LinkFaults,
    },
    /// A region SIGKILLed, restarted when the fault stops.
    Kill(String),
    /// A region SIGSTOPped, SIGCONTed when the fault stops.
    Pause(String),
    /// A region's clock run off by `skew_ms`, reset when the fault stops.
    Skew {
        /// The region.
        region: String,
        /// How far off (ms); beyond the mesh's maximum offset its peers
        /// should refuse it.
        skew_ms: i64,
        /// Whether the offset is beyond what the mesh accepts.
        beyond_max: bool,
    },
}

impl FaultSpec {
    /// Which kind of fault this is.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Partition(_) => Kind::Partition,
            Self::Slow { .. } => Kind::Slow,
            Self::Kill(_) => Kind::Kill,
            Self::Pause(_) => Kind::Pause,
            Self::Skew { .. } => Kind::Skew,
        }
    }

    /// The regions it touches.
    pub fn regions(&self) -> Vec<String> {
        match self {
            Self::Partition(p) => p.regions(),
            Self::Slow { links, .. } => {
                let mut regions: Vec<String> = links
                    .iter()
                    .flat_map(|(a, b)| [a.clone(), b.clone()])
                    .collect();
                regions.sort();
                regions.dedup();
                regions
            }
            Self::Kill(region) | Self::Pause(region) | Self::Skew { region, .. } => {
                vec![region.clone()]
            }
        }
    }

    /// A readable description.
    pub fn describe(&self) -> String {
        match self {
            Self::Partition(p) => p.describe(),
            Self::Slow { links, faults } => format!(
                "{} link(s) {}: delay {}ms ± {}ms, loss {:.0}%, duplicate {:.0}%",
                links.len(),
                links
                    .iter()
                    .map(|(a, b)| format!("{a}-{b}"))
                    .collect::<Vec<_>>()
                    .join(","),
                faults.delay.as_millis(),
                faults.jitter.as_millis(),
                faults.loss * 100.0,
                faults.duplicate * 100.0
            ),
            Self::Kill(region) => format!("SIGKILL {region}"),
            Self::Pause(region) => format!("SIGSTOP {region}"),
            Self::Skew {
                region,
                skew_ms,
                beyond_max,
            } => {
                let beyond = if *beyond_max {
                    " (beyond the max offset)"
                } else {
                    ""
                };
                format!("clock {region} {skew_ms:+}ms{beyond}")
            }
        }
    }

    /// The history value of its start (`start`) or stop (`stop`).
    pub fn event(&self, action: &str) -> Fault {
        Fault {
            fault: self.kind().name().to_owned(),
            action: action.to_owned(),
            regions: self.regions(),
            detail: self.describe(),
        }
    }

    /// Starts the fault.
    pub async fn start(&self, cluster: &Cluster) -> Result<(), ClusterError> {
        match self {
            Self::Partition(p) => {
                for (from, to) in p.blocked(&cluster.names()) {
                    cluster.block(&from, &to, true)?;
                }
                Ok(())
            }
            Self::Slow { links, faults } => {
                for (a, b) in links {
                    cluster.set_link_faults(a, b, *faults)?;
                }
                Ok(())
            }
            Self::Kill(region) => cluster.kill(region).await,
            Self::Pause(region) => cluster.pause(region).await,
            Self::Skew {
                region, skew_ms, ..
            } => cluster.set_skew(region, *skew_ms).await,
        }
    }

    /// Undoes the fault.
    pub async fn stop(&self, cluster: &Cluster) -> Result<(), ClusterError> {
        match self {
            Self::Partition(p) => {
                for (from, to) in p.blocked(&cluster.names()) {
                    cluster.block(&from, &to, false)?;
                }
                Ok(())
            }
            Self::Slow { links, .. } => {
                for (a, b) in links {
                    cluster.set_link_faults(a, b, LinkFaults::default())?;
                }
                Ok(())
            }
            Self::Kill(region) => cluster.restart(region).await,
            Self::Pause(region) => cluster.resume(region).await,
            Self::Skew { region, .. } => cluster.set_skew(region, 0).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn events_name_the_kind_the_regions_and_the_detail() {
        let slow = FaultSpec::Slow {
            links: vec![
                ("b".to_owned(), "a".to_owned()),
                ("a".to_owned(), "c".to_owned()),
            ],
            faults: LinkFaults {
                delay: Duration::from_millis(120),
                jitter: Duration::from_millis(30),
                loss: 0.1,
                duplicate: 0.02,
            },
        };
        let event = slow.event("start");
        assert_eq!(event.fault, "slow");
        assert_eq!(event.action, "start");
        assert_eq!(event.regions, ["a", "b", "c"]);
        assert_eq!(
            event.detail,
            "2 link(s) b-a,a-c: delay 120ms ± 30ms, loss 10%, duplicate 2%"
        );
        let skew = FaultSpec::Skew {
            region: "a".to_owned(),
            skew_ms: -700,
            beyond_max: true,
        };
        assert_eq!(
            skew.event("stop").detail,
            "clock a -700ms (beyond the max offset)"
        );
        assert_eq!(FaultSpec::Kill("a".to_owned()).event("stop").fault, "kill");
    }
}
