//! `deleted_readable` and `fold_mismatch`: edits, deletes for everyone and
//! reactions are entries of the log, and every region keeps each message's
//! folded state. In every region's final log:
//!
//! - a message deleted for everyone shows no text, no edit history and no
//!   reactions, and the `edit` entries that targeted it show no text either;
//!   a message with a `delete` entry aimed at it is deleted (a region that
//!   kept it readable is caught here);
//! - a message that is not deleted reads as its last edit in `seq` order,
//!   its history holds the texts before (the text first sent, then each
//!   edit but the last, in `seq` order), and its reactions are what its
//!   reaction entries leave, applied in `seq` order.
//!
//! Whether the regions agree with each other is `final_divergence`'s
//! question; this one asks whether each region's folding is right.

use std::collections::{BTreeMap, HashMap};

use super::Input;
use super::outcome::{Anomaly, Class, Findings};
use crate::history::{F, Msg, OpType, SendInvoke};

/// Reports every region whose final log folds a message wrongly.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    // The text each text message was first sent with, by its key.
    let mut first_text: HashMap<String, String> = HashMap::new();
    for op in input.ops {
        if op.f == F::Send
            && op.kind == OpType::Invoke
            && let Ok(send) = op.value_as::<SendInvoke>()
            && send.kind.is_none()
        {
            first_text.entry(send.client_msg_id).or_insert(send.text);
        }
    }
    for (chat, regions) in &input.finals.logs {
        for (region, log) in regions {
            for (class, detail) in problems(&log.messages, &first_text) {
                findings.add(
                    Anomaly::new(class, vec![log.op], detail)
                        .chat(chat.clone())
                        .region(region.clone()),
                );
            }
        }
    }
}

