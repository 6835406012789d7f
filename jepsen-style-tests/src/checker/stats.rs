//! The run's numbers: how many operations completed and how, throughput,
//! when each region was unavailable, how long the mesh took to converge,
//! and how often sends went through the `accepted` path.
//!
//! A region is unavailable over a stretch of time in which every client
//! completion it gave was `fail` or `info`; stretches of at least one
//! second are reported. A stretch starts at the first such operation's
//! invoke (but not before the region's previous `ok`) and ends at its last
//! failed completion.

use std::collections::BTreeMap;

use serde::Serialize;

use super::calls::{Body, Call};
use super::finals::Finals;
use crate::history::{F, Op, OpType};

const NANOS_PER_SECOND: f64 = 1e9;

/// The shortest unavailability worth reporting, in nanoseconds.
const MIN_UNAVAILABLE_NS: u64 = 1_000_000_000;

/// Completions of one operation by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionCounts {
    /// `ok` completions.
    pub ok: usize,
    /// `fail` completions.
    pub fail: usize,
    /// `info` completions.
    pub info: usize,
}

impl FunctionCounts {
    fn add(&mut self, kind: OpType) {
        match kind {
            OpType::Ok => self.ok += 1,
            OpType::Fail => self.fail += 1,
            OpType::Info => self.info += 1,
            OpType::Invoke => {}
        }
    }
}

/// A stretch of time in which a region answered no client operation `ok`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unavailability {
    /// The region.
    pub region: String,
    /// Seconds since the run started.
    pub start_s: f64,
    /// Seconds since the run started.
    pub end_s: f64,
    /// How many operations failed or timed out in it.
    pub failed_ops: usize,
}

/// Numbers about the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Every event of the history.
    pub events: usize,
    /// Completions checked (every non-invoke event but the nemesis's).
    pub completions: usize,
    /// Completions by outcome, all operations together.
    pub outcomes: FunctionCounts,
    /// Completions by operation and outcome.
    pub by_f: BTreeMap<F, FunctionCounts>,
    /// Client invokes that never completed.
    pub unfinished: usize,
    /// From the first event to the last, in seconds.
    pub duration_s: f64,
    /// Completions per second over the run.
    pub ops_per_s: f64,
    /// Stretches of at least a second in which a region answered nothing ok.
    pub unavailability: Vec<Unavailability>,
    /// From the last heal until every region agreed, if recorded.
    pub converged_after_heal_ms: Option<u64>,
    /// Sends answered `accepted` (held by a non-home region).
    pub accepted_sends: usize,
    /// Resolves: accepted sends later sequenced.
    pub resolves: usize,
}

/// Computes the statistics of a history.
pub fn compute(ops: &[Op], calls: &[Call], finals: &Finals) -> Stats {
    let mut stats = Stats {
        events: ops.len(),
        converged_after_heal_ms: finals.converged_after_heal_ms,
        ..Stats::default()
    };
    for op in ops {
        if op.kind == OpType::Invoke || op.process.is_nemesis() {
            continue;
        }
        stats.completions += 1;
        stats.outcomes.add(op.kind);
        stats.by_f.entry(op.f).or_default().add(op.kind);
    }
    let first = ops.iter().map(|o| o.time).min().unwrap_or(0);
    let last = ops.iter().map(|o| o.time).max().unwrap_or(0);
    stats.duration_s = (last - first) as f64 / NANOS_PER_SECOND;
    if stats.duration_s > 0.0 {
        stats.ops_per_s = stats.completions as f64 / stats.duration_s;
    }
    for call in calls {
        match &call.body {
            Body::Send { ok: Some(ok), .. } if ok.status == "accepted" => stats.accepted_sends += 1,
            Body::Resolve { ok: Some(_), .. } => stats.resolves += 1,
            _ => {}
        }
        if call.complete.is_none() {
            stats.unfinished += 1;
        }
    }
    stats.unavailability = unavailability(ops, calls);
    stats
}

