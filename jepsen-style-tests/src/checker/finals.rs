//! The final state of the mesh: each chat's log and metadata as every
//! region answered them after the faults healed.
//!
//! Checks that compare an operation with "the final log" use one log per
//! chat, the canonical one: the longest of the regions' logs (ties go to
//! the region first by name). Regions that disagree with it are reported by
//! `final_divergence`; choosing the longest keeps a write that reached only
//! some regions from also being reported as lost.

use std::collections::{BTreeMap, HashMap};

use super::outcome::{Anomaly, Class, Findings};
use crate::history::{F, Meta, Msg, Op, OpType, ReadOk};

/// One region's final answer for a chat.
#[derive(Debug, Clone)]
pub struct FinalLog {
    /// Index of the `final_read` event.
    pub op: u64,
    /// Its messages, in the order answered.
    pub messages: Vec<Msg>,
}

/// One region's final metadata for a chat.
#[derive(Debug, Clone)]
pub struct FinalMeta {
    /// Index of the `final_meta` event.
    pub op: u64,
    /// Its value.
    pub meta: Meta,
}

/// A message's identity: (sender, client_msg_id).
pub type MsgKey = (String, String);

/// The canonical final log of one chat, indexed.
#[derive(Debug, Clone, Default)]
pub struct Canonical {
    /// The region it came from.
    pub region: String,
    /// Index of its `final_read` event.
    pub op: u64,
    /// Its messages in the order answered.
    pub messages: Vec<Msg>,
    /// The first message at each seq.
    pub by_seq: BTreeMap<u64, Msg>,
    /// The seqs each (sender, client_msg_id) appears at.
    pub by_key: HashMap<MsgKey, Vec<u64>>,
}

impl Canonical {
    fn new(region: &str, log: &FinalLog) -> Self {
        let mut by_seq = BTreeMap::new();
        let mut by_key: HashMap<MsgKey, Vec<u64>> = HashMap::new();
        for msg in &log.messages {
            by_seq.entry(msg.seq).or_insert_with(|| msg.clone());
            by_key
                .entry((msg.sender.clone(), msg.client_msg_id.clone()))
                .or_default()
                .push(msg.seq);
        }
        Self {
            region: region.to_owned(),
            op: log.op,
            messages: log.messages.clone(),
            by_seq,
            by_key,
        }
    }

    /// The message with this identity (its first seq), if any.
    pub fn find(&self, sender: &str, client_msg_id: &str) -> Option<&Msg> {
        let seqs = self
            .by_key
            .get(&(sender.to_owned(), client_msg_id.to_owned()))?;
        self.by_seq.get(seqs.first()?)
    }
}

/// Every final answer of the run.
#[derive(Debug, Clone, Default)]
pub struct Finals {
    /// chat → region → log.
    pub logs: BTreeMap<String, BTreeMap<String, FinalLog>>,
    /// chat → canonical log.
    pub canonical: BTreeMap<String, Canonical>,
    /// chat → region → metadata.
    pub meta: BTreeMap<String, BTreeMap<String, FinalMeta>>,
    /// The `converged` value, if recorded.
    pub converged_after_heal_ms: Option<u64>,
}

impl Finals {
    /// Collects the final events of `ops`; malformed ones are reported. A
    /// later answer for the same chat and region replaces an earlier one.
    pub fn collect(ops: &[Op], findings: &mut Findings) -> Self {
        let mut finals = Finals::default();
        for op in ops {
            if op.kind == OpType::Invoke
                || !matches!(op.f, F::FinalRead | F::FinalMeta | F::Converged)
            {
                continue;
            }
            let region = op.region.clone().unwrap_or_default();
            let result = match op.f {
                F::FinalRead if op.kind == OpType::Ok => op.value_as::<ReadOk>().map(|read| {
                    finals.logs.entry(read.chat).or_default().insert(
                        region,
                        FinalLog {
                            op: op.index,
                            messages: read.messages,
                        },
                    );
                }),
                F::FinalMeta if op.kind == OpType::Ok => op.value_as::<Meta>().map(|meta| {
                    finals
                        .meta
                        .entry(meta.chat.clone())
                        .or_default()
                        .insert(region, FinalMeta { op: op.index, meta });
                }),
                F::Converged => op
                    .value_as::<crate::history::Converged>()
                    .map(|c| finals.converged_after_heal_ms = Some(c.after_heal_ms)),
                // A final read that failed leaves that region unchecked.
                _ => Ok(()),
            };
            if let Err(error) = result {
                findings.add(Anomaly::new(
                    Class::Malformed,
                    vec![op.index],
                    error.to_string(),
                ));
            }
        }
        for (chat, regions) in &finals.logs {
            let longest = regions
                .iter()
                .rev()
                .max_by_key(|(_, log)| log.messages.len());
            if let Some((region, log)) = longest {
                finals
                    .canonical
                    .insert(chat.clone(), Canonical::new(region, log));
            }
        }
        finals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;
    use serde_json::json;

    fn final_read(index: u64, region: &str, seqs: &[u64]) -> Op {
        let messages: Vec<_> = seqs
            .iter()
            .map(|s| json!({"seq": s, "hlc": format!("{s:016x}"), "sender": "u", "client_msg_id": format!("m{s}"), "kind": "text"}))
            .collect();
        Op {
            index,
            time: 0,
            process: Process::final_reader(),
            kind: OpType::Ok,
            f: F::FinalRead,
            value: json!({"chat": "c", "after": 0, "messages": messages}),
            region: Some(region.to_owned()),
            device: None,
            user: None,
            error: None,
        }
    }

    #[test]
    fn the_longest_log_is_canonical_and_ties_go_to_the_first_region() {
        let ops = vec![
            final_read(0, "b", &[1, 2]),
            final_read(1, "a", &[1, 2]),
            final_read(2, "c", &[1]),
        ];
        let mut findings = Findings::default();
        let finals = Finals::collect(&ops, &mut findings);
        let canonical = &finals.canonical["c"];
        assert_eq!(canonical.region, "a");
        assert_eq!(canonical.find("u", "m2").map(|m| m.seq), Some(2));
        assert!(canonical.find("u", "m3").is_none());
        assert_eq!(finals.logs["c"].len(), 3);
    }

    #[test]
    fn a_bad_final_value_is_malformed() {
        let mut op = final_read(0, "a", &[1]);
        op.value = json!({"chat": "c"});
        let mut findings = Findings::default();
        let finals = Finals::collect(&[op], &mut findings);
        assert!(finals.logs.is_empty());
        assert_eq!(findings.into_classes()[&Class::Malformed].count, 1);
    }
}