/// What is wrong with the folded state of `log`, one line per message.
fn problems(log: &[Msg], first_text: &HashMap<String, String>) -> Vec<(Class, String)> {
    let mut acts: BTreeMap<u64, Vec<&Msg>> = BTreeMap::new();
    for m in log {
        if let Some(target) = m.target_seq {
            acts.entry(target).or_default().push(m);
        }
    }
    let mut found = Vec::new();
    for m in log.iter().filter(|m| m.kind == "text") {
        let mine: &[&Msg] = acts.get(&m.seq).map_or(&[], Vec::as_slice);
        let edits: Vec<&Msg> = mine.iter().copied().filter(|a| a.kind == "edit").collect();
        let deleted_by = mine.iter().find(|a| a.kind == "delete");
        if m.deleted || deleted_by.is_some() {
            if !m.deleted {
                found.push((
                    Class::DeletedReadable,
                    format!(
                        "seq {} is deleted by seq {} yet reads {:?}",
                        m.seq,
                        deleted_by.map_or(0, |d| d.seq),
                        m.text
                    ),
                ));
            } else if !m.text.is_empty() || !m.history.is_empty() || !m.reactions.is_empty() {
                found.push((
                    Class::DeletedReadable,
                    format!("deleted seq {} still shows text or history", m.seq),
                ));
            } else if deleted_by.is_none() {
                found.push((
                    Class::FoldMismatch,
                    format!("seq {} is deleted with no delete entry aimed at it", m.seq),
                ));
            }
            for edit in edits.iter().filter(|e| !e.text.is_empty()) {
                found.push((
                    Class::DeletedReadable,
                    format!(
                        "edit seq {} of deleted seq {} still shows its text",
                        edit.seq, m.seq
                    ),
                ));
            }
            continue;
        }
        let mut expected_history: Vec<String> = Vec::new();
        let mut text = first_text.get(m.client_msg_id.as_str()).cloned();
        for edit in &edits {
            if let Some(old) = text.replace(edit.text.clone()) {
                expected_history.push(old);
            }
        }
        let history_ok = if edits.is_empty() {
            m.history.is_empty()
        } else if first_text.contains_key(m.client_msg_id.as_str()) {
            m.history == expected_history
        } else {
            // The first text is unknown (not sent by the workload): only the
            // edits' part of the history can be checked.
            m.history.len() == edits.len()
                && m.history.iter().skip(1).eq(edits
                    .iter()
                    .map(|e| &e.text)
                    .take(edits.len().saturating_sub(1)))
        };
        // Unedited, a message is as it was sent (another check's question).
        let text_ok = edits.last().is_none_or(|e| e.text == m.text);
        if !text_ok || !history_ok {
            found.push((
                Class::FoldMismatch,
                format!(
                    "seq {} reads {:?} with history {:?}; its {} edits in seq order give {:?}",
                    m.seq,
                    m.text,
                    m.history,
                    edits.len(),
                    text
                ),
            ));
        }
        let mut reactions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in mine.iter().filter(|a| a.kind == "reaction") {
            let Some(emoji) = &r.emoji else { continue };
            let users = reactions.entry(emoji.clone()).or_default();
            users.retain(|u| *u != r.sender);
            if r.on != Some(false) {
                users.push(r.sender.clone());
            }
            if users.is_empty() {
                reactions.remove(emoji);
            }
        }
        if reactions != m.reactions {
            found.push((
                Class::FoldMismatch,
                format!(
                    "seq {} has reactions {:?}; its reaction entries give {:?}",
                    m.seq, m.reactions, reactions
                ),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg};
    use super::*;

    fn act(seq: u64, sender: &str, kind: &str, target: u64) -> Msg {
        Msg {
            kind: kind.to_owned(),
            target_seq: Some(target),
            ..msg(seq, seq, sender, &format!("a{seq}"))
        }
    }

    fn folded_log() -> Vec<Msg> {
        let mut m = msg(1, 1, "u1", "m1");
        m.text = "two".into();
        m.history = vec!["one".into()];
        m.reactions.insert("👍".into(), vec!["u2".into()]);
        let mut edit = act(2, "u1", "edit", 1);
        edit.text = "two".into();
        let mut react = act(3, "u2", "reaction", 1);
        react.emoji = Some("👍".into());
        react.on = Some(true);
        vec![m, edit, react]
    }

    #[test]
    fn a_well_folded_log_passes() {
        let report = H::default().final_read("r1", "c", &folded_log()).check();
        assert!(
            !flagged(&report).contains(&Class::FoldMismatch),
            "{report:?}"
        );
        assert!(
            !flagged(&report).contains(&Class::DeletedReadable),
            "{report:?}"
        );
    }

    #[test]
    fn a_kept_delete_and_a_wrong_fold_are_caught() {
        let mut kept = folded_log();
        kept.push(act(4, "u1", "delete", 1));
        let report = H::default().final_read("r1", "c", &kept).check();
        assert!(
            flagged(&report).contains(&Class::DeletedReadable),
            "{report:?}"
        );

        let mut erased = folded_log();
        erased[0].deleted = true;
        erased[0].text.clear();
        erased[0].history.clear();
        erased[0].reactions.clear();
        erased.push(act(4, "u1", "delete", 1));
        // The edit entry still shows the deleted text.
        let report = H::default().final_read("r1", "c", &erased).check();
        assert!(
            flagged(&report).contains(&Class::DeletedReadable),
            "{report:?}"
        );
        erased[1].text.clear();
        let report = H::default().final_read("r1", "c", &erased).check();
        assert!(
            !flagged(&report).contains(&Class::DeletedReadable),
            "{report:?}"
        );

        let mut stale = folded_log();
        stale[0].text = "one".into();
        let report = H::default().final_read("r1", "c", &stale).check();
        assert!(
            flagged(&report).contains(&Class::FoldMismatch),
            "{report:?}"
        );
        let mut reacted = folded_log();
        reacted[0].reactions.clear();
        let report = H::default().final_read("r1", "c", &reacted).check();
        assert!(
            flagged(&report).contains(&Class::FoldMismatch),
            "{report:?}"
        );
    }
}
