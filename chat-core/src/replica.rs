//! A replica applying its home's entries: a contiguous run continuing the
//! replica's last `seq` (a run already held is answered again, a gap is a
//! conflict), written with the chat's state where an entry carries it,
//! and delivered to the members at each entry's `seq`.

use protocol::frames::ServerFrame;
use protocol::peer::{EntryBody, LogEntry};

use crate::ChatError;
use crate::core::ChatCore;
use crate::io::{Reply, Write};
use crate::sabotage::Sabotage;

impl ChatCore {
    pub(crate) fn apply_replicated(&mut self, entries: &[LogEntry]) -> Result<Reply, ChatError> {
        if self.is_home() {
            return Err(ChatError::Conflict(format!(
                "{} is homed here; its entries are not applied",
                self.chat_id
            )));
        }
        let fresh: Vec<&LogEntry> = entries.iter().filter(|e| e.seq > self.last_seq).collect();
        let Some(first) = fresh.first() else {
            return Ok(Reply::Applied(self.last_seq));
        };
        if first.seq != self.last_seq + 1 {
            return Err(ChatError::Conflict(format!(
                "replica of {} is at {}; entries start at {}",
                self.chat_id, self.last_seq, first.seq
            )));
        }
        let mut known = self.record.is_some();
        for (expected, entry) in (first.seq..).zip(fresh.iter()) {
            if entry.seq != expected || entry.chat_id != self.chat_id {
                return Err(ChatError::Conflict(format!(
                    "entries of {} are not one contiguous run",
                    self.chat_id
                )));
            }
            let EntryBody::Message { state, .. } = &entry.body else {
                return Err(ChatError::Invalid(format!(
                    "entry {} of {} is not a chat message",
                    entry.seq, self.chat_id
                )));
            };
            known |= state.is_some();
            if !known {
                return Err(ChatError::Conflict(format!(
                    "{} is not known here and entry {} does not describe it",
                    self.chat_id, entry.seq
                )));
            }
        }
        let mut changed = false;
        for entry in fresh {
            let EntryBody::Message { message, state } = &entry.body else {
                continue;
            };
            let seq = entry.seq;
            if message.kind.is_action() {
                let write = self.replicated_action(message.clone());
                self.write(write);
            } else if Sabotage::reorders(self.config.sabotage, seq) {
                self.write(Write::MessageSwappedWithPrevious(message.clone()));
            } else {
                self.write(Write::Message(message.clone()));
            }
            if let Some(state) = state {
                self.take_state(state.clone());
                changed = true;
            }
            self.last_seq = seq;
            let recipients = self.members.recipients_at(seq);
            self.deliver(ServerFrame::Message(message.clone()), Some(seq), recipients);
        }
        self.write(Write::LastSeq(self.last_seq));
        if changed {
            self.broadcast_chat(None);
        }
        Ok(Reply::Applied(self.last_seq))
    }
}
