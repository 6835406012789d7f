//! Receipt marks: a member's delivered and read `seq`s, max-registers
//! that never go backwards. Marks reported within [`MARKS_DELAY`] are
//! written together, then shown to the members and told to the other
//! regions, which merge them.

use protocol::frames::ServerFrame;
use sync::replication::Millis;

use crate::ChatError;
use crate::core::{ChatCore, MARKS_DELAY};
use crate::io::{Gossip, Reply, Token, Write};

impl ChatCore {
    pub(crate) fn mark(
        &mut self,
        now: Millis,
        token: Token,
        user: &str,
        delivered: u64,
        read: u64,
    ) {
        let checked = self.record().map(|_| ()).and_then(|()| {
            // Former members may still read what they saw, but no longer
            // report marks: their receipts would show in a chat they left.
            let member = self
                .members
                .get(user)
                .filter(|m| m.is_current())
                .ok_or(ChatError::NotMember)?;
            let limit = member
                .read_limit()
                .unwrap_or(self.last_seq)
                .min(self.last_seq);
            if delivered.max(read) > limit {
                return Err(ChatError::Invalid(format!(
                    "seq is beyond the last message you can see ({limit})"
                )));
            }
            Ok(())
        });
        if let Err(error) = checked {
            self.reply(token, Err(error));
            return;
        }
        self.merge_marks(now, user, delivered, read);
        self.marks_waiting.push(token);
        self.flush_at.get_or_insert(now + MARKS_DELAY);
    }

    /// Merges marks another region reported; unlike a local `ack`/`read`
    /// they are not checked against this replica's last `seq`, which may
    /// be behind the region that saw them.
    pub(crate) fn merge_remote_marks(
        &mut self,
        now: Millis,
        user: &str,
        delivered: u64,
        read: u64,
    ) {
        if self.members.get(user).is_none() {
            return;
        }
        self.merge_marks(now, user, delivered, read);
    }

    fn merge_marks(&mut self, now: Millis, user: &str, delivered: u64, read: u64) {
        let before = self.marks.get(user).copied().unwrap_or_default();
        let after = before.merge(delivered, read);
        if after != before {
            self.marks.insert(user.to_owned(), after);
            self.dirty.insert(user.to_owned(), after);
            self.flush_at.get_or_insert(now + MARKS_DELAY);
        }
    }

    pub(crate) fn flush_marks(&mut self) {
        self.flush_at = None;
        let dirty: Vec<_> = self.dirty.drain().collect();
        let recipients = self.members.current_recipients();
        for (user, marks) in dirty {
            self.write(Write::Marks {
                user: user.clone(),
                marks,
            });
            self.deliver(
                ServerFrame::Receipt {
                    chat_id: self.chat_id.clone(),
                    user_id: user.clone(),
                    delivered_seq: marks.delivered_seq,
                    read_seq: marks.read_seq,
                },
                None,
                recipients.clone(),
            );
            // Max-registers: passing on a merge that changed nothing
            // elsewhere is harmless, and the exchange stops once every
            // region holds the maximum.
            self.emit(crate::io::Output::Gossip(Gossip::Marks { user, marks }));
        }
        for token in std::mem::take(&mut self.marks_waiting) {
            self.reply(token, Ok(Reply::Done));
        }
    }
}
