//! [`Cursors`]: the resume state of a stream of messages, without I/O.
//!
//! Per chat it keeps the highest `seq` delivered with nothing missing below
//! it (the *cursor*, sent in `sync` after a reconnect) and the messages that
//! arrived ahead of a gap. A message is delivered exactly once and each
//! chat's messages in `seq` order: duplicates (`seq` at or below the cursor,
//! or already held) are dropped, and a message beyond a gap is held until
//! the gap is filled (by a replay or from history) or given up on.

use std::collections::BTreeMap;

use protocol::chats::Message;
use protocol::frames::ClientFrame;

/// Held messages per chat beyond which the chat's gap is given up on, so a
/// gap that is never filled cannot grow memory without bound.
pub const MAX_HELD_PER_CHAT: usize = 10_000;

/// Messages missing between a chat's cursor and its first held message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The chat.
    pub chat_id: String,
    /// The cursor: the gap starts after it.
    pub after_seq: u64,
    /// The first held message: the gap ends before it.
    pub before_seq: u64,
}

#[derive(Debug, Default)]
struct ChatCursor {
    delivered: u64,
    acked: u64,
    held: BTreeMap<u64, Message>,
}

impl ChatCursor {
    /// Moves held messages that follow the cursor without a gap out, in order.
    fn drain_contiguous(&mut self, out: &mut Vec<Message>) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() != self.delivered + 1 {
                break;
            }
            self.delivered += 1;
            out.push(entry.remove());
        }
    }

    /// Delivers every held message in order, skipping the gaps for good.
    fn release(&mut self) -> Vec<Message> {
        let held = std::mem::take(&mut self.held);
        if let Some(&last) = held.keys().next_back() {
            self.delivered = last;
        }
        held.into_values().collect()
    }
}

/// Per-chat cursors and held messages.
#[derive(Debug, Default)]
pub struct Cursors {
    chats: BTreeMap<String, ChatCursor>,
}

impl Cursors {
    /// Cursors starting at `initial` (chat → last `seq` already seen). Chats
    /// not listed start from the beginning.
    pub fn new(initial: impl IntoIterator<Item = (String, u64)>) -> Self {
        let chats = initial
            .into_iter()
            .map(|(chat, seq)| {
                let cursor = ChatCursor {
                    delivered: seq,
                    acked: seq,
                    held: BTreeMap::new(),
                };
                (chat, cursor)
            })
            .collect();
        Self { chats }
    }

    /// The cursor of `chat_id` (0 when nothing was delivered).
    pub fn cursor(&self, chat_id: &str) -> u64 {
        self.chats.get(chat_id).map_or(0, |c| c.delivered)
    }

