//! `duplicate` (guarantee 3, exactly once from the user's view): the same
//! (sender, client_msg_id) at two seqs of a chat's final log, or one seq
//! twice in one answer (a read, or a region's final read). System messages
//! are left out of the key check: their `client_msg_id` is the server's,
//! not a client's idempotency key.

use std::collections::{BTreeMap, HashSet};

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};
use crate::history::Msg;

/// Reports messages written twice and seqs answered twice.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for (chat, canonical) in &input.finals.canonical {
        let mut seqs_of: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
        for msg in canonical.by_seq.values() {
            if msg.kind != "system" {
                seqs_of
                    .entry((&msg.sender, &msg.client_msg_id))
                    .or_default()
                    .push(msg.seq);
            }
        }
        for ((sender, id), seqs) in seqs_of {
            if seqs.len() > 1 {
                findings.add(
                    Anomaly::new(
                        Class::Duplicate,
                        vec![canonical.op],
                        format!("{sender}/{id} is in the final log at seqs {seqs:?}"),
                    )
                    .chat(chat.clone())
                    .region(canonical.region.clone()),
                );
            }
        }
    }
    for (chat, regions) in &input.finals.logs {
        for (region, log) in regions {
            if let Some(seq) = repeated_seq(&log.messages) {
                findings.add(
                    Anomaly::new(
                        Class::Duplicate,
                        vec![log.op],
                        format!("final read answered seq {seq} twice"),
                    )
                    .chat(chat.clone())
                    .region(region.clone()),
                );
            }
        }
    }
    for call in &input.calls {
        if let Body::Read { ok: Some(read), .. } = &call.body
            && let Some(seq) = repeated_seq(&read.messages)
        {
            let mut anomaly = Anomaly::new(
                Class::Duplicate,
                input.call_ops(call),
                format!("read answered seq {seq} twice"),
            )
            .chat(call.chat.clone());
            anomaly.region = call.region.clone();
            findings.add(anomaly);
        }
    }
}

/// The first sequenced seq that appears twice in one answer. Pending
/// messages (seq 0, not yet sequenced) are not positions.
fn repeated_seq(messages: &[Msg]) -> Option<u64> {
    let mut seen = HashSet::new();
    messages
        .iter()
        .map(|m| m.seq)
        .filter(|&s| s > 0)
        .find(|s| !seen.insert(*s))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    #[test]
    fn a_message_at_two_seqs_is_a_duplicate() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u1", "a")];
        let report = H::default().final_read("r1", "c", &log).check();
        assert_eq!(flagged(&report), vec![Class::Duplicate]);
    }

    #[test]
    fn one_seq_twice_in_a_read_is_a_duplicate() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u1", "b")];
        let mut h = H::default();
        h.read(1, "c", 0, &[log[0].clone(), log[1].clone(), log[1].clone()]);
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::Duplicate]);
        assert!(
            report.anomalies[&Class::Duplicate].examples[0]
                .detail
                .contains("seq 2")
        );
    }

    #[test]
    fn same_client_id_from_different_senders_is_fine() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "a")];
        let report = H::default().final_read("r1", "c", &log).check();
        assert!(report.is_valid(), "{report:?}");
    }
}
