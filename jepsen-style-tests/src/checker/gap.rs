//! `gap` (guarantee 2, no gaps): a region's final log must hold exactly the
//! seqs 1..n in order, and a read from `after` must answer exactly
//! after+1..after+k. A seq answered twice is `duplicate`'s to report, so
//! repeats are skipped here; pending messages in reads (seq 0, held by a
//! region while the home is unreachable) are not positions and are skipped
//! too.

use std::collections::HashSet;

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};
use crate::history::Msg;

/// Reports final logs and reads whose seqs are not contiguous.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for (chat, regions) in &input.finals.logs {
        for (region, log) in regions {
            if let Some(detail) = first_gap(0, &log.messages, false) {
                findings.add(
                    Anomaly::new(Class::Gap, vec![log.op], format!("final log: {detail}"))
                        .chat(chat.clone())
                        .region(region.clone()),
                );
            }
        }
    }
    for call in &input.calls {
        if let Body::Read { ok: Some(read), .. } = &call.body
            && let Some(detail) = first_gap(read.after, &read.messages, true)
        {
            let mut anomaly = Anomaly::new(
                Class::Gap,
                input.call_ops(call),
                format!("read after {}: {detail}", read.after),
            )
            .chat(call.chat.clone());
            anomaly.region = call.region.clone();
            findings.add(anomaly);
        }
    }
}

/// Where the seqs of `messages` first stop being after+1, after+2, …
fn first_gap(after: u64, messages: &[Msg], skip_pending: bool) -> Option<String> {
    let mut seen = HashSet::new();
    let mut expected = after + 1;
    for msg in messages {
        if skip_pending && msg.seq == 0 {
            continue;
        }
        if !seen.insert(msg.seq) {
            continue;
        }
        if msg.seq != expected {
            return Some(format!("expected seq {expected}, found seq {}", msg.seq));
        }
        expected += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    #[test]
    fn a_missing_seq_in_the_final_log_is_a_gap() {
        let log = [msg(1, 1, "u1", "a"), msg(3, 3, "u1", "b")];
        let report = H::default().final_read("r1", "c", &log).check();
        assert_eq!(flagged(&report), vec![Class::Gap]);
        assert!(
            report.anomalies[&Class::Gap].examples[0]
                .detail
                .contains("expected seq 2")
        );
    }

    #[test]
    fn a_final_log_must_start_at_one() {
        let log = [msg(2, 2, "u1", "b")];
        let report = H::default().final_read("r1", "c", &log).check();
        assert_eq!(flagged(&report), vec![Class::Gap]);
    }

    #[test]
    fn a_read_must_be_contiguous_from_after() {
        let log = [
            msg(1, 1, "u1", "a"),
            msg(2, 2, "u1", "b"),
            msg(3, 3, "u1", "c"),
        ];
        let mut h = H::default();
        h.read(1, "c", 1, &[log[1].clone(), log[2].clone()]);
        h.read(
            2,
            "c",
            0,
            &[log[0].clone(), msg(0, 9, "u1", "p"), log[1].clone()],
        );
        h.read(3, "c", 3, &[]);
        h.final_read("r1", "c", &log);
        assert!(h.check().is_valid(), "{:?}", h.check());
        h.read(4, "c", 0, &[log[0].clone(), log[2].clone()]);
        assert_eq!(flagged(&h.check()), vec![Class::Gap]);
    }
}