    /// Every chat's cursor.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.chats
            .iter()
            .map(|(chat, c)| (chat.clone(), c.delivered))
            .collect()
    }

    /// The `sync` frame that resumes after the cursors.
    pub fn sync_frame(&self) -> ClientFrame {
        ClientFrame::Sync {
            cursors: self.snapshot(),
        }
    }

    /// Takes in a received message and answers the messages now deliverable,
    /// in order: none for a duplicate or a message beyond a gap, several when
    /// it fills a gap. Messages without a `seq` (0: held by a region while
    /// the chat's home is unreachable) have no place in the order and pass
    /// through as they are.
    pub fn accept(&mut self, message: Message) -> Vec<Message> {
        if message.seq == 0 {
            return vec![message];
        }
        let chat = self.chats.entry(message.chat_id.clone()).or_default();
        let seq = message.seq;
        if seq <= chat.delivered || chat.held.contains_key(&seq) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if seq == chat.delivered + 1 {
            chat.delivered = seq;
            out.push(message);
            chat.drain_contiguous(&mut out);
        } else {
            chat.held.insert(seq, message);
            if chat.held.len() > MAX_HELD_PER_CHAT {
                out = chat.release();
            }
        }
        out
    }

    /// The gaps that hold messages back, one per chat.
    pub fn gaps(&self) -> Vec<Gap> {
        self.chats
            .iter()
            .filter_map(|(chat_id, c)| {
                c.held.keys().next().map(|&first| Gap {
                    chat_id: chat_id.clone(),
                    after_seq: c.delivered,
                    before_seq: first,
                })
            })
            .collect()
    }

    /// Gives up on the gaps of `chat_id`: its held messages are delivered in
    /// order and the missing ones will not be asked for again.
    pub fn release(&mut self, chat_id: &str) -> Vec<Message> {
        self.chats
            .get_mut(chat_id)
            .map(ChatCursor::release)
            .unwrap_or_default()
    }

    /// `ack` frames for the chats whose cursor moved since the last call.
    pub fn acks(&mut self) -> Vec<ClientFrame> {
        let mut frames = Vec::new();
        for (chat_id, c) in &mut self.chats {
            if c.delivered > c.acked {
                c.acked = c.delivered;
                frames.push(ClientFrame::Ack {
                    chat_id: chat_id.clone(),
                    seq: c.delivered,
                });
            }
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use protocol::Hlc;
    use protocol::chats::MessageKind;

    use super::*;

    fn msg(chat: &str, seq: u64) -> Message {
        Message {
            chat_id: chat.into(),
            seq,
            hlc: Hlc::new(1_700_000_000_000 + seq, 0),
            sender_id: "u_a".into(),
            client_msg_id: format!("m{seq}"),
            kind: MessageKind::Text,
            text: format!("text {seq}"),
            event: None,
            user_ids: None,
            title: None,
            sent_at: 1_700_000_000_000 + seq,
            ..Default::default()
        }
    }

    fn seqs(messages: &[Message]) -> Vec<u64> {
        messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn in_order_messages_flow_and_duplicates_are_dropped() {
        let mut cursors = Cursors::default();
        assert_eq!(seqs(&cursors.accept(msg("c", 1))), [1]);
        assert_eq!(seqs(&cursors.accept(msg("c", 2))), [2]);
        assert!(cursors.accept(msg("c", 2)).is_empty());
        assert!(cursors.accept(msg("c", 1)).is_empty());
        assert_eq!(cursors.cursor("c"), 2);
        assert_eq!(cursors.cursor("other"), 0);
    }

    #[test]
    fn initial_cursors_drop_what_was_already_seen() {
        let mut cursors = Cursors::new([("c".to_owned(), 5)]);
        assert!(cursors.accept(msg("c", 5)).is_empty());
        assert!(cursors.accept(msg("c", 3)).is_empty());
        assert_eq!(seqs(&cursors.accept(msg("c", 6))), [6]);
        assert_eq!(
            cursors.sync_frame(),
            ClientFrame::Sync {
                cursors: BTreeMap::from([("c".to_owned(), 6)])
            }
        );
    }

    #[test]
    fn a_message_beyond_a_gap_waits_until_the_gap_fills() {
        let mut cursors = Cursors::new([("c".to_owned(), 2)]);
        assert!(cursors.accept(msg("c", 5)).is_empty());
        assert!(cursors.accept(msg("c", 4)).is_empty());
        assert!(cursors.accept(msg("c", 5)).is_empty(), "held duplicate");
        assert_eq!(
            cursors.gaps(),
            [Gap {
                chat_id: "c".into(),
                after_seq: 2,
                before_seq: 4
            }]
        );
        // The cursor stays below the gap, so a resume replays it.
        assert_eq!(cursors.snapshot()["c"], 2);
        assert_eq!(seqs(&cursors.accept(msg("c", 3))), [3, 4, 5]);
        assert!(cursors.gaps().is_empty());
        assert_eq!(cursors.cursor("c"), 5);
    }

    #[test]
    fn releasing_a_gap_delivers_held_messages_in_order_and_moves_on() {
        let mut cursors = Cursors::default();
        cursors.accept(msg("c", 9));
        cursors.accept(msg("c", 7));
        assert_eq!(seqs(&cursors.release("c")), [7, 9]);
        assert_eq!(cursors.cursor("c"), 9);
        assert!(cursors.accept(msg("c", 8)).is_empty());
        assert!(cursors.release("nothing held").is_empty());
    }

    #[test]
    fn chats_are_independent() {
        let mut cursors = Cursors::default();
        assert_eq!(seqs(&cursors.accept(msg("a", 1))), [1]);
        assert!(cursors.accept(msg("b", 2)).is_empty());
        assert_eq!(seqs(&cursors.accept(msg("a", 2))), [2]);
        assert_eq!(cursors.gaps().len(), 1);
        assert_eq!(cursors.gaps()[0].chat_id, "b");
    }

    #[test]
    fn unsequenced_messages_pass_through() {
        let mut cursors = Cursors::default();
        assert_eq!(cursors.accept(msg("c", 0)).len(), 1);
        assert_eq!(cursors.accept(msg("c", 0)).len(), 1);
        assert_eq!(cursors.cursor("c"), 0);
    }

    #[test]
    fn held_messages_are_bounded() {
        let mut cursors = Cursors::default();
        let mut delivered = Vec::new();
        for seq in 2..=(MAX_HELD_PER_CHAT as u64 + 2) {
            delivered.extend(cursors.accept(msg("c", seq)));
        }
        assert_eq!(delivered.len(), MAX_HELD_PER_CHAT + 1);
        assert!(cursors.gaps().is_empty());
        assert!(cursors.accept(msg("c", 1)).is_empty());
    }

    #[test]
    fn acks_follow_the_cursor_once() {
        let mut cursors = Cursors::new([("c".to_owned(), 3)]);
        assert!(cursors.acks().is_empty());
        cursors.accept(msg("c", 4));
        cursors.accept(msg("c", 6));
        assert_eq!(
            cursors.acks(),
            [ClientFrame::Ack {
                chat_id: "c".into(),
                seq: 4
            }]
        );
        assert!(cursors.acks().is_empty());
    }

    #[test]
    fn replay_after_reconnect_is_deduplicated() {
        // Delivered 1..=3 live, then the socket dropped; the replay after
        // `sync {c: 3}` may still overlap with what arrived (e.g. a live 5
        // that raced the drop).
        let mut cursors = Cursors::default();
        let mut out = Vec::new();
        for seq in [1, 2, 3, 5] {
            out.extend(cursors.accept(msg("c", seq)));
        }
        assert_eq!(cursors.snapshot()["c"], 3);
        for seq in [4, 5, 6] {
            out.extend(cursors.accept(msg("c", seq)));
        }
        assert_eq!(seqs(&out), [1, 2, 3, 4, 5, 6]);
    }
}
