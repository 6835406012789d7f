//! What a region keeps on disk: per chat the rows a chat core writes (its
//! record, members, messages by `seq`, last `seq`, dedup table, marks),
//! and the outbox of sends held for other regions. A restart keeps all of
//! it; the cores are rebuilt from [`Store::load`].

use std::collections::{BTreeMap, HashMap};

use chat_core::{Loaded, Write};
use protocol::Hlc;
use protocol::chats::{Message, MessageKind};
use protocol::peer::{EntryBody, ForwardSend, LogEntry};
use protocol::records::{ChatRecord, ChatState, Marks, MemberRecord};

/// One chat's rows.
#[derive(Debug, Default, Clone)]
pub struct ChatRows {
    /// The chat's record.
    pub record: Option<ChatRecord>,
    /// Member records by user.
    pub members: BTreeMap<String, MemberRecord>,
    /// Messages by `seq`.
    pub messages: BTreeMap<u64, Message>,
    /// The chat's last `seq`.
    pub last_seq: u64,
    /// `(sender, client_msg_id)` → `seq` (at the home only).
    pub dedup: HashMap<(String, String), u64>,
    /// Marks by user.
    pub marks: HashMap<String, Marks>,
}

/// What a region keeps on disk.
#[derive(Debug, Default)]
pub struct Store {
    /// Every chat known here, homed here or replicated.
    pub chats: BTreeMap<String, ChatRows>,
    /// Outbox rows in submission order.
    pub outbox: BTreeMap<u64, ForwardSend>,
    /// Next outbox row key.
    pub next_row: u64,
}

impl Store {
    /// A chat's rows (empty if it is not known here).
    pub fn chat(&self, chat: &str) -> ChatRows {
        self.chats.get(chat).cloned().unwrap_or_default()
    }

    /// The last `seq` of a chat here, 0 if none.
    pub fn last_seq(&self, chat: &str) -> u64 {
        self.chats.get(chat).map_or(0, |rows| rows.last_seq)
    }

    /// What the dedup table holds for a send, as the shell hands it to the
    /// core: its `seq` and the stored message's clock.
    pub fn stored(&self, chat: &str, sender: &str, client_msg_id: &str) -> Option<(u64, Hlc)> {
        let rows = self.chats.get(chat)?;
        let seq = rows
            .dedup
            .get(&(sender.to_owned(), client_msg_id.to_owned()))?;
        Some((*seq, rows.messages.get(seq)?.hlc))
    }

    /// What a chat core is rebuilt from.
    pub fn load(&self, chat: &str) -> Loaded {
        let Some(rows) = self.chats.get(chat) else {
            return Loaded::default();
        };
        Loaded {
            record: rows.record.clone(),
            members: rows.members.values().cloned().collect(),
            last_seq: rows.last_seq,
            marks: rows.marks.clone(),
            meta: None,
        }
    }

    /// Applies one write of a chat core (the batch's transaction is the
    /// whole step, so there is nothing to roll back).
    pub fn write(&mut self, chat: &str, write: Write) {
        let rows = self.chats.entry(chat.to_owned()).or_default();
        match write {
            Write::Message(message) => {
                let seq = message.seq;
                assert!(
                    rows.messages.insert(seq, message).is_none(),
                    "chat {chat}: seq {seq} is written twice"
                );
            }
            Write::MessageSwappedWithPrevious(mut message) => {
                // The `reorder` sabotage: this message one place early.
                let seq = message.seq;
                if let Some(mut previous) = rows.messages.remove(&(seq - 1)) {
                    previous.seq = seq;
                    message.seq = seq - 1;
                    rows.messages.insert(seq, previous);
                }
                rows.messages.insert(message.seq, message);
            }
            Write::Action(mut entry) => {
                if let Some(target) = entry.target_seq.and_then(|t| rows.messages.get_mut(&t)) {
                    for seq in chat_core::fold::fold(target, &mut entry) {
                        if let Some(edit) = rows.messages.get_mut(&seq) {
                            chat_core::fold::erase(edit);
                        }
                    }
                }
                let seq = entry.seq;
                assert!(
                    rows.messages.insert(seq, entry).is_none(),
                    "chat {chat}: seq {seq} is written twice"
                );
            }
            Write::LastSeq(seq) => rows.last_seq = seq,
            Write::Dedup {
                sender,
                client_msg_id,
                seq,
            } => {
                let key = (sender, client_msg_id);
                assert!(
                    rows.dedup.insert(key.clone(), seq).is_none(),
                    "chat {chat}: {key:?} is sequenced twice"
                );
            }
            Write::Record(record) => rows.record = Some(record),
            Write::Member(member) => {
                rows.members.insert(member.user_id.clone(), member);
            }
            Write::Marks { user, marks } => {
                let before = rows.marks.get(&user).copied().unwrap_or_default();
                assert!(
                    marks.delivered_seq >= before.delivered_seq
                        && marks.read_seq >= before.read_seq,
                    "chat {chat}: marks of {user} went backwards: {before:?} -> {marks:?}"
                );
                rows.marks.insert(user, marks);
            }
            Write::MembersCount(_) | Write::ClaimDirect { .. } | Write::Direct { .. } => {}
        }
    }

    /// Entries of a chat homed here after `after`, at most `limit`, read
    /// as region-node's `replica::logs::read` reads them: the first entry
    /// and every system message carry the chat's record and members as
    /// they are now.
    pub fn read(&self, chat: &str, after: u64, limit: usize) -> Vec<LogEntry> {
        let Some(rows) = self.chats.get(chat) else {
            return Vec::new();
        };
        let state = rows.record.clone().map(|chat| ChatState {
            chat,
            members: rows.members.values().cloned().collect(),
        });
        rows.messages
            .range(after + 1..)
            .take(limit)
            .map(|(&seq, message)| {
                let with_state = seq == 1 || message.kind == MessageKind::System;
                LogEntry {
                    chat_id: chat.to_owned(),
                    seq,
                    hlc: message.hlc,
                    body: EntryBody::Message {
                        message: message.clone(),
                        state: if with_state { state.clone() } else { None },
                    },
                }
            })
            .collect()
    }
}
