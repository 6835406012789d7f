//! Folding: how an `edit`, `delete` or `reaction` entry changes the stored
//! record of the message it targets. Every region folds the same entries
//! in the same `seq` order with this one function, so their records
//! converge.
//!
//! - `edit`: the text becomes the entry's text, the old text joins
//!   `history`, `edited_at` is the entry's time.
//! - `delete`: the text, `history`, `edited_at` and `reactions` are
//!   erased and `deleted` is set; the `edit` entries that carried earlier
//!   texts are erased too (their seqs are returned), so no region keeps a
//!   deleted text anywhere. The entries themselves stay: order is unchanged.
//! - `reaction`: the user joins (`on`) or leaves the emoji's list; an
//!   emoji nobody holds disappears.
//!
//! Folding is idempotent per entry, so a region that receives a record
//! already folded (a peer catching it up from its store) and then the
//! entries that folded it ends where the home is: an edit already in the
//! history is skipped, a delete of a deleted message changes nothing,
//! reactions are a set. An action on a deleted message changes nothing and
//! has its own text erased.

use protocol::chats::{Message, MessageKind, Revision};

/// Folds `entry` (an action on `target`) into `target`. Answers the seqs of
/// other stored entries whose text must now be erased (see [`erase`]).
/// `entry` itself may be erased, when it acts on a deleted message.
pub fn fold(target: &mut Message, entry: &mut Message) -> Vec<u64> {
    if target.deleted {
        erase(entry);
        return Vec::new();
    }
    match entry.kind {
        MessageKind::Edit => {
            if entry.seq > last_edit(target) {
                let old = std::mem::replace(&mut target.text, entry.text.clone());
                target.history.push(Revision {
                    text: old,
                    replaced_by: entry.seq,
                });
                target.edited_at = Some(entry.sent_at);
            }
            Vec::new()
        }
        MessageKind::Delete => {
            let edits = target.history.iter().map(|r| r.replaced_by).collect();
            erase(target);
            target.deleted = true;
            edits
        }
        MessageKind::Reaction => {
            let (Some(emoji), Some(on)) = (&entry.emoji, entry.on) else {
                return Vec::new();
            };
            let users = target.reactions.entry(emoji.clone()).or_default();
            let has = users.contains(&entry.sender_id);
            if on && !has {
                users.push(entry.sender_id.clone());
            } else if !on && has {
                users.retain(|u| *u != entry.sender_id);
            }
            if users.is_empty() {
                target.reactions.remove(emoji);
            }
            Vec::new()
        }
        MessageKind::Text | MessageKind::System => Vec::new(),
    }
}

/// The seq of the edit that set a record's current text (0 if none).
fn last_edit(message: &Message) -> u64 {
    message.history.last().map_or(0, |r| r.replaced_by)
}

/// Erases what a user wrote in `message`: its text, earlier texts, edit
/// time and reactions. Who sent it, when, and what it answered or acted on
/// stay, so the log keeps its shape.
pub fn erase(message: &mut Message) {
    message.text.clear();
    message.history.clear();
    message.edited_at = None;
    message.reactions.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seq: u64, sender: &str, text: &str) -> Message {
        Message {
            chat_id: "c".into(),
            seq,
            sender_id: sender.into(),
            kind: MessageKind::Text,
            text: text.into(),
            sent_at: seq * 10,
            ..Message::default()
        }
    }

    fn action(seq: u64, sender: &str, kind: MessageKind, target: u64) -> Message {
        Message {
            target_seq: Some(target),
            kind,
            ..text(seq, sender, "")
        }
    }

    fn edit(seq: u64, target: u64, new: &str) -> Message {
        Message {
            text: new.into(),
            ..action(seq, "ann", MessageKind::Edit, target)
        }
    }

    fn react(seq: u64, user: &str, emoji: &str, on: bool) -> Message {
        Message {
            emoji: Some(emoji.into()),
            on: Some(on),
            ..action(seq, user, MessageKind::Reaction, 1)
        }
    }

    #[test]
    fn edits_keep_history_and_deletes_erase_it_with_the_edit_entries() {
        let mut m = text(1, "ann", "first");
        assert!(fold(&mut m, &mut edit(2, 1, "second")).is_empty());
        assert!(fold(&mut m, &mut edit(4, 1, "third")).is_empty());
        assert_eq!(m.text, "third");
        assert_eq!(m.edited_at, Some(40));
        let old: Vec<&str> = m.history.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(old, ["first", "second"]);
        let erased = fold(&mut m, &mut action(5, "ann", MessageKind::Delete, 1));
        assert_eq!(erased, [2, 4]);
        assert!(m.deleted && m.text.is_empty() && m.history.is_empty());
        assert_eq!(m.edited_at, None);
    }

    #[test]
    fn actions_on_a_deleted_message_change_nothing_and_lose_their_text() {
        let mut m = text(1, "ann", "x");
        fold(&mut m, &mut action(2, "ann", MessageKind::Delete, 1));
        let before = m.clone();
        let mut late = edit(3, 1, "secret");
        assert!(fold(&mut m, &mut late).is_empty());
        assert_eq!(m, before);
        assert!(late.text.is_empty());
        fold(&mut m, &mut react(4, "bob", "👍", true));
        assert_eq!(m, before);
    }

    #[test]
    fn reactions_are_a_set_per_emoji() {
        let mut m = text(1, "ann", "x");
        fold(&mut m, &mut react(2, "bob", "👍", true));
        fold(&mut m, &mut react(3, "cy", "👍", true));
        fold(&mut m, &mut react(4, "bob", "👍", true));
        assert_eq!(m.reactions["👍"], ["bob", "cy"]);
        fold(&mut m, &mut react(5, "bob", "👍", false));
        fold(&mut m, &mut react(6, "cy", "👍", false));
        assert!(m.reactions.is_empty());
    }

    #[test]
    fn refolding_entries_onto_a_folded_record_changes_nothing() {
        let entries = vec![
            edit(2, 1, "two"),
            react(3, "bob", "👍", true),
            edit(4, 1, "four"),
            react(5, "bob", "👍", false),
            react(6, "cy", "🎉", true),
        ];
        let mut home = text(1, "ann", "one");
        for e in &entries {
            fold(&mut home, &mut e.clone());
        }
        // A replica caught up with the folded record, then every entry
        // after it.
        for from in 0..entries.len() {
            let mut replica = home.clone();
            for e in &entries[from..] {
                fold(&mut replica, &mut e.clone());
            }
            assert_eq!(replica, home, "replaying from entry {from}");
        }
    }
}
