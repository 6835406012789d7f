//! Text messages: sequenced at the chat's home — deduplicated by
//! `(sender, client_msg_id)`, given the next `seq` with no gap, written,
//! answered `sent`, delivered, shipped — or, in any other region, checked
//! against the replica and forwarded to the home.

use protocol::chats::{ChatKind, Message, MessageKind, SendStatus};
use protocol::frames::ServerFrame;
use protocol::peer::{EntryBody, ForwardSend, LogEntry};

use crate::ChatError;
use crate::core::ChatCore;
use crate::io::{Appended, Output, Reply, Send, Write};
use crate::rules::validate_send;
use crate::sabotage::Sabotage;

impl ChatCore {
    pub(crate) fn send(&mut self, send: Send) {
        let token = send.token;
        let outcome = self.check_send(&send).and_then(|()| {
            if self.is_home() {
                Ok(self.sequence(send))
            } else {
                self.forward(send).map(|()| None)
            }
        });
        match outcome {
            Ok(Some(appended)) => self.reply(token, Ok(Reply::Sent(appended))),
            Ok(None) => {}
            Err(error) => self.reply(token, Err(error)),
        }
    }

    fn check_send(&self, send: &Send) -> Result<(), ChatError> {
        validate_send(&send.client_msg_id, &send.text)?;
        self.live_record()?;
        // A send another region forwarded was taken there while the sender
        // was a member as that region knew it; it may already have been
        // answered `accepted`, a promise to sequence it, so a removal that
        // overtook it does not refuse it.
        let was_member = send.forwarded && self.members.get(&send.author).is_some();
        if !self.members.is_current(&send.author) && !was_member {
            return Err(ChatError::NotMember);
        }
        // A block holds even over a send another region answered
        // `accepted`: the blocker never receives it.
        if send.blocked && self.live_record()?.kind == ChatKind::Direct {
            return Err(ChatError::Blocked(
                "the other user of this direct chat has blocked you".into(),
            ));
        }
        Ok(())
    }

    /// Sequences one send at the home; answers its outcome.
    fn sequence(&mut self, send: Send) -> Option<Appended> {
        let key = (send.author, send.client_msg_id);
        if let Some(done) = self.in_batch.get(&key) {
            return Some(*done);
        }
        if let Some((seq, hlc)) = send.stored {
            return Some(Appended {
                seq,
                hlc,
                status: SendStatus::Sent,
            });
        }
        let (author, client_msg_id) = key;
        let seq = self.last_seq + 1;
        let hlc = Sabotage::stamp(self.config.sabotage, seq, self.config.clock.stamp());
        let done = Appended {
            seq,
            hlc,
            status: SendStatus::Sent,
        };
        self.in_batch
            .insert((author.clone(), client_msg_id.clone()), done);
        if Sabotage::drops_acked(self.config.sabotage, seq) {
            // Acknowledged, never stored, and its seq goes to the next message.
            return Some(done);
        }
        let message = Message {
            chat_id: self.chat_id.clone(),
            seq,
            hlc,
            sender_id: author.clone(),
            client_msg_id: client_msg_id.clone(),
            kind: MessageKind::Text,
            text: send.text,
            event: None,
            user_ids: None,
            title: None,
            sent_at: hlc.millis(),
        };
        self.write(Write::Dedup {
            sender: author,
            client_msg_id,
            seq,
        });
        let copy = Sabotage::duplicates(self.config.sabotage, seq).then(|| Message {
            seq: seq + 1,
            hlc: self.config.clock.stamp(),
            ..message.clone()
        });
        self.append(message);
        if let Some(copy) = copy {
            self.append(copy);
        }
        Some(done)
    }

    /// Writes a text message as the next entry, moves its sender's marks
    /// past it (a sender has read what they sent), delivers and ships it.
    fn append(&mut self, message: Message) {
        let seq = message.seq;
        let sender = message.sender_id.clone();
        let marks = self
            .marks
            .get(&sender)
            .copied()
            .unwrap_or_default()
            .merge(seq, seq);
        // Above any stored mark of this chat: writing it cannot move a
        // max-register backwards.
        self.marks.insert(sender.clone(), marks);
        self.dirty.remove(&sender);
        self.write(Write::Marks {
            user: sender,
            marks,
        });
        self.commit_entry(message, false);
    }

    /// The common tail of every entry sequenced here: written with the
    /// chat's new last `seq`, delivered to the members at its `seq`, and
    /// shipped (with the chat's state when `with_state`).
    pub(crate) fn commit_entry(&mut self, message: Message, with_state: bool) {
        let seq = message.seq;
        self.last_seq = seq;
        self.write(Write::Message(message.clone()));
        self.write(Write::LastSeq(seq));
        let recipients = self.recipients_at(seq);
        let state = if with_state || seq == 1 {
            self.state()
        } else {
            None
        };
        let entry = LogEntry {
            chat_id: self.chat_id.clone(),
            seq,
            hlc: message.hlc,
            body: EntryBody::Message {
                message: message.clone(),
                state,
            },
        };
        self.deliver(ServerFrame::Message(message), Some(seq), recipients);
        self.emit(Output::Ship(entry));
    }

    /// Hands a send for a chat homed elsewhere to the shell's forwarding.
    fn forward(&mut self, send: Send) -> Result<(), ChatError> {
        let home = self.record()?.home_region.clone();
        let hlc = self.config.clock.stamp();
        let item = ForwardSend {
            // Unique: the region's clock never repeats a timestamp.
            id: format!("f_{}_{}", self.config.region, hlc),
            chat_id: self.chat_id.clone(),
            sender_id: send.author,
            device_id: String::new(),
            client_msg_id: send.client_msg_id,
            text: send.text,
            hlc,
        };
        let pending_to = self.members.current_recipients();
        self.emit(Output::Forward {
            token: send.token,
            home,
            item,
            pending_to,
        });
        Ok(())
    }
}
