//! Polls every region's `GET /readyz` each heartbeat interval and records
//! the answers in the health table.
//!
//! A 2xx answer is a heartbeat; any other answer (a draining region's 503)
//! marks the region down at once; no answer records nothing, so the region
//! turns unhealthy when `health_timeout` passes without a heartbeat.

use std::time::Instant;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::health::SharedHealth;
use crate::topology::{RegionSpec, Topology};

/// What one poll learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ready,
    NotReady,
    Unreachable,
}

/// Starts one polling task per region on `tracker`; they stop when `cancel`
/// is cancelled.
pub fn spawn(
    topology: &Topology,
    health: &SharedHealth,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> Result<(), reqwest::Error> {
    let interval = topology.settings.heartbeat_interval();
    // A poll must end before the next one is due, or slow regions pile up
    // requests.
    let client = reqwest::Client::builder()
        .timeout(interval)
        .connect_timeout(interval)
        .build()?;
    for region in &topology.regions {
        let span = tracing::info_span!("peer", region = %region.name);
        let task = poll_region(
            region.clone(),
            client.clone(),
            health.clone(),
            interval,
            cancel.clone(),
        );
        tracker.spawn(task.instrument(span));
    }
    Ok(())
}

async fn poll_region(
    region: RegionSpec,
    client: reqwest::Client,
    health: SharedHealth,
    interval: std::time::Duration,
    cancel: CancellationToken,
) {
    let url = format!("http://{}/readyz", region.http);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = None;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let answer = tokio::select! {
            () = cancel.cancelled() => return,
            answer = poll_once(&client, &url) => answer,
        };
        let now = Instant::now();
        let recorded = match answer {
            Answer::Ready => health.lock().record(&region.name, now),
            Answer::NotReady => health.lock().mark_down(&region.name, now),
            Answer::Unreachable => Ok(()),
        };
        if let Err(error) = recorded {
            // Only possible if the table was built from another topology.
            tracing::warn!(%error, "health table does not know this region");
        }
        if last != Some(answer) {
            match answer {
                Answer::Ready => tracing::info!(%url, "region ready"),
                Answer::NotReady => tracing::warn!(%url, "region not ready"),
                Answer::Unreachable => tracing::warn!(%url, "region unreachable"),
            }
            last = Some(answer);
        }
    }
}

async fn poll_once(client: &reqwest::Client, url: &str) -> Answer {
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => Answer::Ready,
        Ok(_) => Answer::NotReady,
        Err(error) => {
            tracing::debug!(%error, "poll failed");
            Answer::Unreachable
        }
    }
}
