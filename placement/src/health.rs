//! Region health from heartbeats.
//!
//! [`HealthTable`] is the pure record: the last heartbeat of each region and
//! the last time a region said it is not ready. The caller passes the time in,
//! so tests drive it without sleeping. A region is healthy when its newest
//! heartbeat is within `health_timeout` and newer than its newest "not
//! ready" answer; a region never heard from is unhealthy. [`SharedHealth`] is
//! the same table behind a lock, for the service and the poller to share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::topology::Topology;

/// A heartbeat named a region the topology does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region `{0}`")]
pub struct UnknownRegion(pub String);

/// What the table knows about one region.
#[derive(Debug, Clone, Copy, Default)]
struct Beats {
    /// The newest heartbeat.
    alive: Option<Instant>,
    /// The newest explicit "not ready" answer (e.g. a draining region's 503).
    down: Option<Instant>,
}

/// The health of one region at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionHealth {
    /// Whether the region counts as up.
    pub healthy: bool,
    /// Milliseconds since its newest heartbeat; absent if none was ever seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_ms_ago: Option<u64>,
}

/// The newest heartbeat of every region of a topology.
#[derive(Debug, Clone)]
pub struct HealthTable {
    timeout: Duration,
    regions: HashMap<String, Beats>,
}

impl HealthTable {
    /// A table for the topology's regions, none of them heard from yet.
    pub fn new(topology: &Topology) -> Self {
        Self::with_regions(topology.names(), topology.settings.health_timeout())
    }

    /// A table for these regions with this timeout.
    pub fn with_regions<'a>(names: impl IntoIterator<Item = &'a str>, timeout: Duration) -> Self {
        Self {
            timeout,
            regions: names
                .into_iter()
                .map(|name| (name.to_owned(), Beats::default()))
                .collect(),
        }
    }

    /// Records a heartbeat from `region` taken at `at`. An older heartbeat
    /// than one already recorded changes nothing (answers can arrive late).
    pub fn record(&mut self, region: &str, at: Instant) -> Result<(), UnknownRegion> {
        let beats = self.beats_mut(region)?;
        beats.alive = beats.alive.max(Some(at));
        Ok(())
    }

    /// Records that `region` answered "not ready" at `at`: it is unhealthy
    /// until a newer heartbeat arrives, without waiting for the timeout.
    pub fn mark_down(&mut self, region: &str, at: Instant) -> Result<(), UnknownRegion> {
        let beats = self.beats_mut(region)?;
        beats.down = beats.down.max(Some(at));
        Ok(())
    }

    /// Whether `region` is healthy at `now`; unknown regions are not.
    pub fn is_healthy(&self, region: &str, now: Instant) -> bool {
        self.status(region, now)
            .is_some_and(|status| status.healthy)
    }

    /// The health of `region` at `now`, or `None` for an unknown region.
    pub fn status(&self, region: &str, now: Instant) -> Option<RegionHealth> {
        let beats = self.regions.get(region)?;
        let age = beats
            .alive
            .map(|alive| now.saturating_duration_since(alive));
        let fresh = age.is_some_and(|age| age <= self.timeout);
        let not_overruled = match (beats.alive, beats.down) {
            (Some(alive), Some(down)) => alive > down,
            _ => true,
        };
        Some(RegionHealth {
            healthy: fresh && not_overruled,
            last_heartbeat_ms_ago: age
                .map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX)),
        })
    }

    fn beats_mut(&mut self, region: &str) -> Result<&mut Beats, UnknownRegion> {
        self.regions
            .get_mut(region)
            .ok_or_else(|| UnknownRegion(region.to_owned()))
    }
}

/// A [`HealthTable`] shared between tasks; cloning shares the table.
#[derive(Debug, Clone)]
pub struct SharedHealth(Arc<Mutex<HealthTable>>);

impl SharedHealth {
    /// Shares `table`.
    pub fn new(table: HealthTable) -> Self {
        Self(Arc::new(Mutex::new(table)))
    }

    /// Locks the table. The table stays consistent whatever a panicking
    /// holder did (each update is one assignment), so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, HealthTable> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(3000);

    fn table() -> HealthTable {
        HealthTable::with_regions(["eu-west", "us-east"], TIMEOUT)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_region_never_heard_from_is_unhealthy() {
        let t0 = Instant::now();
        let table = table();
        assert!(!table.is_healthy("eu-west", t0));
        assert_eq!(
            table.status("eu-west", t0),
            Some(RegionHealth {
                healthy: false,
                last_heartbeat_ms_ago: None
            })
        );
    }

    #[test]
    fn healthy_within_the_timeout_and_not_after() {
        let t0 = Instant::now();
        let mut table = table();
        table.record("eu-west", t0).unwrap();
        assert!(table.is_healthy("eu-west", t0));
        assert!(table.is_healthy("eu-west", t0 + TIMEOUT));
        assert!(!table.is_healthy("eu-west", t0 + TIMEOUT + ms(1)));
        assert!(!table.is_healthy("us-east", t0));
        assert_eq!(
            table
                .status("eu-west", t0 + ms(1200))
                .unwrap()
                .last_heartbeat_ms_ago,
            Some(1200)
        );
    }

    #[test]
    fn a_late_old_heartbeat_does_not_rewind() {
        let t0 = Instant::now();
        let mut table = table();
        table.record("eu-west", t0 + ms(2000)).unwrap();
        table.record("eu-west", t0).unwrap();
        assert!(table.is_healthy("eu-west", t0 + ms(4000)));
    }

    #[test]
    fn not_ready_marks_down_until_a_newer_heartbeat() {
        let t0 = Instant::now();
        let mut table = table();
        table.record("eu-west", t0).unwrap();
        table.mark_down("eu-west", t0 + ms(10)).unwrap();
        assert!(!table.is_healthy("eu-west", t0 + ms(20)));
        table.record("eu-west", t0 + ms(30)).unwrap();
        assert!(table.is_healthy("eu-west", t0 + ms(40)));
    }

    #[test]
    fn unknown_regions_are_rejected() {
        let t0 = Instant::now();
        let mut table = table();
        assert_eq!(
            table.record("mars", t0),
            Err(UnknownRegion("mars".to_owned()))
        );
        assert!(table.mark_down("mars", t0).is_err());
        assert_eq!(table.status("mars", t0), None);
        assert!(!table.is_healthy("mars", t0));
    }

    #[test]
    fn a_time_before_the_heartbeat_counts_as_fresh() {
        let t0 = Instant::now();
        let mut table = table();
        table.record("eu-west", t0 + ms(50)).unwrap();
        let status = table.status("eu-west", t0).unwrap();
        assert!(status.healthy);
        assert_eq!(status.last_heartbeat_ms_ago, Some(0));
    }

    #[test]
    fn shared_handles_see_the_same_table() {
        let t0 = Instant::now();
        let shared = SharedHealth::new(table());
        let other = shared.clone();
        shared.lock().record("us-east", t0).unwrap();
        assert!(other.lock().is_healthy("us-east", t0));
    }
}
