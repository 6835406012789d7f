//! `not_prefix` (guarantee 2, every device shows the same order): what a
//! read answered at each seq must be what the final log holds there —
//! the same sender, client_msg_id, HLC and kind. A read showing a seq the
//! final log does not reach is reported too: that message was later lost
//! or never existed.

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};

/// Reports reads that disagree with the final log.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for call in &input.calls {
        let Body::Read { ok: Some(read), .. } = &call.body else {
            continue;
        };
        let Some(canonical) = input.finals.canonical.get(&call.chat) else {
            continue;
        };
        let problem = read.messages.iter().filter(|m| m.seq > 0).find_map(|m| {
            match canonical.by_seq.get(&m.seq) {
                None => Some(format!(
                    "read shows {}/{} at seq {}, the final log ends at {}",
                    m.sender,
                    m.client_msg_id,
                    m.seq,
                    canonical.by_seq.keys().next_back().copied().unwrap_or(0)
                )),
                Some(f)
                    if f.sender != m.sender
                        || f.client_msg_id != m.client_msg_id
                        || f.hlc != m.hlc
                        || f.kind != m.kind =>
                {
                    Some(format!(
                        "read shows {}/{} ({}, hlc {}) at seq {}, the final log has {}/{} ({}, hlc {})",
                        m.sender, m.client_msg_id, m.kind, m.hlc, m.seq,
                        f.sender, f.client_msg_id, f.kind, f.hlc
                    ))
                }
                Some(_) => None,
            }
        });
        if let Some(detail) = problem {
            let mut ops = input.call_ops(call);
            ops.push(canonical.op);
            let mut anomaly = Anomaly::new(Class::NotPrefix, ops, detail).chat(call.chat.clone());
            anomaly.region = call.region.clone();
            findings.add(anomaly);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    #[test]
    fn reads_of_the_final_order_pass() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")];
        let mut h = H::default();
        h.read(1, "c", 0, &log[..1]).read(1, "c", 1, &log[1..]);
        h.final_read("r1", "c", &log);
        assert!(h.check().is_valid());
    }

    #[test]
    fn a_read_with_another_message_or_beyond_the_log_is_not_a_prefix() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")];
        let mut h = H::default();
        h.read(1, "c", 0, &[log[0].clone(), msg(2, 2, "u2", "x")]);
        h.read(2, "c", 2, &[msg(3, 3, "u2", "y")]);
        h.read(3, "c", 1, &[msg(2, 5, "u2", "b")]);
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::NotPrefix]);
        assert_eq!(report.anomalies[&Class::NotPrefix].count, 3);
    }
}
