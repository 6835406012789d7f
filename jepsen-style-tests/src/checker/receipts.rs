//! `receipt_regression` (guarantee 5, markers are max-registers): as one
//! device watches a user's marks in a chat, neither `delivered_seq` nor
//! `read_seq` ever goes down. Each observation is compared with those that
//! device completed before it was invoked. A read mark above the delivered
//! one is not judged: the two travel separately.

use super::Input;
use super::calls::{Body, Call};
use super::outcome::{Anomaly, Class, Findings};
use super::sweep::{Observation, max_before};
use crate::history::MarksSeen;

/// Whose marks, seen where: (device, chat, user).
type Key = (String, String, String);

/// Reads one of the two marks from an observation.
type Pick = fn(&MarksSeen) -> u64;

/// Reports marks that went down.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    let mut marks: Vec<(&Call, &MarksSeen, Key)> = Vec::new();
    for call in &input.calls {
        if let (Body::Marks { ok: Some(seen) }, Some(device)) = (&call.body, &call.device) {
            let key = (device.clone(), seen.chat.clone(), seen.user.clone());
            marks.push((call, seen, key));
        }
    }
    let marks_of: [(&str, Pick); 2] = [
        ("delivered_seq", |s| s.delivered_seq),
        ("read_seq", |s| s.read_seq),
    ];
    let queries: Vec<(usize, Key)> = marks
        .iter()
        .map(|(call, _, key)| (call.invoke, key.clone()))
        .collect();
    for (name, pick) in marks_of {
        let observations: Vec<Observation<Key, u64>> = marks
            .iter()
            .filter_map(|(call, seen, key)| {
                let done = call.complete?;
                Some(Observation {
                    pos: done,
                    key: key.clone(),
                    value: pick(seen),
                    op: input.index(done),
                })
            })
            .collect();
        let answers = max_before(observations, &queries);
        for ((call, seen, key), answer) in marks.iter().zip(answers) {
            let Some((before, before_op)) = answer else {
                continue;
            };
            if pick(seen) < before {
                let mut ops = vec![before_op];
                ops.extend(input.call_ops(call));
                let (device, _, user) = key;
                let mut anomaly = Anomaly::new(
                    Class::ReceiptRegression,
                    ops,
                    format!(
                        "device {device} saw {user}'s {name} {before}, then {}",
                        pick(seen)
                    ),
                )
                .chat(call.chat.clone());
                anomaly.region = call.region.clone();
                findings.add(anomaly);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged};
    use super::*;
    use crate::history::{F, OpType};
    use serde_json::json;

    fn marks(h: &mut H, p: u64, user: &str, delivered: u64, read: u64) {
        let value =
            json!({"chat": "c", "user": user, "delivered_seq": delivered, "read_seq": read});
        h.invoke(
            p,
            F::Marks,
            json!({"chat": "c", "user": user, "delivered_seq": 0, "read_seq": 0}),
        );
        h.done(p, OpType::Ok, F::Marks, value);
    }

    #[test]
    fn marks_that_only_grow_pass() {
        let mut h = H::default();
        marks(&mut h, 1, "u2", 1, 0);
        marks(&mut h, 1, "u2", 3, 4);
        marks(&mut h, 1, "u3", 1, 1);
        marks(&mut h, 2, "u2", 0, 0);
        assert!(h.check().is_valid());
    }

    #[test]
    fn a_mark_going_down_is_a_regression() {
        let mut h = H::default();
        marks(&mut h, 1, "u2", 3, 2);
        marks(&mut h, 1, "u2", 3, 1);
        marks(&mut h, 1, "u2", 2, 2);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::ReceiptRegression]);
        assert_eq!(report.anomalies[&Class::ReceiptRegression].count, 2);
    }
}
