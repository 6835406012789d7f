//! The replica side of log replication: one [`Receiver`] per home peer
//! turns whatever `Entries` arrive — late, twice, out of order, with holes —
//! into `Apply` outputs that extend each chat's replica without a gap and
//! without repeating an entry.
//!
//! Two positions per chat make that hold while writes are in flight:
//! `applying` (the last `seq` handed to the shell in an `Apply`) and
//! `durable` (the last `seq` the shell reported written). Entries at or
//! below `applying` are dropped; the contiguous run after it is applied;
//! entries beyond a hole wait in a bounded buffer, and a hole that lasts
//! asks the home for a `Resend`. Acks report only `durable`, batched.

use std::collections::BTreeMap;
use std::time::Duration;

use protocol::peer::{LogEntry, PeerMessage};

use super::time::Millis;
use super::timers::Timers;

/// Limits and timeouts of a [`Receiver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// Entries of one chat kept beyond a hole; later ones are dropped and
    /// shipped again by the home.
    pub max_buffered_per_chat: u64,
    /// Batch acks: wait this long after a write before acking it…
    pub ack_delay: Duration,
    /// …unless this many entries became durable since the last ack.
    pub ack_every: u64,
    /// Ask for a resend when a hole has lasted this long (short holes are
    /// usually reordering), and at most this often per chat.
    pub resend_after: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            max_buffered_per_chat: 1024,
            ack_delay: Duration::from_millis(20),
            ack_every: 64,
            resend_after: Duration::from_millis(500),
        }
    }
}

/// What the shell feeds a [`Receiver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A connection to the home peer is up.
    PeerConnected,
    /// The connection is gone.
    PeerDisconnected,
    /// The home's `Catalog`.
    Catalog {
        /// Chat id → last committed `seq` at the home.
        chats: BTreeMap<String, u64>,
    },
    /// The home's `Entries`.
    Entries {
        /// The chat.
        chat_id: String,
        /// The entries, in any order.
        entries: Vec<LogEntry>,
    },
    /// The shell wrote the entries of `chat_id` through `seq` durably (the
    /// last `seq` of an [`Output::Apply`]).
    Applied {
        /// The chat.
        chat_id: String,
        /// Last `seq` written.
        seq: u64,
    },
    /// The time given by [`Receiver::poll_timeout`] has come.
    Tick,
}

/// What a [`Receiver`] asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this message to the home peer.
    Send(PeerMessage),
    /// Append these entries to the chat's replica, durably and in order,
    /// then feed [`Input::Applied`] with the last `seq`. They continue the
    /// previous `Apply` of the chat exactly (`seq` = its last + 1, …), so
    /// the shell must carry out a chat's applies in the order given.
    Apply {
        /// The chat.
        chat_id: String,
        /// Consecutive entries, `seq` ascending.
        entries: Vec<LogEntry>,
    },
}

/// Replica state of one chat.
#[derive(Debug, Default)]
struct ChatReplica {
    /// Last `seq` written durably.
    durable: u64,
    /// Last `seq` handed out in an `Apply`; `durable <= applying`.
    applying: u64,
    /// Last `seq` the home is known to hold (catalog or entries seen).
    expected: u64,
    /// Entries after a hole, by `seq`; all `> applying + 1`.
    buffer: BTreeMap<u64, LogEntry>,
    /// An entry too far beyond the hole was dropped since the last resend.
    dropped_far: bool,
    /// Last `seq` acked on this connection.
    acked: u64,
    /// Send an ack at this time.
    ack_at: Option<Millis>,
    /// Ack even without progress: the home shipped entries we already hold,
    /// so it has missed our acks.
    ack_forced: bool,
    /// Ask for a resend at this time if the hole is still there.
    resend_at: Option<Millis>,
}

impl ChatReplica {
    fn new(cursor: u64) -> Self {
        Self {
            durable: cursor,
            applying: cursor,
            expected: cursor,
            ..Self::default()
        }
    }

    fn next_timer(&self) -> Option<Millis> {
        [self.ack_at, self.resend_at].into_iter().flatten().min()
    }

    /// Forgets everything tied to one connection.
    fn reset_connection(&mut self) {
        self.buffer.clear();
        self.dropped_far = false;
        self.acked = self.durable;
        self.ack_at = None;
        self.ack_forced = false;
        self.resend_at = None;
    }
}

/// Keeps this region's replicas of the chats homed at one peer region.
///
/// Create it with the durable cursors loaded from the store, drive it with
/// [`Receiver::handle`] for every event and with [`Input::Tick`] once
/// [`Receiver::poll_timeout`] has passed, and carry out the returned outputs
/// in order. If the shell cannot complete an `Apply`, it must rebuild the
/// receiver from the store's cursors (as after a restart) rather than go on.
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    chats: BTreeMap<String, ChatReplica>,
    connected: bool,
    /// Chats with a timer set.
    timers: Timers,
}

impl Receiver {
    /// A receiver holding, per chat, the last `seq` its replica has durably.
    pub fn new(config: ReceiverConfig, cursors: BTreeMap<String, u64>) -> Self {
        let chats = cursors
            .into_iter()
            .map(|(chat, cursor)| (chat, ChatReplica::new(cursor)))
            .collect();
        Self {
            config,
            chats,
            connected: false,
            timers: Timers::default(),
        }
    }

    /// Whether a connection to the home peer is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The last durable `seq` per chat, as the `Hello` reports it.
    pub fn cursors(&self) -> BTreeMap<String, u64> {
        self.chats
            .iter()
            .filter(|(_, state)| state.durable > 0)
            .map(|(chat, state)| (chat.clone(), state.durable))
            .collect()
    }

