//! `read_your_writes` in the chat's home region: once a process talking to
//! the home was told `sent` with seq s, a later read of that chat by the
//! same process (invoked after the answer, asking from below s) must reach
//! s. Other regions answer `sent` for a forwarded send when the home
//! committed it, which may be before their replica holds it, so they are
//! not judged. The home is what the final metadata reads said; a chat
//! whose home no region told is not judged.

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};
use super::sweep::{Observation, max_before};

/// Reports reads that missed their own process's sequenced sends.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    let homes: std::collections::BTreeMap<&str, &str> = input
        .finals
        .meta
        .iter()
        .filter_map(|(chat, regions)| {
            let home = regions.values().find_map(|m| m.meta.home.as_deref())?;
            Some((chat.as_str(), home))
        })
        .collect();
    let mut observations = Vec::new();
    let mut reads = Vec::new();
    let mut queries = Vec::new();
    for call in &input.calls {
        let at_home = call.region.is_some()
            && homes.get(call.chat.as_str()).copied() == call.region.as_deref();
        if !at_home {
            continue;
        }
        let key = (call.process, call.chat.as_str(), call.region.as_deref());
        match &call.body {
            Body::Send { ok: Some(ok), .. } if ok.status == "sent" => {
                if let (Some(seq), Some(done)) = (ok.seq, call.complete) {
                    observations.push(Observation {
                        pos: done,
                        key,
                        value: seq,
                        op: input.index(done),
                    });
                }
            }
            Body::Read { ok: Some(read), .. } => {
                if let Some(tip) = call.seen_tip() {
                    reads.push((call, read.after, tip));
                    queries.push((call.invoke, key));
                }
            }
            _ => {}
        }
    }
    let answers = max_before(observations, &queries);
    for ((call, after, tip), answer) in reads.into_iter().zip(answers) {
        let Some((written, sent_op)) = answer else {
            continue;
        };
        if after < written && tip < written {
            let mut ops = vec![sent_op];
            ops.extend(input.call_ops(call));
            let mut anomaly = Anomaly::new(
                Class::ReadYourWrites,
                ops,
                format!(
                    "process {} was sent seq {written}, then read after {after} up to seq {tip}",
                    call.process
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

    #[test]
    fn a_read_missing_the_process_own_send_is_flagged() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u1", "b")];
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(1, "c", "b").sent(1, "c", "b", 2, 2);
        h.read(1, "c", 0, &log[..1]);
        h.final_read("r1", "c", &log);
        h.final_home("r1", "c", "r1");
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::ReadYourWrites]);
    }

    #[test]
    fn reads_outside_the_home_are_not_judged() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u1", "b")];
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(1, "c", "b").sent(1, "c", "b", 2, 2);
        h.read(1, "c", 0, &log[..1]);
        h.final_read("r1", "c", &log);
        h.final_home("r1", "c", "r2");
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn other_processes_and_reads_from_above_are_not_judged() {
        let log = [msg(1, 1, "u1", "a"), msg(2, 2, "u1", "b")];
        let mut h = H::default();
        h.send(1, "c", "a").sent(1, "c", "a", 1, 1);
        h.send(1, "c", "b").sent(1, "c", "b", 2, 2);
        h.read(2, "c", 0, &log[..1]);
        h.read(1, "c", 2, &[]);
        h.read(3, "c", 0, &log);
        h.final_read("r1", "c", &log);
        h.final_home("r1", "c", "r1");
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }
}
