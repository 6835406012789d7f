//! `summary.txt`: the checker's verdict for a person — counts, throughput,
//! each anomaly class with its first example, unavailability, convergence,
//! and VALID or INVALID on the last line.

use std::fmt::Write;

use crate::checker::Report;

/// The report in words.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, report);
    out
}

fn write_summary(out: &mut String, report: &Report) -> std::fmt::Result {
    let stats = &report.stats;
    writeln!(
        out,
        "operations: {} completed ({} ok, {} fail, {} info), {} unfinished, {} events",
        stats.completions,
        stats.outcomes.ok,
        stats.outcomes.fail,
        stats.outcomes.info,
        stats.unfinished,
        stats.events
    )?;
    writeln!(
        out,
        "throughput: {:.1} ops/s over {:.1} s",
        stats.ops_per_s, stats.duration_s
    )?;
    for (f, counts) in &stats.by_f {
        writeln!(
            out,
            "  {}: {} ok, {} fail, {} info",
            super::f_name(*f),
            counts.ok,
            counts.fail,
            counts.info
        )?;
    }
    writeln!(
        out,
        "accepted sends: {}, resolves: {}",
        stats.accepted_sends, stats.resolves
    )?;
    match stats.converged_after_heal_ms {
        Some(ms) => writeln!(out, "converged {ms} ms after the last heal")?,
        None => writeln!(out, "convergence not recorded")?,
    }
    if stats.unavailability.is_empty() {
        writeln!(out, "unavailability: none of 1 s or more")?;
    } else {
        writeln!(out, "unavailability:")?;
        for w in &stats.unavailability {
            writeln!(
                out,
                "  {}: {:.1}s to {:.1}s ({} operations failed or timed out)",
                w.region, w.start_s, w.end_s, w.failed_ops
            )?;
        }
    }
    writeln!(out, "anomalies:")?;
    for (class, result) in &report.anomalies {
        writeln!(out, "  {class}: {}", result.count)?;
        if let Some(first) = result.examples.first() {
            let chat = first.chat.as_deref().unwrap_or("-");
            let region = first.region.as_deref().unwrap_or("-");
            writeln!(
                out,
                "    e.g. chat {chat}, region {region}, events {:?}: {}",
                first.ops, first.detail
            )?;
        }
    }
    writeln!(
        out,
        "{}",
        if report.is_valid() {
            "VALID"
        } else {
            "INVALID"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::history::{F, Op, OpType, Process};
    use serde_json::json;

    #[test]
    fn an_invalid_report_names_its_anomalies_and_ends_invalid() {
        let ops = vec![Op {
            index: 0,
            time: 0,
            process: Process::Client(1),
            kind: OpType::Ok,
            f: F::Read,
            value: json!({}),
            region: None,
            device: None,
            user: None,
            error: None,
        }];
        let text = summary(&check(&ops));
        assert!(text.contains("malformed: 1"), "{text}");
        assert!(text.contains("e.g. chat -, region -, events [0]"), "{text}");
        assert!(text.trim_end().ends_with("INVALID"), "{text}");
    }

    #[test]
    fn an_empty_history_is_valid() {
        let text = summary(&check(&[]));
        assert!(text.contains("lost_write: 0"), "{text}");
        assert!(text.trim_end().ends_with("\nVALID"), "{text}");
    }
}
