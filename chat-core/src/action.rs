//! Writes that refer to an earlier message — replies, and the actions
//! `edit`, `delete` and `reaction` — checked against the message they
//! refer to, and action entries folded into their targets.
//!
//! The message referred to must exist and be readable by the author (as
//! history is: a member reads everything up to their removal, earlier
//! history included); then the rule of its kind applies
//! (`reply`, `edit`, `delete`, `react`). The home decides with the stored
//! record as this batch leaves it (earlier inputs of the batch may have
//! written or folded it). A replica checks every rule against its own
//! view before it forwards (or accepts) a write, and forwards what refers
//! to a message it has not received yet. The home checks a forwarded write
//! again only against what cannot change — the target's kind and sender,
//! who may read it — since the region that took it may have answered
//! `accepted`, a promise: a forwarded delete of a message deleted
//! meanwhile, or a reaction added twice from two regions, is sequenced and
//! folds as a no-op. (So a retry, in a replica, of a write already
//! sequenced may be refused for the state that write made: deleting a
//! deleted message.)

use protocol::chats::Message;

use crate::ChatError;
use crate::core::ChatCore;
use crate::fold::fold;
use crate::io::{Action, Send, Write};
use crate::sabotage::Sabotage;
use crate::{delete, edit, react, reply};

impl ChatCore {
    /// Checks a write against the message it refers to, if any.
    pub(crate) fn check_refers(&self, send: &Send) -> Result<(), ChatError> {
        let Some(seq) = send.action.refers_to() else {
            return Ok(());
        };
        let home = self.is_home();
        let missing = || ChatError::NotFound(format!("no message at seq {seq} in this chat"));
        let target = self.batch_messages.get(&seq).or(send.target.as_deref());
        let Some(target) = target.filter(|t| t.seq == seq) else {
            // A replica may not have received it yet: the home decides.
            return if home || seq == 0 || seq <= self.last_seq {
                Err(missing())
            } else {
                Ok(())
            };
        };
        // Members added later read the earlier history too; a removed
        // member reads up to their removal.
        let readable = self
            .members
            .get(&send.author)
            .is_some_and(|m| m.read_limit().is_none_or(|limit| seq <= limit));
        if !readable {
            return Err(missing());
        }
        // A write another region took (and may have answered `accepted`, a
        // promise) is checked there against what changes — deletion,
        // reactions held, roles — and only against what cannot here; it is
        // sequenced even if the state moved meanwhile, and folds as a no-op.
        let taken_elsewhere = home && send.forwarded;
        let exact = !taken_elsewhere;
        match &send.action {
            Action::Text { .. } => reply::check(target),
            Action::Edit { .. } => edit::check(&send.author, target, exact),
            Action::Delete { .. } => {
                let role = (!taken_elsewhere).then(|| {
                    self.members
                        .get(&send.author)
                        .filter(|m| m.is_current())
                        .map_or(protocol::chats::Role::Member, |m| m.role)
                });
                let kind = self.record()?.kind;
                delete::check(&send.author, role, kind, target)
            }
            Action::React { emoji, on, .. } => {
                react::check(&send.author, emoji, *on, target, exact)
            }
        }
    }

    /// Remembers a message written by this batch, for later inputs of the
    /// batch that refer to it.
    pub(crate) fn remember(&mut self, message: &Message) {
        if !message.kind.is_action() {
            self.batch_messages.insert(message.seq, message.clone());
        }
    }

    /// Writes a sequenced action entry folded into its target, and folds
    /// this batch's copy of the target the same way.
    pub(crate) fn write_action(&mut self, entry: Message) {
        if let Some(mut copy) = entry
            .target_seq
            .and_then(|seq| self.batch_messages.remove(&seq))
        {
            fold(&mut copy, &mut entry.clone());
            self.batch_messages.insert(copy.seq, copy);
        }
        self.write(Write::Action(entry));
    }

    /// How a replica stores a replicated action entry: folded, except a
    /// delete under the `keep-deleted` sabotage.
    pub(crate) fn replicated_action(&self, entry: Message) -> Write {
        if Sabotage::keeps_deleted(self.config.sabotage, &entry) {
            Write::Message(entry)
        } else {
            Write::Action(entry)
        }
    }
}
