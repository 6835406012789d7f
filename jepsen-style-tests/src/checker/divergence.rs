//! `final_divergence`: after the faults heal, every region must hold the
//! same log of every chat (guarantee 2, one order per chat). Each region's
//! final log is compared with the chat's canonical one.

use super::Input;
use super::outcome::{Anomaly, Class, Findings};
use crate::history::Msg;

/// Reports every region whose final log of a chat differs from the
/// canonical one.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for (chat, regions) in &input.finals.logs {
        let Some(canonical) = input.finals.canonical.get(chat) else {
            continue;
        };
        for (region, log) in regions {
            if *region == canonical.region {
                continue;
            }
            if let Some(detail) = first_difference(&canonical.messages, &log.messages) {
                findings.add(
                    Anomaly::new(
                        Class::FinalDivergence,
                        vec![canonical.op, log.op],
                        format!("{region} vs {}: {detail}", canonical.region),
                    )
                    .chat(chat.clone())
                    .region(region.clone()),
                );
            }
        }
    }
}

/// Where two logs first differ, in words; `None` when they are equal.
fn first_difference(expected: &[Msg], actual: &[Msg]) -> Option<String> {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if e != a {
            return Some(format!(
                "entry {i}: seq {} {}/{} hlc {} vs seq {} {}/{} hlc {}",
                a.seq, a.sender, a.client_msg_id, a.hlc, e.seq, e.sender, e.client_msg_id, e.hlc
            ));
        }
    }
    (expected.len() != actual.len())
        .then(|| format!("{} messages vs {} messages", actual.len(), expected.len()))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    #[test]
    fn equal_logs_agree() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")];
        let report = H::default()
            .final_read("r1", "c", &log)
            .final_read("r2", "c", &log)
            .check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn a_shorter_or_different_log_diverges() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")];
        let other = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "x")];
        let report = H::default()
            .final_read("r1", "c", &log)
            .final_read("r2", "c", &log[..1])
            .final_read("r3", "c", &other)
            .check();
        assert_eq!(flagged(&report), vec![Class::FinalDivergence]);
        let found = &report.anomalies[&Class::FinalDivergence];
        assert_eq!(found.count, 2);
        assert_eq!(found.examples[0].region.as_deref(), Some("r2"));
        assert!(found.examples[1].detail.contains("entry 1"), "{found:?}");
    }
}
