//! `hlc_order` (guarantee 4): along a final log, each message's HLC is
//! strictly greater than the previous one's, because the home region
//! stamps messages in the order it sequences them. An HLC that is not 16
//! hex digits is `malformed`.

use std::collections::HashSet;

use super::Input;
use super::outcome::{Anomaly, Class, Findings};

/// Reports final logs whose HLCs do not grow along seq.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for (chat, regions) in &input.finals.logs {
        for (region, log) in regions {
            let mut seen = HashSet::new();
            let mut previous: Option<(u64, u64)> = None;
            let mut reported = false;
            for msg in &log.messages {
                if !seen.insert(msg.seq) {
                    continue;
                }
                let Some(hlc) = msg.hlc_value().filter(|_| msg.hlc.len() == 16) else {
                    findings.add(
                        Anomaly::new(
                            Class::Malformed,
                            vec![log.op],
                            format!("seq {} has hlc {:?}, not 16 hex digits", msg.seq, msg.hlc),
                        )
                        .chat(chat.clone())
                        .region(region.clone()),
                    );
                    continue;
                };
                if let Some((prev_seq, prev_hlc)) = previous
                    && hlc <= prev_hlc
                    && !reported
                {
                    reported = true;
                    findings.add(
                        Anomaly::new(
                            Class::HlcOrder,
                            vec![log.op],
                            format!(
                                "seq {} has hlc {hlc:016x}, not above seq {prev_seq}'s {prev_hlc:016x}",
                                msg.seq
                            ),
                        )
                        .chat(chat.clone())
                        .region(region.clone()),
                    );
                }
                previous = Some((msg.seq, hlc));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    #[test]
    fn equal_or_falling_hlcs_are_flagged_once_per_log() {
        let log = [
            msg(1, 5, "u1", "a"),
            msg(2, 5, "u1", "b"),
            msg(3, 4, "u1", "c"),
        ];
        let report = H::default().final_read("r1", "c", &log).check();
        assert_eq!(flagged(&report), vec![Class::HlcOrder]);
        assert_eq!(report.anomalies[&Class::HlcOrder].count, 1);
    }

    #[test]
    fn a_bad_hlc_is_malformed() {
        let mut bad = msg(2, 2, "u1", "b");
        bad.hlc = "zz".to_owned();
        let report = H::default()
            .final_read("r1", "c", &[msg(1, 1, "u1", "a"), bad])
            .check();
        assert_eq!(flagged(&report), vec![Class::Malformed]);
    }
}
