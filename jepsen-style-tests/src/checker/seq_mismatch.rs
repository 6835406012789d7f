//! `seq_mismatch` (guarantee 2): what an operation was told about a
//! message's position must be what the final log holds. An ok `sent`
//! answer, a resolve and a pushed message each name a seq and an HLC;
//! the final log must hold that same message there, with that HLC. Reads
//! are compared position by position in `prefix` (`not_prefix`), and an
//! `accepted` answer names no seq, and its HLC is provisional.

use super::Input;
use super::calls::{Body, Call};
use super::finals::Canonical;
use super::outcome::{Anomaly, Class, Findings};

/// Reports answers that place a message elsewhere than the final log.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for call in &input.calls {
        let Some(canonical) = input.finals.canonical.get(&call.chat) else {
            continue;
        };
        let problem = match (&call.body, &call.user) {
            (Body::Send { ok: Some(ok), .. }, Some(user)) if ok.status == "sent" => ok
                .seq
                .and_then(|seq| placed(canonical, user, &ok.client_msg_id, seq, ok.hlc.as_deref())),
            (Body::Resolve { ok: Some(ok), .. }, Some(user)) => {
                placed(canonical, user, &ok.client_msg_id, ok.seq, Some(&ok.hlc))
            }
            (Body::Recv { ok: Some(recv), .. }, _) if recv.message.seq > 0 => {
                let m = &recv.message;
                match canonical.by_seq.get(&m.seq) {
                    None => Some(format!(
                        "pushed {}/{} at seq {}, the final log has no seq {}",
                        m.sender, m.client_msg_id, m.seq, m.seq
                    )),
                    Some(f) if f.sender != m.sender || f.client_msg_id != m.client_msg_id => {
                        Some(format!(
                            "pushed {}/{} at seq {}, the final log has {}/{} there",
                            m.sender, m.client_msg_id, m.seq, f.sender, f.client_msg_id
                        ))
                    }
                    Some(f) if f.hlc != m.hlc => Some(format!(
                        "pushed seq {} with hlc {}, the final log has hlc {}",
                        m.seq, m.hlc, f.hlc
                    )),
                    Some(_) => None,
                }
            }
            _ => None,
        };
        if let Some(detail) = problem {
            findings.add(mismatch(input, call, canonical, detail));
        }
    }
}

/// Why an answer placing `sender/id` at `seq` (with `hlc`) disagrees with
/// the final log; `None` when it agrees or the message is absent (that is
/// `lost_write`'s to report).
fn placed(
    canonical: &Canonical,
    sender: &str,
    id: &str,
    seq: u64,
    hlc: Option<&str>,
) -> Option<String> {
    if let Some(other) = canonical.by_seq.get(&seq)
        && (other.sender != sender || other.client_msg_id != id)
    {
        return Some(format!(
            "answered seq {seq} for {sender}/{id}, the final log has {}/{} there",
            other.sender, other.client_msg_id
        ));
    }
    let found = canonical.find(sender, id)?;
    if found.seq != seq {
        return Some(format!(
            "answered seq {seq} for {sender}/{id}, the final log has it at seq {}",
            found.seq
        ));
    }
    match hlc {
        Some(hlc) if hlc != found.hlc => Some(format!(
            "answered hlc {hlc} for seq {seq}, the final log has hlc {}",
            found.hlc
        )),
        _ => None,
    }
}

fn mismatch(input: &Input<'_>, call: &Call, canonical: &Canonical, detail: String) -> Anomaly {
    let mut ops = input.call_ops(call);
    ops.push(canonical.op);
    let mut anomaly = Anomaly::new(Class::SeqMismatch, ops, detail).chat(call.chat.clone());
    anomaly.region = call.region.clone();
    anomaly
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;
    use crate::history::{F, OpType};
    use serde_json::json;

    fn log() -> Vec<crate::history::Msg> {
        vec![msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")]
    }

    #[test]
    fn answers_that_agree_with_the_log_pass() {
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(2, "c", "b").accepted(2, "c", "b");
        h.invoke(
            2,
            F::Resolve,
            json!({"chat": "c", "client_msg_id": "b", "seq": 0, "hlc": ""}),
        );
        h.done(
            2,
            OpType::Ok,
            F::Resolve,
            json!({"chat": "c", "client_msg_id": "b", "seq": 2, "hlc": format!("{:016x}", 2)}),
        );
        h.recv(3, "c", &log()[1]);
        h.final_read("r1", "c", &log());
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn a_sent_answer_at_another_seq_or_hlc_mismatches() {
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 2, 1);
        h.send(2, "c", "b").sent(2, "c", "b", 2, 9);
        h.final_read("r1", "c", &log());
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::SeqMismatch]);
        assert_eq!(report.anomalies[&Class::SeqMismatch].count, 2);
    }

    #[test]
    fn a_pushed_message_must_be_in_the_log_where_it_was_pushed() {
        let mut h = H::default();
        h.recv(3, "c", &msg(2, 2, "u1", "a"));
        h.recv(3, "c", &msg(3, 3, "u1", "z"));
        h.recv(3, "c", &msg(2, 7, "u2", "b"));
        h.final_read("r1", "c", &log());
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::SeqMismatch]);
        assert_eq!(report.anomalies[&Class::SeqMismatch].count, 3);
    }
}
