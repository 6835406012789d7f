//! Typing indicators: not stored, shown to the other current members, told
//! to the other regions (unless another region reported it), and expired
//! after [`TYPING_TTL`] without a refresh.

use protocol::frames::ServerFrame;
use sync::replication::Millis;

use crate::core::{ChatCore, TYPING_TTL};
use crate::io::{Gossip, Output};

impl ChatCore {
    pub(crate) fn set_typing(&mut self, now: Millis, user: &str, active: bool, remote: bool) {
        if self.record.is_none() || !self.members.is_current(user) {
            return;
        }
        let was = self.typing.contains_key(user);
        if active {
            self.typing.insert(user.to_owned(), now + TYPING_TTL);
        } else {
            self.typing.remove(user);
        }
        if was != active {
            self.show_typing(user, active);
        }
        if !remote {
            self.emit(Output::Gossip(Gossip::Typing {
                user: user.to_owned(),
                active,
            }));
        }
    }

    pub(crate) fn expire_typing(&mut self, now: Millis) {
        let expired: Vec<String> = self
            .typing
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(user, _)| user.clone())
            .collect();
        for user in expired {
            self.typing.remove(&user);
            self.show_typing(&user, false);
        }
    }

    fn show_typing(&mut self, user: &str, active: bool) {
        let others: crate::Recipients = self
            .members
            .current_recipients()
            .iter()
            .filter(|m| *m != user)
            .cloned()
            .collect();
        self.deliver(
            ServerFrame::Typing {
                chat_id: self.chat_id.clone(),
                user_id: user.to_owned(),
                active,
            },
            None,
            others,
        );
    }
}
