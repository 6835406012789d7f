//! Per-chat timers kept in the order they fire, so finding the next one
//! and the ones that are due costs a lookup, not a pass over every chat:
//! a region replicating thousands of busy chats asks on every event.

use std::collections::{BTreeSet, HashMap};

use super::time::Millis;

/// At most one timer per chat, ordered by when it fires.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    by_time: BTreeSet<(Millis, String)>,
    of: HashMap<String, Millis>,
}

impl Timers {
    /// Sets (or with `None` removes) the timer of `chat`.
    pub(crate) fn set(&mut self, chat: &str, at: Option<Millis>) {
        let old = self.of.get(chat).copied();
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.by_time.remove(&(old, chat.to_owned()));
            self.of.remove(chat);
        }
        if let Some(at) = at {
            self.by_time.insert((at, chat.to_owned()));
            self.of.insert(chat.to_owned(), at);
        }
    }

    /// When the earliest timer fires.
    pub(crate) fn first(&self) -> Option<Millis> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// The chats whose timers fire at or before `now`, earliest first.
    pub(crate) fn due(&self, now: Millis) -> Vec<String> {
        self.by_time
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, chat)| chat.clone())
            .collect()
    }

    /// Removes every timer.
    pub(crate) fn clear(&mut self) {
        self.by_time.clear();
        self.of.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_timer_and_the_due_ones_follow_every_change() {
        let mut timers = Timers::default();
        assert_eq!(timers.first(), None);
        timers.set("a", Some(Millis(30)));
        timers.set("b", Some(Millis(10)));
        timers.set("c", Some(Millis(20)));
        assert_eq!(timers.first(), Some(Millis(10)));
        assert_eq!(timers.due(Millis(20)), vec!["b", "c"]);
        // Moving a timer replaces it; removing one forgets it.
        timers.set("b", Some(Millis(40)));
        timers.set("c", None);
        assert_eq!(timers.first(), Some(Millis(30)));
        assert_eq!(timers.due(Millis(35)), vec!["a"]);
        timers.set("a", Some(Millis(30)));
        assert_eq!(timers.due(Millis(100)), vec!["a", "b"]);
        timers.clear();
        assert_eq!(timers.first(), None);
        assert!(timers.due(Millis(100)).is_empty());
    }
}
