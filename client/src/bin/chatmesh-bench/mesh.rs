//! Scenarios across regions: a whole mesh is started on this machine
//! (`region-node mesh`, see [`crate::node::Mesh`]), chats are homed in the
//! first region, their receivers are connected to the second, and every
//! delivery is timed from its intended send time, as in the single-region
//! scenarios. The load generator shares the machine's cores with every
//! region, so the figures are a floor for what separate machines would do.
//! CPU time is read from every region process (not the launcher, whose
//! link proxies stand in for the network) over each measured window.
//!
//! - [`fixture`]: accounts and chats spread over the regions.
//! - [`lag`]: sampling a region's replication lag gauges during a phase.
//! - [`cross`]: send→deliver across regions with simulated RTT, senders at
//!   the chat's home and at the receivers' region.
//! - [`replication`]: events per second replicated over one link, and lag.
//! - [`catchup`]: how fast a paused replica takes in a backlog.

mod catchup;
pub mod cross;
mod fixture;
mod lag;
pub mod replication;

use std::time::Duration;

use anyhow::{Context as _, Result};
use hdrhistogram::Histogram;

use crate::cpu::{self, Meter, Usage};
use crate::load::{self, Phase, Senders};
use crate::stats;
use crate::workers::Pool;

/// Names of the regions a mesh scenario starts, in topology order: chats
/// are homed in the first, receivers connect to the second.
const REGION_NAMES: [&str; 3] = ["region-a", "region-b", "region-c"];

/// p50, p90, p99 and max of a histogram of microseconds, in milliseconds
/// (NaN when empty, so an empty row reads as such instead of as zero).
fn quantiles_ms(hist: &Histogram<u64>) -> [f64; 4] {
    if hist.is_empty() {
        return [f64::NAN; 4];
    }
    let ms = |v: u64| v as f64 / 1000.0;
    [
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.9)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.max()),
    ]
}

/// What one phase measured at the senders and at the receivers.
struct Measured {
    /// Sends answered `sent` whose intended time fell in the window.
    sent: u64,
    /// Sends answered with an error.
    errors: u64,
    /// Send→sent latency at the senders.
    sent_hist: Histogram<u64>,
    /// `message` frames received for sends intended in the window.
    delivered: u64,
    /// Deliveries per second over the window, or until the last delivery.
    delivered_per_sec: f64,
    /// Send→deliver latency at the receivers.
    deliver_hist: Histogram<u64>,
    /// Receiver connections the region has closed so far (a slow reader's
    /// queue overflowed): their later deliveries are missing.
    closed: usize,
    /// CPU time of every region process over the window and its settle.
    cpu: Option<Usage>,
}

impl Measured {
    /// `cpu µs/send | cpu µs/delivery | by region (per send)` cells.
    fn cpu_cells(&self) -> [String; 3] {
        [
            cpu::per_unit(self.cpu.as_ref(), self.sent),
            cpu::per_unit(self.cpu.as_ref(), self.delivered),
            cpu::per_unit_by_process(self.cpu.as_ref(), self.sent),
        ]
    }
}

/// Runs one phase of `senders` while `pool` counts deliveries of the sends
/// intended in its window; waits `settle` after the last answer for the
/// last deliveries. `meter`'s processes are read at the window's start and
/// after the settle.
async fn measure(
    senders: &mut Senders,
    pool: &mut Pool,
    meter: &Meter,
    phase: &Phase,
    settle: Duration,
    bar: &indicatif::ProgressBar,
) -> Result<Measured> {
    let start_us = load::next_start();
    let (from_us, until_us) = phase.window(start_us);
    pool.window(from_us, until_us).await?;
    let before = meter.read_at(from_us);
    let sent = senders.run(phase, start_us, bar).await?;
    tokio::time::sleep(settle).await;
    let before = before.await.context("the CPU reading task failed")??;
    let cpu = meter.since(before.as_ref())?;
    let totals = pool.report().await?;
    let span = Duration::from_micros(totals.last_us.max(until_us) - from_us).as_secs_f64();
    let delivered_per_sec = if span > 0.0 {
        totals.received as f64 / span
    } else {
        0.0
    };
    bar.println(format!(
        "offered {}/s: {} sent, {} delivered ({}/s), send→deliver {}; {} errors{}; {} receivers closed",
        stats::thousands(phase.rate),
        stats::thousands(sent.acked as f64),
        stats::thousands(totals.received as f64),
        stats::thousands(delivered_per_sec),
        stats::percentiles(&totals.hist),
        sent.errors,
        sent.first_error
            .as_deref()
            .map(|e| format!(" (e.g. {e})"))
            .unwrap_or_default(),
        totals.closed
    ));
    Ok(Measured {
        sent: sent.acked,
        errors: sent.errors,
        sent_hist: sent.hist,
        delivered: totals.received,
        delivered_per_sec,
        deliver_hist: totals.hist,
        closed: totals.closed,
        cpu,
    })
}

/// `12.34`, or `-` for a missing figure.
fn ms_cell(ms: f64) -> String {
    if ms.is_nan() {
        "-".to_owned()
    } else {
        format!("{ms:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_in_milliseconds_and_ordered() {
        let mut hist = stats::histogram();
        for v in 1..=1000u64 {
            stats::record(&mut hist, v * 100);
        }
        let [p50, p90, p99, max] = quantiles_ms(&hist);
        assert!((p50 - 50.0).abs() < 0.1, "{p50}");
        assert!((p90 - 90.0).abs() < 0.1, "{p90}");
        assert!((p99 - 99.0).abs() < 0.1, "{p99}");
        assert!((max - 100.0).abs() < 0.1, "{max}");
    }

    #[test]
    fn an_empty_histogram_has_no_quantiles() {
        assert!(quantiles_ms(&stats::histogram()).iter().all(|q| q.is_nan()));
        assert_eq!(ms_cell(f64::NAN), "-");
        assert_eq!(ms_cell(1.234), "1.23");
    }
}