    /// Entries of one chat the home holds and this replica does not yet
    /// hold durably; `None` for unknown chats.
    pub fn chat_lag(&self, chat_id: &str) -> Option<u64> {
        self.chats
            .get(chat_id)
            .map(|state| state.expected.saturating_sub(state.durable))
    }

    /// Entries the home holds and this replica does not, over all chats.
    pub fn lag(&self) -> u64 {
        self.chats
            .values()
            .map(|state| state.expected.saturating_sub(state.durable))
            .sum()
    }

    /// When to feed the next [`Input::Tick`], if anything waits on time.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.first()
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::PeerConnected => {
                self.connected = true;
                self.reset_connection();
                out.push(self.hello());
            }
            Input::PeerDisconnected => {
                self.connected = false;
                self.reset_connection();
            }
            Input::Catalog { chats } => {
                for (chat, last) in chats {
                    let state = self.chats.entry(chat).or_default();
                    state.expected = state.expected.max(last);
                }
                // Answering every catalog with a Hello makes the handshake
                // survive the loss of the first Hello.
                if self.connected {
                    out.push(self.hello());
                }
            }
            Input::Entries { chat_id, entries } => {
                self.on_entries(now, &chat_id, entries, &mut out);
            }
            Input::Applied { chat_id, seq } => self.on_applied(now, &chat_id, seq, &mut out),
            Input::Tick => self.on_tick(now, &mut out),
        }
        out
    }

    fn hello(&self) -> Output {
        Output::Send(PeerMessage::Hello {
            cursors: self.cursors(),
        })
    }

    fn reset_connection(&mut self) {
        for state in self.chats.values_mut() {
            state.reset_connection();
        }
        self.timers.clear();
    }

    fn on_entries(
        &mut self,
        now: Millis,
        chat_id: &str,
        entries: Vec<LogEntry>,
        out: &mut Vec<Output>,
    ) {
        let state = self.chats.entry(chat_id.to_string()).or_default();
        let mut entries = entries;
        // In seq order, a message's own contiguous run is applied however
        // long it is; only what lies beyond a hole counts against the buffer.
        entries.sort_by_key(|entry| entry.seq);
        let mut stale = false;
        let mut run = Vec::new();
        for entry in entries {
            if entry.chat_id != chat_id || entry.seq == 0 {
                continue;
            }
            state.expected = state.expected.max(entry.seq);
            if entry.seq <= state.applying {
                stale |= entry.seq <= state.durable;
            } else if entry.seq == state.applying + 1 {
                state.applying = entry.seq;
                run.push(entry);
                while let Some(next) = state.buffer.remove(&(state.applying + 1)) {
                    state.applying = next.seq;
                    run.push(next);
                }
            } else if entry.seq - state.applying > self.config.max_buffered_per_chat {
                state.dropped_far = true;
            } else {
                state.buffer.entry(entry.seq).or_insert(entry);
            }
        }
        if !run.is_empty() {
            out.push(Output::Apply {
                chat_id: chat_id.to_string(),
                entries: run,
            });
        }

        if self.connected {
            if stale {
                state.ack_forced = true;
                state.ack_at.get_or_insert(now + self.config.ack_delay);
            }
            if !state.buffer.is_empty() || state.dropped_far {
                state
                    .resend_at
                    .get_or_insert(now + self.config.resend_after);
            } else {
                state.resend_at = None;
            }
        }
        self.touch(chat_id);
    }

    fn on_applied(&mut self, now: Millis, chat_id: &str, seq: u64, out: &mut Vec<Output>) {
        let Some(state) = self.chats.get_mut(chat_id) else {
            return;
        };
        // Never claim more than was handed out for writing.
        let seq = seq.min(state.applying);
        if seq <= state.durable {
            return;
        }
        state.durable = seq;
        if !self.connected {
            return;
        }
        if state.durable - state.acked >= self.config.ack_every {
            out.push(ack(chat_id, state));
        } else {
            state.ack_at.get_or_insert(now + self.config.ack_delay);
        }
        self.touch(chat_id);
    }

    fn on_tick(&mut self, now: Millis, out: &mut Vec<Output>) {
        for chat in self.timers.due(now) {
            let Some(state) = self.chats.get_mut(&chat) else {
                continue;
            };
            if state.ack_at.is_some_and(|at| at <= now) {
                if state.durable > state.acked || state.ack_forced {
                    out.push(ack(&chat, state));
                } else {
                    state.ack_at = None;
                }
            }
            if state.resend_at.is_some_and(|at| at <= now) {
                if !state.buffer.is_empty() || state.dropped_far {
                    out.push(Output::Send(PeerMessage::Resend {
                        chat_id: chat.clone(),
                        after_seq: state.applying,
                    }));
                }
                state.dropped_far = false;
                // Ask again later only while the hole is still visible.
                state.resend_at =
                    (!state.buffer.is_empty()).then(|| now + self.config.resend_after);
            }
            self.touch(&chat);
        }
    }

    /// Keeps `timers` in step with `chat_id`'s next timer.
    fn touch(&mut self, chat_id: &str) {
        let next = self.chats.get(chat_id).and_then(ChatReplica::next_timer);
        self.timers.set(chat_id, next);
    }
}

/// The ack of everything durable, clearing the pending-ack state.
fn ack(chat_id: &str, state: &mut ChatReplica) -> Output {
    state.acked = state.durable;
    state.ack_at = None;
    state.ack_forced = false;
    Output::Send(PeerMessage::Ack {
        chat_id: chat_id.to_string(),
        seq: state.durable,
    })
}

#[cfg(test)]
mod tests;
