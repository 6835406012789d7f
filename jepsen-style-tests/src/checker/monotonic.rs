//! `nonmonotonic_read`: a device never sees a chat go back. Per (device,
//! chat), each ok read's tip (the highest seq it showed, at least its
//! `after`) must reach the highest seq that device's reads and pushes had
//! shown before the read was invoked. What counts as shown is only what
//! reads and pushes answered, not a read's `after`: a device may ask from
//! a seq it knows from its own `sent` answer, which its region's replica
//! may not hold yet. Only reads are judged: pushes may be replayed after a
//! reconnect, so an old push is not a regression.

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};
use super::sweep::{Observation, max_before};

/// Reports reads that showed less than their device had already seen.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    let mut observations = Vec::new();
    let mut reads = Vec::new();
    let mut queries = Vec::new();
    for call in &input.calls {
        let (Some(device), Some(tip), Some(done)) = (&call.device, call.seen_tip(), call.complete)
        else {
            continue;
        };
        let key = (device.as_str(), call.chat.as_str());
        if let Some(shown) = call.shown_tip() {
            observations.push(Observation {
                pos: done,
                key,
                value: shown,
                op: input.index(done),
            });
        }
        if matches!(call.body, Body::Read { .. }) {
            reads.push((call, tip));
            queries.push((call.invoke, key));
        }
    }
    let answers = max_before(observations, &queries);
    for ((call, tip), answer) in reads.into_iter().zip(answers) {
        let Some((seen, seen_op)) = answer else {
            continue;
        };
        if tip < seen {
            let mut ops = vec![seen_op];
            ops.extend(input.call_ops(call));
            let mut anomaly = Anomaly::new(
                Class::NonmonotonicRead,
                ops,
                format!(
                    "device {} had seen seq {seen}, then a read reached only seq {tip}",
                    call.device.as_deref().unwrap_or("?")
                ),
            )
            .chat(call.chat.clone());
            anomaly.region = call.region.clone();
            findings.add(anomaly);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;
    use crate::history::F;
    use serde_json::json;

    fn log() -> Vec<crate::history::Msg> {
        vec![msg(1, 1, "u1", "a"), msg(2, 2, "u2", "b")]
    }

    #[test]
    fn a_read_behind_an_earlier_read_is_nonmonotonic() {
        let mut h = H::default();
        h.read(1, "c", 0, &log()).read(1, "c", 0, &log()[..1]);
        h.final_read("r1", "c", &log());
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::NonmonotonicRead]);
    }

    #[test]
    fn asking_from_a_seq_the_replica_lacks_is_not_a_regression() {
        let mut h = H::default();
        // The device knew seq 2 from elsewhere and asked from it; the
        // region showed nothing beyond 1 then, nor later.
        h.read(1, "c", 2, &[]).read(1, "c", 1, &[]);
        h.final_read("r1", "c", &log());
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn a_read_behind_an_earlier_push_is_nonmonotonic() {
        let mut h = H::default();
        h.recv(1, "c", &log()[1]).read(1, "c", 0, &log()[..1]);
        h.final_read("r1", "c", &log());
        assert_eq!(flagged(&h.check()), vec![Class::NonmonotonicRead]);
    }

    #[test]
    fn overlapping_reads_and_other_devices_do_not_count() {
        let mut h = H::default();
        h.invoke(1, F::Read, json!({"chat": "c", "after": 0}));
        h.read(2, "c", 0, &log());
        h.recv(1, "c", &log()[1]);
        h.done(
            1,
            crate::history::OpType::Ok,
            F::Read,
            json!({"chat": "c", "after": 0, "messages": &log()[..1]}),
        );
        h.read(1, "c", 2, &[]);
        h.final_read("r1", "c", &log());
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }
}
