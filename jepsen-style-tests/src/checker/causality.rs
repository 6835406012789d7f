//! `causality` (guarantee 4): if a process saw a message and later sent
//! one, the later message's HLC is greater. What a process saw: the HLCs of
//! its own `sent` answers and resolves, and of every message its reads and
//! pushes showed. Each send that reached the final log is compared, at its
//! first attempt's invoke (a retry, perhaps by another process of the same
//! user, reuses the key and the message may date from the first attempt),
//! with the greatest HLC seen before. An
//! `accepted` answer's HLC is provisional and is not counted.

use std::collections::HashMap;

use super::Input;
use super::calls::{Body, Call};
use super::outcome::{Anomaly, Class, Findings};
use super::sweep::{Observation, max_before};
use crate::history::parse_hlc;

/// Reports sends whose HLC is not above something their sender had seen.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    let mut observations = Vec::new();
    let mut first_attempt: HashMap<(&str, &str, &str), &Call> = HashMap::new();
    for call in &input.calls {
        if let Some(done) = call.complete
            && let Some(hlc) = seen_hlc(call)
        {
            observations.push(Observation {
                pos: done,
                key: call.process,
                value: hlc,
                op: input.index(done),
            });
        }
        if let (Body::Send { client_msg_id, .. }, Some(user)) = (&call.body, &call.user) {
            // Calls are in invoke order, so the first one kept is the first
            // attempt, whichever process retried it.
            first_attempt
                .entry((user.as_str(), call.chat.as_str(), client_msg_id.as_str()))
                .or_insert(call);
        }
    }
    let mut sends: Vec<(&Call, u64, u64)> = Vec::new();
    for ((user, chat, id), call) in &first_attempt {
        let Some(canonical) = input.finals.canonical.get(*chat) else {
            continue;
        };
        let Some(msg) = canonical.find(user, id) else {
            continue;
        };
        if let Some(hlc) = msg.hlc_value() {
            sends.push((call, hlc, msg.seq));
        }
    }
    sends.sort_by_key(|(call, _, _)| call.invoke);
    let queries: Vec<_> = sends
        .iter()
        .map(|(c, _, _)| (c.invoke, c.process))
        .collect();
    let answers = max_before(observations, &queries);
    for ((call, hlc, seq), answer) in sends.into_iter().zip(answers) {
        let Some((seen, seen_op)) = answer else {
            continue;
        };
        if hlc <= seen {
            let mut ops = vec![seen_op];
            ops.extend(input.call_ops(call));
            let mut anomaly = Anomaly::new(
                Class::Causality,
                ops,
                format!(
                    "process {} had seen hlc {seen:016x}, then sent seq {seq} with hlc {hlc:016x}",
                    call.process
                ),
            )
            .chat(call.chat.clone());
            anomaly.region = call.region.clone();
            findings.add(anomaly);
        }
    }
}

/// The greatest HLC an ok call showed its process.
fn seen_hlc(call: &Call) -> Option<u64> {
    match &call.body {
        Body::Send { ok: Some(ok), .. } if ok.status == "sent" => {
            ok.hlc.as_deref().and_then(parse_hlc)
        }
        Body::Resolve { ok: Some(ok), .. } => parse_hlc(&ok.hlc),
        Body::Read { ok: Some(read), .. } => {
            read.messages.iter().filter_map(|m| m.hlc_value()).max()
        }
        Body::Recv { ok: Some(recv) } => recv.message.hlc_value(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;
    use crate::history::OpType;

    #[test]
    fn a_send_after_seeing_a_later_clock_must_be_later() {
        let mut h = H::default();
        h.recv(1, "other", &msg(1, 50, "u2", "x"));
        h.send(1, "c", "a").sent(1, "c", "a", 1, 10);
        h.final_read("r1", "c", &[msg(1, 10, "u1", "a")]);
        h.final_read("r1", "other", &[msg(1, 50, "u2", "x")]);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::Causality]);
    }

    #[test]
    fn a_retry_is_judged_at_its_first_attempt() {
        let log = [msg(1, 10, "u1", "a"), msg(2, 50, "u2", "x")];
        let mut h = H::default();
        h.send(1, "c", "a").send_ends(1, OpType::Info, "c", "a");
        h.recv(1, "c", &log[1]);
        h.send(1, "c", "a").sent(1, "c", "a", 1, 10);
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn concurrent_observations_do_not_count() {
        let log = [msg(1, 10, "u1", "a"), msg(2, 50, "u2", "x")];
        let mut h = H::default();
        h.send(1, "c", "a");
        h.recv(1, "c", &log[1]);
        h.sent(1, "c", "a", 1, 10);
        h.final_read("r1", "c", &log);
        assert!(h.check().is_valid());
    }
}