/// The stretches in which a region answered nothing `ok`.
fn unavailability(ops: &[Op], calls: &[Call]) -> Vec<Unavailability> {
    // region → (completion time, invoke time, ok?)
    let mut by_region: BTreeMap<&str, Vec<(u64, u64, bool)>> = BTreeMap::new();
    for call in calls {
        let (Some(region), Some(done)) = (&call.region, call.complete) else {
            continue;
        };
        by_region.entry(region).or_default().push((
            ops[done].time,
            ops[call.invoke].time,
            call.is_ok(),
        ));
    }
    let mut windows = Vec::new();
    for (region, mut completions) in by_region {
        completions.sort_unstable();
        let mut last_ok = 0;
        let mut run: Option<(u64, u64, usize)> = None;
        let mut close = |run: &mut Option<(u64, u64, usize)>| {
            if let Some((start, end, failed_ops)) = run.take()
                && end.saturating_sub(start) >= MIN_UNAVAILABLE_NS
            {
                windows.push(Unavailability {
                    region: region.to_owned(),
                    start_s: start as f64 / NANOS_PER_SECOND,
                    end_s: end as f64 / NANOS_PER_SECOND,
                    failed_ops,
                });
            }
        };
        for (done, invoked, ok) in completions {
            if ok {
                close(&mut run);
                last_ok = done;
            } else {
                let (start, _, failed) = run.get_or_insert((invoked.max(last_ok), done, 0));
                *start = (*start).min(invoked.max(last_ok));
                run = Some((*start, done, *failed + 1));
            }
        }
        close(&mut run);
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::super::testkit::H;
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn counts_outcomes_accepted_sends_and_throughput() {
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(2, "c", "b").accepted(2, "c", "b");
        h.send(3, "c", "z").send_ends(3, OpType::Fail, "c", "z");
        h.send(4, "c", "y");
        h.fault("partition", "start", &["r1"]);
        let report = h.check();
        let stats = &report.stats;
        assert_eq!(stats.events, 8);
        assert_eq!(stats.completions, 3);
        assert_eq!(
            stats.outcomes,
            FunctionCounts {
                ok: 2,
                fail: 1,
                info: 0
            }
        );
        assert_eq!(stats.by_f[&F::Send].ok, 2);
        assert_eq!(stats.accepted_sends, 1);
        assert_eq!(stats.unfinished, 1);
        assert!((stats.duration_s - 0.007).abs() < 1e-9);
        assert!((stats.ops_per_s - 3.0 / 0.007).abs() < 1e-6);
    }

    #[test]
    fn a_second_of_nothing_but_failures_is_an_unavailability() {
        let mut h = H::default();
        h.place(2, "r2");
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(1, "c", "b").send_ends(1, OpType::Fail, "c", "b");
        h.send(2, "c", "x").sent(2, "c", "x", 2, 2);
        h.send(1, "c", "b").send_ends(1, OpType::Info, "c", "b");
        h.send(1, "c", "d").sent(1, "c", "d", 3, 3);
        // Stretch the failures over more than a second.
        let mut ops = h.ops.clone();
        let times_ms = [0, 1, 500, 501, 600, 601, 1_400, 1_600, 1_700, 1_701];
        for (op, ms) in ops.iter_mut().zip(times_ms) {
            op.time = ms * MS;
        }
        let windows = unavailability(
            &ops,
            &super::super::calls::pair(&ops, &mut Default::default()),
        );
        assert_eq!(windows.len(), 1, "{windows:?}");
        assert_eq!(windows[0].region, "r1");
        assert_eq!(windows[0].failed_ops, 2);
        assert!((windows[0].start_s - 0.5).abs() < 1e-9, "{windows:?}");
        assert!((windows[0].end_s - 1.6).abs() < 1e-9, "{windows:?}");
    }
}
