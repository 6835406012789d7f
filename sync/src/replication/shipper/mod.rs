//! The home side of log replication: one [`Shipper`] per peer region ships
//! the chats this region homes to that peer.
//!
//! The shipper cannot read the log: it asks the shell with
//! [`Output::ReadLog`] and is answered with [`Input::LogRead`]. It keeps, per
//! chat, three positions — `last` (committed here), `acked` (the peer holds
//! it durably) and `sent` (shipped on this connection) — and ships
//! `sent+1..` while `sent - acked` stays under the window. Anything can be
//! lost: unacked entries are shipped again when no ack arrives in time, when
//! the peer asks with `Resend`, and from the peer's cursors after every
//! reconnect. Shipping twice is harmless; the receiver drops what it holds.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use protocol::peer::{LogEntry, PeerMessage};

use super::time::Millis;
use super::timers::Timers;

/// Commit-time marks kept per chat for the lag metric; beyond this the
/// newest mark absorbs later commits, so memory stays bounded while a peer
/// is away and the reported age errs on the old side.
const MAX_COMMIT_MARKS: usize = 64;

/// Rough per-entry envelope size, on top of the body, when filling a message.
const ENTRY_OVERHEAD_BYTES: usize = 96;

/// Limits and timeouts of a [`Shipper`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipperConfig {
    /// Most entries of one chat shipped but not yet acked.
    pub window: u64,
    /// Most entries in one `Entries` message.
    pub max_entries_per_message: usize,
    /// Soft cap on the entry bodies in one `Entries` message, in bytes (a
    /// single larger entry still goes alone).
    pub max_bytes_per_message: usize,
    /// Ship again from the acked cursor when no ack advanced for this long;
    /// also how often the catalog is repeated until the peer's `Hello`
    /// arrives, and how long an unanswered `ReadLog` is waited for.
    pub retransmit_after: Duration,
    /// Wait before reading again after a read that returned nothing new.
    pub read_retry_after: Duration,
}

impl Default for ShipperConfig {
    fn default() -> Self {
        Self {
            window: 256,
            max_entries_per_message: 64,
            max_bytes_per_message: 256 * 1024,
            retransmit_after: Duration::from_secs(5),
            read_retry_after: Duration::from_millis(200),
        }
    }
}

/// What the shell feeds a [`Shipper`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A connection to the peer is up.
    PeerConnected,
    /// The connection is gone; whatever was in flight may be lost.
    PeerDisconnected,
    /// Entries of `chat_id` are committed here through `seq`. Feed it after
    /// each local commit, and once per homed chat at start-up.
    Committed {
        /// The chat.
        chat_id: String,
        /// Last committed `seq`.
        seq: u64,
    },
    /// The peer's `Hello`: what it holds durably per chat.
    Hello {
        /// Chat id → last durable `seq`; missing chats count as 0.
        cursors: BTreeMap<String, u64>,
    },
    /// The peer's cumulative `Ack`.
    Ack {
        /// The chat.
        chat_id: String,
        /// Last `seq` the peer holds durably.
        seq: u64,
    },
    /// The peer's `Resend`: it saw a gap after `after_seq`.
    Resend {
        /// The chat.
        chat_id: String,
        /// Last `seq` the peer holds or is applying without a gap.
        after_seq: u64,
    },
    /// The answer to [`Output::ReadLog`]: entries after `after_seq` in `seq`
    /// order, at most `limit` (fewer, or none, if the read failed).
    LogRead {
        /// The chat.
        chat_id: String,
        /// The entries read.
        entries: Vec<LogEntry>,
    },
    /// The time given by [`Shipper::poll_timeout`] has come.
    Tick,
}

/// What a [`Shipper`] asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this message to the peer.
    Send(PeerMessage),
    /// Read up to `limit` entries of `chat_id` after `after_seq` from the
    /// log and answer with [`Input::LogRead`] (every read must be answered,
    /// with an empty list if it failed).
    ReadLog {
        /// The chat.
        chat_id: String,
        /// Read entries with `seq > after_seq`.
        after_seq: u64,
        /// At most this many.
        limit: usize,
    },
}

