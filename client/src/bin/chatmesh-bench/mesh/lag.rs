//! Sampling a region's replication lag towards one peer while a phase runs:
//! the region's own view (`chatmesh_replication_lag_ms`, the age of the
//! oldest event the peer has not acknowledged, and
//! `chatmesh_replication_lag_events`), read from `/metrics` every
//! [`INTERVAL`], keeping the largest values seen.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::node::gauge;

/// Time between two reads of `/metrics`; short enough to see a lag that
/// builds up within a phase, rare enough to cost the region nothing.
const INTERVAL: Duration = Duration::from_millis(100);

/// The largest lag seen.
#[derive(Debug, Default, Clone, Copy)]
pub struct Peak {
    /// Age of the oldest unacknowledged event, ms.
    pub ms: f64,
    /// Committed events not yet acknowledged.
    pub events: f64,
    /// Reads that answered both gauges.
    pub samples: u64,
}

impl Peak {
    fn add(&mut self, ms: f64, events: f64) {
        self.ms = self.ms.max(ms);
        self.events = self.events.max(events);
        self.samples += 1;
    }
}

/// A running sampler.
pub struct Sampler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Peak>,
}

impl Sampler {
    /// Starts reading `base`'s gauges for `peer`.
    pub fn start(base: &str, peer: &str) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let url = format!("{base}/metrics");
        let peer = peer.to_owned();
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut peak = Peak::default();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    () = tokio::time::sleep(INTERVAL) => {}
                }
                let Ok(answer) = http.get(&url).send().await else {
                    continue;
                };
                let Ok(text) = answer.text().await else {
                    continue;
                };
                if let (Some(ms), Some(events)) = (
                    gauge(&text, "chatmesh_replication_lag_ms", &peer),
                    gauge(&text, "chatmesh_replication_lag_events", &peer),
                ) {
                    peak.add(ms, events);
                }
            }
            peak
        });
        Self { stop, task }
    }

    /// Stops and answers the peak (nothing seen if the task failed).
    pub async fn finish(self) -> Peak {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_keeps_the_largest_of_each_gauge() {
        let mut peak = Peak::default();
        peak.add(5.0, 100.0);
        peak.add(20.0, 10.0);
        peak.add(1.0, 0.0);
        assert_eq!((peak.ms, peak.events, peak.samples), (20.0, 100.0, 3));
    }
}
