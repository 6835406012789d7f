//! `meta_divergence` (guarantee 5, metadata converges): after the run every
//! region shows a chat the same title and description, and each final
//! value is one somebody could have written. A `set_meta` that failed
//! certainly did not write; one that timed out (`info`) may still win. If
//! any `set_meta` of a field was acknowledged, the final value must be one
//! of the possible writes; if none was, it may also be the chat's value
//! from before the first `set_meta`, as `get_meta` showed it then (when
//! nobody looked, that value is unknown and not judged).

use std::collections::BTreeSet;

use super::Input;
use super::calls::Body;
use super::outcome::{Anomaly, Class, Findings};
use crate::history::{Meta, MetaSet, OpType};

/// What the history says one field of one chat could end as.
#[derive(Debug, Default)]
struct Origins<'a> {
    /// Values written by set_meta calls that did not fail.
    written: BTreeSet<&'a str>,
    /// Whether one of them was acknowledged.
    acknowledged: bool,
    /// Values seen before the first set_meta was invoked.
    initial: BTreeSet<&'a str>,
}

/// A metadata field: its name, its value in an answer, its value in a
/// `set_meta` (when that sets it).
type Field = (&'static str, FinalOf, WrittenOf);
type FinalOf = fn(&Meta) -> &str;
type WrittenOf = fn(&MetaSet) -> Option<&str>;

/// Reports chats whose final metadata differs between regions or was
/// never written.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    for (chat, regions) in &input.finals.meta {
        let values: BTreeSet<(&str, &str)> = regions
            .values()
            .map(|m| (m.meta.title.as_str(), m.meta.description.as_str()))
            .collect();
        if values.len() > 1 {
            let shown: Vec<String> = regions
                .iter()
                .map(|(r, m)| format!("{r}: {:?}/{:?}", m.meta.title, m.meta.description))
                .collect();
            findings.add(
                Anomaly::new(
                    Class::MetaDivergence,
                    regions.values().map(|m| m.op).collect(),
                    format!("regions disagree: {}", shown.join(", ")),
                )
                .chat(chat.clone()),
            );
        }
        let fields: [Field; 2] = [
            ("title", |m| &m.title, |s| s.title.as_deref()),
            (
                "description",
                |m| &m.description,
                |s| s.description.as_deref(),
            ),
        ];
        for (name, final_of, written_of) in fields {
            let origins = origins(input, chat, final_of, written_of);
            let mut judged = BTreeSet::new();
            for (region, meta) in regions {
                let value = final_of(&meta.meta);
                if !judged.insert(value) || origins.written.contains(value) {
                    continue;
                }
                let possible = if origins.acknowledged {
                    false
                } else if origins.initial.is_empty() {
                    true
                } else {
                    origins.initial.contains(value)
                };
                if !possible {
                    findings.add(
                        Anomaly::new(
                            Class::MetaDivergence,
                            vec![meta.op],
                            format!("final {name} {value:?} was never written"),
                        )
                        .chat(chat.clone())
                        .region(region.clone()),
                    );
                }
            }
        }
    }
}

/// Gathers what `chat`'s field could end as.
fn origins<'a>(
    input: &'a Input<'_>,
    chat: &str,
    final_of: FinalOf,
    written_of: WrittenOf,
) -> Origins<'a> {
    let mut origins = Origins::default();
    let first_set = input
        .calls
        .iter()
        .filter(|c| c.chat == chat && matches!(c.body, Body::SetMeta { .. }))
        .map(|c| c.invoke)
        .min()
        .unwrap_or(usize::MAX);
    for call in input.calls.iter().filter(|c| c.chat == chat) {
        match &call.body {
            Body::SetMeta { set } if call.outcome != OpType::Fail => {
                if let Some(value) = written_of(set) {
                    origins.written.insert(value);
                    origins.acknowledged |= call.is_ok();
                }
            }
            Body::GetMeta { ok: Some(meta) } if call.complete.is_some_and(|d| d < first_set) => {
                origins.initial.insert(final_of(meta));
            }
            _ => {}
        }
    }
    origins
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged};
    use super::*;
    use crate::history::F;
    use serde_json::json;

    fn set(h: &mut H, p: u64, title: &str, kind: OpType) {
        h.invoke(p, F::SetMeta, json!({"chat": "c", "title": title}));
        h.done(
            p,
            kind,
            F::SetMeta,
            json!({"chat": "c", "title": title, "description": ""}),
        );
    }

    fn get(h: &mut H, p: u64, title: &str) {
        h.invoke(p, F::GetMeta, json!({"chat": "c"}));
        h.done(
            p,
            OpType::Ok,
            F::GetMeta,
            json!({"chat": "c", "title": title, "description": ""}),
        );
    }

    #[test]
    fn a_timed_out_write_may_win() {
        let mut h = H::default();
        set(&mut h, 1, "a", OpType::Ok);
        set(&mut h, 2, "b", OpType::Info);
        h.final_meta("r1", "c", "b").final_meta("r2", "c", "b");
        assert!(h.check().is_valid());
    }

    #[test]
    fn the_initial_value_may_stay_when_no_write_was_acknowledged() {
        let mut h = H::default();
        get(&mut h, 1, "start");
        set(&mut h, 2, "b", OpType::Fail);
        h.final_meta("r1", "c", "start");
        assert!(h.check().is_valid());
        h.final_meta("r2", "c", "b");
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::MetaDivergence]);
        // Regions disagree, and the failed write's value won in r2.
        assert_eq!(report.anomalies[&Class::MetaDivergence].count, 2);
    }

    #[test]
    fn after_an_acknowledged_write_the_initial_value_cannot_win() {
        let mut h = H::default();
        get(&mut h, 1, "start");
        set(&mut h, 2, "b", OpType::Ok);
        h.final_meta("r1", "c", "start")
            .final_meta("r2", "c", "start");
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::MetaDivergence]);
        assert_eq!(report.anomalies[&Class::MetaDivergence].count, 1);
    }
}