/// How far a peer is behind, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lag {
    /// Entries committed here that the peer has not acked.
    pub events_behind: u64,
    /// How long the oldest of them has been waiting (approximate: measured
    /// from when the shipper learned of the commit).
    pub oldest_unacked_age: Option<Duration>,
}

/// Replication state of one chat towards the peer.
#[derive(Debug, Default)]
struct ChatShip {
    /// Last `seq` committed here.
    last: u64,
    /// Last `seq` the peer holds durably (moves back only on a new
    /// connection's `Hello`).
    acked: u64,
    /// Last `seq` shipped on this connection; `acked <= sent`.
    sent: u64,
    /// When the outstanding `ReadLog` was issued.
    reading: Option<Millis>,
    /// Do not read before this (the last read brought nothing new).
    read_retry_at: Option<Millis>,
    /// Ship again from `acked` at this time unless an ack advances first;
    /// set exactly while `sent > acked`.
    deadline: Option<Millis>,
    /// `(seq, when)`: entries through `seq` were committed by `when`.
    commits: VecDeque<(u64, Millis)>,
}

impl ChatShip {
    fn next_timer(&self, config: &ShipperConfig) -> Option<Millis> {
        let read_expiry = self.reading.map(|at| at + config.retransmit_after);
        [self.deadline, read_expiry, self.read_retry_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn note_commit(&mut self, seq: u64, now: Millis) {
        if seq <= self.last {
            return;
        }
        self.last = seq;
        if self.commits.len() >= MAX_COMMIT_MARKS {
            if let Some(newest) = self.commits.back_mut() {
                newest.0 = seq;
            }
        } else {
            self.commits.push_back((seq, now));
        }
    }

    fn set_acked(&mut self, seq: u64) {
        self.acked = seq;
        self.sent = self.sent.max(seq);
        while self.commits.front().is_some_and(|&(mark, _)| mark <= seq) {
            self.commits.pop_front();
        }
    }

    fn lag(&self, now: Millis) -> Lag {
        let events_behind = self.last.saturating_sub(self.acked);
        let oldest_unacked_age = if events_behind == 0 {
            None
        } else {
            self.commits
                .front()
                .map(|&(_, at)| now.saturating_since(at))
        };
        Lag {
            events_behind,
            oldest_unacked_age,
        }
    }
}

/// Ships the chats homed in this region to one peer region.
///
/// Drive it with [`Shipper::handle`] for every event and with
/// [`Input::Tick`] once [`Shipper::poll_timeout`] has passed; carry out the
/// returned outputs in order.
#[derive(Debug)]
pub struct Shipper {
    config: ShipperConfig,
    chats: BTreeMap<String, ChatShip>,
    connected: bool,
    /// The peer's `Hello` arrived on this connection, so `acked` is known.
    hello: bool,
    /// Repeat the catalog at this time unless the `Hello` arrives first.
    catalog_deadline: Option<Millis>,
    /// Each chat's next timer, in firing order, so ticks and
    /// `poll_timeout` look only at what is due.
    timers: Timers,
}

impl Shipper {
    /// A shipper with no chats, not connected.
    pub fn new(config: ShipperConfig) -> Self {
        Self {
            config,
            chats: BTreeMap::new(),
            connected: false,
            hello: false,
            catalog_deadline: None,
            timers: Timers::default(),
        }
    }

    /// Whether a connection to the peer is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::PeerConnected => self.on_connected(now, &mut out),
            Input::PeerDisconnected => self.on_disconnected(),
            Input::Committed { chat_id, seq } => {
                self.chats
                    .entry(chat_id.clone())
                    .or_default()
                    .note_commit(seq, now);
                self.pump(now, &chat_id, &mut out);
            }
            Input::Hello { cursors } => self.on_hello(now, cursors, &mut out),
            Input::Ack { chat_id, seq } => self.on_ack(now, &chat_id, seq, &mut out),
            Input::Resend { chat_id, after_seq } => {
                self.on_resend(now, &chat_id, after_seq, &mut out);
            }
            Input::LogRead { chat_id, entries } => {
                self.on_log_read(now, &chat_id, entries, &mut out);
            }
            Input::Tick => self.on_tick(now, &mut out),
        }
        out
    }

