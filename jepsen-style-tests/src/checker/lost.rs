//! `lost_write` and `failed_write_visible` (guarantee 1, acknowledged means
//! durable). An `ok` send (`sent` or `accepted`) or resolve must be in its
//! chat's final log, found by (chat, sender, client_msg_id). A send that
//! ended `info` may go either way. A send that ended `fail` must be absent,
//! unless another attempt with the same key did not fail: a retry reuses
//! the key, and the message then belongs to that attempt.

use std::collections::HashSet;

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};
use crate::history::OpType;

/// Reports acknowledged writes missing from the final log and failed writes
/// present in it.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    let mut maybe_happened: HashSet<(&str, &str, &str)> = HashSet::new();
    for call in &input.calls {
        if let (Body::Send { client_msg_id, .. } | Body::Resolve { client_msg_id, .. }, Some(user)) =
            (&call.body, &call.user)
            && call.outcome != OpType::Fail
        {
            maybe_happened.insert((&call.chat, user, client_msg_id));
        }
    }
    for call in &input.calls {
        let (client_msg_id, what) = match &call.body {
            Body::Send { client_msg_id, .. } => (client_msg_id, "send"),
            Body::Resolve { client_msg_id, .. } => (client_msg_id, "resolve"),
            _ => continue,
        };
        let (Some(user), Some(canonical)) = (&call.user, input.finals.canonical.get(&call.chat))
        else {
            continue;
        };
        let present = canonical.find(user, client_msg_id);
        match (call.outcome, present) {
            (OpType::Ok, None) => findings.add(
                Anomaly::new(
                    Class::LostWrite,
                    input.call_ops(call),
                    format!(
                        "acknowledged {what} {user}/{client_msg_id} is not in the final log ({} messages, from {})",
                        canonical.messages.len(),
                        canonical.region
                    ),
                )
                .chat(call.chat.clone()),
            ),
            (OpType::Fail, Some(msg))
                if !maybe_happened.contains(&(call.chat.as_str(), user.as_str(), client_msg_id.as_str())) =>
            {
                let mut ops = input.call_ops(call);
                ops.push(canonical.op);
                findings.add(
                    Anomaly::new(
                        Class::FailedWriteVisible,
                        ops,
                        format!(
                            "failed send {user}/{client_msg_id} is in the final log at seq {}",
                            msg.seq
                        ),
                    )
                    .chat(call.chat.clone()),
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    #[test]
    fn acknowledged_and_uncertain_sends_in_the_log_pass() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")];
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(2, "c", "b").send_ends(2, OpType::Info, "c", "b");
        h.send(2, "c", "z").send_ends(2, OpType::Info, "c", "z");
        h.send(1, "c", "y").send_ends(1, OpType::Fail, "c", "y");
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn an_acknowledged_send_missing_from_the_log_is_lost() {
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(2, "c", "b").accepted(2, "c", "b");
        h.final_read("r1", "c", &[msg(1, 1, "u1", "a")]);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::LostWrite]);
        assert_eq!(
            report.anomalies[&Class::LostWrite].examples[0].ops,
            vec![2, 3]
        );
    }

    #[test]
    fn a_failed_send_must_not_appear_unless_a_retry_may_have_written_it() {
        let mut h = H::default();
        h.send(1, "c", "a").send_ends(1, OpType::Fail, "c", "a");
        h.send(2, "c", "b").send_ends(2, OpType::Fail, "c", "b");
        h.send(2, "c", "b").send_ends(2, OpType::Info, "c", "b");
        h.final_read("r1", "c", &[msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")]);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::FailedWriteVisible]);
        assert_eq!(report.anomalies[&Class::FailedWriteVisible].count, 1);
    }
}
