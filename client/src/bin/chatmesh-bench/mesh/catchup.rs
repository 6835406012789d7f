//! Replication catch-up: how fast a replica region takes in a backlog, with
//! the cost of sending taken out of the measure. The replica's process is
//! paused (SIGSTOP) while the home commits a backlog; then it is resumed,
//! and the events it applies are read from its
//! `chatmesh_replication_applied_events_total` until the counter stops; the
//! replica's CPU time is read at the resume and whenever the counter moves.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cpu::{Meter, Usage};
use crate::load::{self, Phase, Senders};
use crate::node::{Mesh, MeshRegion, gauge, signal};

/// A backlog taken in.
pub struct CatchUp {
    /// Events the replica applied after it was resumed.
    pub events: u64,
    /// From the resume to the last event applied.
    pub secs: f64,
    /// CPU time of the replica from the resume to the last event applied.
    pub cpu: Option<Usage>,
}

impl CatchUp {
    /// Events applied per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.events as f64 / self.secs
        } else {
            0.0
        }
    }
}

/// `far`'s count of events applied from `home`.
async fn applied(http: &reqwest::Client, far: &MeshRegion, home: &str) -> Result<u64> {
    let text = http
        .get(format!("{}/metrics", far.base))
        .send()
        .await?
        .text()
        .await?;
    let value = gauge(&text, "chatmesh_replication_applied_events_total", home).unwrap_or(0.0);
    Ok(value as u64)
}

/// Sends `phase` to `home` while `far` is paused, resumes it and measures
/// how fast it applies what it missed.
pub async fn measure(
    mesh: &Mesh,
    home: &MeshRegion,
    far: &MeshRegion,
    senders: &mut Senders,
    phase: &Phase,
    bar: &indicatif::ProgressBar,
) -> Result<CatchUp> {
    let http = reqwest::Client::new();
    let applied_before = applied(&http, far, &home.name).await?;
    let pid = mesh.pid_of(&far.name)?;
    let meter = Meter::new(vec![(far.name.clone(), pid)]);
    signal(pid, "-STOP")?;
    let sent = senders.run(phase, load::next_start(), bar).await;
    // Stopped, the replica uses no CPU until the resume.
    let before = meter.read();
    let resumed = Instant::now();
    signal(pid, "-CONT")?;
    let sent = sent?;
    let before = before?;
    bar.set_message(format!(
        "backlog of about {} sends; {} catching up",
        sent.acked, far.name
    ));
    let mut last = applied_before;
    let mut last_change = resumed;
    let mut cpu = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = applied(&http, far, &home.name).await?;
        if now != last {
            last = now;
            last_change = Instant::now();
            cpu = meter.since(before.as_ref())?;
        } else if last > applied_before && last_change.elapsed() >= Duration::from_secs(2) {
            break;
        }
        if resumed.elapsed() > Duration::from_secs(120) {
            bail!(
                "{} did not finish applying within 2 minutes ({} events since the resume)",
                far.name,
                last - applied_before
            );
        }
    }
    Ok(CatchUp {
        events: last - applied_before,
        secs: last_change.duration_since(resumed).as_secs_f64(),
        cpu,
    })
}
