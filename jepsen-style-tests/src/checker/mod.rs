//! The checker: reads a history and reports every violation of chatmesh's
//! guarantees it shows, one module per class of anomaly, each a pure
//! function of the history.
//!
//! [`check`] pairs invokes with completions ([`calls`]), collects the final
//! logs and metadata the harness read after the run ([`finals`]), then runs
//! every check over that [`Input`]. Nothing here talks to a cluster, so a
//! saved history can be checked again at any time.
//!
//! Module map: `divergence` (final logs agree), `lost` (acknowledged writes
//! survive, failed ones do not appear), `duplicate`, `seq_mismatch`, `gap`,
//! `prefix` (reads agree with the final log), `monotonic` (reads never go
//! back), `ryw` (read your writes), `hlc_order`, `causality`, `receipts`,
//! `meta`, `membership`, `folds` (edits, deletes and reactions folded in
//! `seq` order, deleted text gone everywhere); `stats` for the run's numbers; `sweep` for the
//! "what was seen before this started" question several checks share.

mod calls;
mod causality;
mod divergence;
mod duplicate;
mod finals;
mod folds;
mod gap;
mod hlc_order;
mod lost;
mod membership;
mod meta;
mod monotonic;
mod outcome;
mod prefix;
mod receipts;
mod ryw;
mod seq_mismatch;
mod stats;
mod sweep;
#[cfg(test)]
mod testkit;

pub use outcome::{Anomaly, Class, ClassResult, EXAMPLES_PER_CLASS, Report};
pub use stats::{FunctionCounts, Stats, Unavailability};

use crate::history::Op;
use calls::Call;
use finals::Finals;
use outcome::Findings;

/// What every check reads: the history, its client calls and its final
/// state.
struct Input<'a> {
    ops: &'a [Op],
    calls: Vec<Call>,
    finals: Finals,
}

impl Input<'_> {
    /// The event index of the event at history position `pos`.
    fn index(&self, pos: usize) -> u64 {
        self.ops.get(pos).map_or(pos as u64, |op| op.index)
    }

    /// The event indices of a call: its invoke and, if any, its completion.
    fn call_ops(&self, call: &Call) -> Vec<u64> {
        std::iter::once(call.invoke)
            .chain(call.complete)
            .map(|pos| self.index(pos))
            .collect()
    }
}

/// Checks a history against every guarantee and computes its statistics.
pub fn check(ops: &[Op]) -> Report {
    let mut findings = Findings::default();
    let calls = calls::pair(ops, &mut findings);
    let finals = Finals::collect(ops, &mut findings);
    let input = Input { ops, calls, finals };
    divergence::check(&input, &mut findings);
    lost::check(&input, &mut findings);
    duplicate::check(&input, &mut findings);
    seq_mismatch::check(&input, &mut findings);
    gap::check(&input, &mut findings);
    prefix::check(&input, &mut findings);
    monotonic::check(&input, &mut findings);
    ryw::check(&input, &mut findings);
    hlc_order::check(&input, &mut findings);
    causality::check(&input, &mut findings);
    receipts::check(&input, &mut findings);
    meta::check(&input, &mut findings);
    membership::check(&input, &mut findings);
    folds::check(&input, &mut findings);
    let stats = stats::compute(ops, &input.calls, &input.finals);
    Report::new(findings, stats)
}
