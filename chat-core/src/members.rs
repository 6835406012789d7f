//! A chat's members, current and former, and **the one fan-out rule**:
//! the recipients of the entry at `seq` are the users who were members at
//! that `seq` — added at or before it, and not removed before it (a
//! removed member receives the message that removes them, and nothing
//! after). Every path that delivers an entry (a local send, a forwarded
//! send, a change, a replicated entry, a pending send) asks
//! [`Members::recipients_at`].

use std::collections::BTreeMap;
use std::sync::Arc;

use protocol::records::MemberRecord;

/// The users a frame goes to; shared, since one list serves every entry
/// until the membership changes.
pub type Recipients = Arc<[String]>;

/// Every member record of a chat, by user.
#[derive(Debug, Clone, Default)]
pub struct Members {
    records: BTreeMap<String, MemberRecord>,
    /// The highest `seq` at which anyone joined or left: for any later
    /// `seq`, the recipients are the current members.
    changed_at: u64,
    current: Option<Recipients>,
}

impl Members {
    /// The members from their records.
    pub fn new(records: impl IntoIterator<Item = MemberRecord>) -> Self {
        let mut members = Self::default();
        for record in records {
            members.put(record);
        }
        members
    }

    /// Adds or replaces one record.
    pub fn put(&mut self, record: MemberRecord) {
        self.changed_at = self
            .changed_at
            .max(record.joined_seq)
            .max(record.removed_seq.unwrap_or(0));
        self.current = None;
        self.records.insert(record.user_id.clone(), record);
    }

    /// One user's record, current or former.
    pub fn get(&self, user: &str) -> Option<&MemberRecord> {
        self.records.get(user)
    }

    /// Whether `user` is a current member.
    pub fn is_current(&self, user: &str) -> bool {
        self.records.get(user).is_some_and(MemberRecord::is_current)
    }

    /// Every record, current and former, by user id.
    pub fn records(&self) -> impl Iterator<Item = &MemberRecord> {
        self.records.values()
    }

    /// The current members' records.
    pub fn current(&self) -> impl Iterator<Item = &MemberRecord> {
        self.records.values().filter(|m| m.is_current())
    }

    /// How many current members there are.
    pub fn current_count(&self) -> usize {
        self.current().count()
    }

    /// Who receives the entry at `seq`.
    pub fn recipients_at(&mut self, seq: u64) -> Recipients {
        if seq > self.changed_at {
            return self.current_recipients();
        }
        self.records
            .values()
            .filter(|m| was_member_at(m, seq))
            .map(|m| m.user_id.clone())
            .collect()
    }

    /// The current members, as recipients of frames that are not entries
    /// (receipts, typing, the chat's new state).
    pub fn current_recipients(&mut self) -> Recipients {
        self.current
            .get_or_insert_with(|| {
                self.records
                    .values()
                    .filter(|m| m.is_current())
                    .map(|m| m.user_id.clone())
                    .collect()
            })
            .clone()
    }

    /// Everyone who was ever a member (the `ignore-removal` sabotage).
    pub fn everyone(&self) -> Recipients {
        self.records.keys().cloned().collect()
    }
}

/// Whether `member` was a member at `seq`: added at or before it (direct
/// chats' members join at 0), not removed before it.
pub fn was_member_at(member: &MemberRecord, seq: u64) -> bool {
    let now = member.joined_seq <= seq && member.removed_seq.is_none_or(|removed| seq <= removed);
    now || member
        .earlier
        .iter()
        .any(|spell| spell.joined_seq <= seq && seq <= spell.removed_seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::chats::Role;

    fn member(user: &str, joined: u64, removed: Option<u64>) -> MemberRecord {
        MemberRecord {
            user_id: user.into(),
            role: Role::Member,
            joined_seq: joined,
            removed_seq: removed,
            earlier: Vec::new(),
        }
    }

    #[test]
    fn a_member_added_back_received_their_earlier_spell() {
        let mut back = member("b", 8, None);
        back.earlier.push(protocol::records::Spell {
            joined_seq: 1,
            removed_seq: 4,
        });
        let mut members = Members::new([member("a", 1, None), back]);
        assert_eq!(&*members.recipients_at(3), ["a", "b"]);
        assert_eq!(&*members.recipients_at(4), ["a", "b"]);
        assert_eq!(&*members.recipients_at(5), ["a"]);
        assert_eq!(&*members.recipients_at(8), ["a", "b"]);
    }

    #[test]
    fn recipients_follow_the_membership_at_each_seq() {
        let mut members = Members::new([
            member("a", 1, None),
            member("b", 1, Some(5)),
            member("c", 7, None),
        ]);
        assert_eq!(&*members.recipients_at(4), ["a", "b"]);
        // The removed member receives the message that removes them.
        assert_eq!(&*members.recipients_at(5), ["a", "b"]);
        assert_eq!(&*members.recipients_at(6), ["a"]);
        // The added member receives the message that adds them.
        assert_eq!(&*members.recipients_at(7), ["a", "c"]);
        assert_eq!(&*members.recipients_at(100), ["a", "c"]);
        assert_eq!(&*members.current_recipients(), ["a", "c"]);
        assert_eq!(&*members.everyone(), ["a", "b", "c"]);
    }

    #[test]
    fn a_change_clears_the_shared_list() {
        let mut members = Members::new([member("a", 0, None)]);
        assert_eq!(&*members.recipients_at(3), ["a"]);
        members.put(member("b", 4, None));
        assert_eq!(&*members.recipients_at(4), ["a", "b"]);
        members.put(member("a", 0, Some(6)));
        assert_eq!(&*members.recipients_at(7), ["b"]);
        assert!(!members.is_current("a"));
        assert_eq!(members.current_count(), 1);
    }
}