    /// When to feed the next [`Input::Tick`], if anything waits on time.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers
            .first()
            .into_iter()
            .chain(self.catalog_deadline)
            .min()
    }

    /// How far the peer is behind on one chat; `None` for unknown chats.
    pub fn chat_lag(&self, now: Millis, chat_id: &str) -> Option<Lag> {
        self.chats.get(chat_id).map(|state| state.lag(now))
    }

    /// How far the peer is behind over all chats: the entries it lacks and
    /// the age of the oldest of them.
    pub fn lag(&self, now: Millis) -> Lag {
        self.chats
            .values()
            .map(|state| state.lag(now))
            .fold(Lag::default(), |total, chat| Lag {
                events_behind: total.events_behind + chat.events_behind,
                oldest_unacked_age: total.oldest_unacked_age.max(chat.oldest_unacked_age),
            })
    }

    fn on_connected(&mut self, now: Millis, out: &mut Vec<Output>) {
        // A missed disconnect must not leave old in-flight state behind.
        self.on_disconnected();
        self.connected = true;
        out.push(Output::Send(self.catalog()));
        self.catalog_deadline = Some(now + self.config.retransmit_after);
    }

    fn on_disconnected(&mut self) {
        self.connected = false;
        self.hello = false;
        self.catalog_deadline = None;
        for state in self.chats.values_mut() {
            state.sent = state.acked;
            state.deadline = None;
            state.reading = None;
            state.read_retry_at = None;
        }
        self.timers.clear();
    }

    fn catalog(&self) -> PeerMessage {
        let chats = self
            .chats
            .iter()
            .filter(|(_, state)| state.last > 0)
            .map(|(chat, state)| (chat.clone(), state.last))
            .collect();
        PeerMessage::Catalog { chats }
    }

    fn on_hello(&mut self, now: Millis, cursors: BTreeMap<String, u64>, out: &mut Vec<Output>) {
        if !self.connected {
            return;
        }
        if self.hello {
            // A repeated Hello on the same connection (it answers every
            // catalog) only confirms what the peer holds.
            for (chat, seq) in cursors {
                self.on_ack(now, &chat, seq, out);
            }
            return;
        }
        self.hello = true;
        self.catalog_deadline = None;
        // The first Hello of a connection is the truth about the peer's
        // store, even below an earlier ack (a replica restored from backup).
        for chat in cursors.keys() {
            self.chats.entry(chat.clone()).or_default();
        }
        for (chat, state) in &mut self.chats {
            let cursor = cursors.get(chat).copied().unwrap_or(0);
            state.acked = 0;
            state.sent = 0;
            state.set_acked(cursor);
            state.deadline = None;
            if state.commits.is_empty() && state.last > state.acked {
                // The peer went back past the marks we kept; age from now.
                state.commits.push_back((state.last, now));
            }
        }
        let chats: Vec<String> = self.chats.keys().cloned().collect();
        for chat in chats {
            self.pump(now, &chat, out);
        }
    }

    fn on_ack(&mut self, now: Millis, chat_id: &str, seq: u64, out: &mut Vec<Output>) {
        let Some(state) = self.chats.get_mut(chat_id) else {
            return;
        };
        if seq <= state.acked {
            return;
        }
        state.last = state.last.max(seq);
        state.set_acked(seq);
        state.deadline = (state.sent > state.acked).then(|| now + self.config.retransmit_after);
        self.pump(now, chat_id, out);
    }

    fn on_resend(&mut self, now: Millis, chat_id: &str, after_seq: u64, out: &mut Vec<Output>) {
        if !self.connected || !self.hello {
            return;
        }
        let Some(state) = self.chats.get_mut(chat_id) else {
            return;
        };
        // Below `acked` the peer's claim is stale; above `sent` it still
        // holds entries from an earlier connection, so skip them.
        let from = after_seq.max(state.acked);
        state.sent = from.min(state.last.max(state.sent));
        state.deadline = (state.sent > state.acked).then(|| now + self.config.retransmit_after);
        state.read_retry_at = None;
        self.pump(now, chat_id, out);
    }

    fn on_log_read(
        &mut self,
        now: Millis,
        chat_id: &str,
        entries: Vec<LogEntry>,
        out: &mut Vec<Output>,
    ) {
        let Some(state) = self.chats.get_mut(chat_id) else {
            return;
        };
        state.reading = None;
        if !self.connected || !self.hello {
            self.touch(chat_id);
            return;
        }
        // Keep only the run that continues what was shipped: the answer may
        // belong to a read issued before a rewind or an ack.
        let limit = state.acked.saturating_add(self.config.window);
        let mut run = Vec::new();
        let mut next = state.sent + 1;
        for entry in entries {
            if entry.chat_id != chat_id || entry.seq < next {
                continue;
            }
            if entry.seq != next || next > limit {
                break;
            }
            run.push(entry);
            next += 1;
        }
        let Some(last) = run.last().map(|entry| entry.seq) else {
            if state.sent < state.last.min(limit) {
                state.read_retry_at = Some(now + self.config.read_retry_after);
            }
            self.touch(chat_id);
            return;
        };
        state.last = state.last.max(last);
        if state.deadline.is_none() {
            state.deadline = Some(now + self.config.retransmit_after);
        }
        state.sent = last;
        self.send_entries(chat_id, run, out);
        self.pump(now, chat_id, out);
    }

    fn send_entries(&self, chat_id: &str, run: Vec<LogEntry>, out: &mut Vec<Output>) {
        let mut batch: Vec<LogEntry> = Vec::new();
        let mut bytes = 0;
        for entry in run {
            let size = entry.body.approx_size() + ENTRY_OVERHEAD_BYTES;
            let full = batch.len() >= self.config.max_entries_per_message
                || (!batch.is_empty() && bytes + size > self.config.max_bytes_per_message);
            if full {
                out.push(Output::Send(PeerMessage::Entries {
                    chat_id: chat_id.to_string(),
                    entries: std::mem::take(&mut batch),
                }));
                bytes = 0;
            }
            bytes += size;
            batch.push(entry);
        }
        if !batch.is_empty() {
            out.push(Output::Send(PeerMessage::Entries {
                chat_id: chat_id.to_string(),
                entries: batch,
            }));
        }
    }

    fn on_tick(&mut self, now: Millis, out: &mut Vec<Output>) {
        if self.catalog_deadline.is_some_and(|at| at <= now) {
            out.push(Output::Send(self.catalog()));
            self.catalog_deadline = Some(now + self.config.retransmit_after);
        }
        for chat in self.timers.due(now) {
            let Some(state) = self.chats.get_mut(&chat) else {
                continue;
            };
            if state
                .reading
                .is_some_and(|at| at + self.config.retransmit_after <= now)
            {
                state.reading = None;
            }
            if state.read_retry_at.is_some_and(|at| at <= now) {
                state.read_retry_at = None;
            }
            if state.deadline.is_some_and(|at| at <= now) {
                // No ack moved in time: assume everything unacked was lost.
                state.deadline = None;
                state.sent = state.acked;
                state.reading = None;
                state.read_retry_at = None;
            }
            self.pump(now, &chat, out);
        }
    }

    /// Issues the next read for `chat_id` if the window and state allow.
    fn pump(&mut self, now: Millis, chat_id: &str, out: &mut Vec<Output>) {
        let window = self.config.window;
        let shipping = self.connected && self.hello;
        if let Some(state) = self.chats.get_mut(chat_id).filter(|_| shipping) {
            let ceiling = state.last.min(state.acked.saturating_add(window));
            let idle = state.reading.is_none() && state.read_retry_at.is_none();
            if idle && state.sent < ceiling {
                let limit = usize::try_from(ceiling - state.sent).unwrap_or(usize::MAX);
                out.push(Output::ReadLog {
                    chat_id: chat_id.to_string(),
                    after_seq: state.sent,
                    limit,
                });
                state.reading = Some(now);
            }
        }
        self.touch(chat_id);
    }

    /// Keeps `timers` in step with `chat_id`'s next timer.
    fn touch(&mut self, chat_id: &str) {
        let next = self
            .chats
            .get(chat_id)
            .and_then(|state| state.next_timer(&self.config));
        self.timers.set(chat_id, next);
    }
}

#[cfg(test)]
mod tests;
