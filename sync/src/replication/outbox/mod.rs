//! Sends of this region's users to chats homed in one peer region: the
//! [`Outbox`] forwards each stored [`ForwardSend`] to the home until a
//! [`ForwardResult`] comes back, then reports it done.
//!
//! The home deduplicates on `(chat, sender, client_msg_id)`, so sending an
//! item again — after a timeout, on every reconnect, after a restart — can
//! never sequence it twice. Order within a chat is kept by sending only the
//! first `max_in_flight_per_chat` items of each chat's queue. With the
//! default of one, the home sees a chat's items in submission order however
//! the network loses or reorders them; a larger window keeps that order only
//! if the shell sends all messages of one connection on one ordered stream.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use protocol::peer::{ForwardOutcome, ForwardResult, ForwardSend, PeerMessage};

use super::time::Millis;
use super::timers::Timers;

/// Limits and timeouts of an [`Outbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Send an unanswered item again after this long.
    pub retransmit_after: Duration,
    /// Items of one chat sent and not yet answered.
    pub max_in_flight_per_chat: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            retransmit_after: Duration::from_secs(5),
            max_in_flight_per_chat: 1,
        }
    }
}

/// What the shell feeds an [`Outbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// An item the shell has stored durably. After a restart, submit every
    /// stored item again in the order they were first submitted.
    Submit(ForwardSend),
    /// A connection to the home peer is up.
    PeerConnected,
    /// The connection is gone.
    PeerDisconnected,
    /// The home's answer to a forwarded item.
    Received(ForwardResult),
    /// The time given by [`Outbox::poll_timeout`] has come.
    Tick,
}

/// What an [`Outbox`] asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this message to the home peer.
    Send(PeerMessage),
    /// The home answered `item`: delete its stored row and tell the sender
    /// (`sent` with the seq, or the rejection). The outbox has forgotten it.
    Done {
        /// The item, as submitted.
        item: ForwardSend,
        /// The home's answer.
        outcome: ForwardOutcome,
    },
}

/// One queued item.
#[derive(Debug)]
struct Pending {
    item: ForwardSend,
    /// When it was last sent on the current connection.
    sent_at: Option<Millis>,
}

/// Forwards this region's sends to chats homed at one peer region.
///
/// Drive it with [`Outbox::handle`] for every event and with
/// [`Input::Tick`] once [`Outbox::poll_timeout`] has passed; carry out the
/// returned outputs in order.
#[derive(Debug)]
pub struct Outbox {
    config: OutboxConfig,
    /// Per chat, items in submission order.
    queues: BTreeMap<String, VecDeque<Pending>>,
    /// Item id → chat, for answers.
    index: HashMap<String, String>,
    connected: bool,
    /// Each chat's retransmit time, in firing order.
    timers: Timers,
}

impl Outbox {
    /// An empty outbox, not connected.
    pub fn new(config: OutboxConfig) -> Self {
        Self {
            config,
            queues: BTreeMap::new(),
            index: HashMap::new(),
            connected: false,
            timers: Timers::default(),
        }
    }

    /// Items accepted but not yet answered by the home.
    pub fn pending(&self) -> usize {
        self.index.len()
    }

    /// Whether a connection to the home peer is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// When to feed the next [`Input::Tick`], if anything waits on time.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.first()
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Submit(item) => {
                if self.index.contains_key(&item.id) {
                    return out;
                }
                let chat = item.chat_id.clone();
                self.index.insert(item.id.clone(), chat.clone());
                self.queues
                    .entry(chat.clone())
                    .or_default()
                    .push_back(Pending {
                        item,
                        sent_at: None,
                    });
                self.pump(now, &chat, &mut out);
            }
            Input::PeerConnected => self.set_connected(now, true, &mut out),
            Input::PeerDisconnected => self.set_connected(now, false, &mut out),
            Input::Received(result) => self.on_result(now, result, &mut out),
            Input::Tick => self.on_tick(now, &mut out),
        }
        out
    }

    /// A connection change: nothing sent before it counts as sent any more.
    fn set_connected(&mut self, now: Millis, connected: bool, out: &mut Vec<Output>) {
        self.connected = connected;
        for pending in self.queues.values_mut().flatten() {
            pending.sent_at = None;
        }
        let chats: Vec<String> = self.queues.keys().cloned().collect();
        for chat in chats {
            self.pump(now, &chat, out);
        }
    }

    fn on_result(&mut self, now: Millis, result: ForwardResult, out: &mut Vec<Output>) {
        // Unknown ids are answers to resends of items already done.
        let Some(chat) = self.index.remove(&result.id) else {
            return;
        };
        if let Some(queue) = self.queues.get_mut(&chat) {
            let position = queue.iter().position(|p| p.item.id == result.id);
            if let Some(pending) = position.and_then(|position| queue.remove(position)) {
                out.push(Output::Done {
                    item: pending.item,
                    outcome: result.outcome,
                });
            }
            if queue.is_empty() {
                self.queues.remove(&chat);
            }
        }
        self.pump(now, &chat, out);
    }

    fn on_tick(&mut self, now: Millis, out: &mut Vec<Output>) {
        let window = self.window();
        for chat in self.timers.due(now) {
            if let Some(queue) = self.queues.get_mut(&chat) {
                // Send the whole window again, in order, so the home still
                // meets the chat's items in submission order.
                for pending in queue.iter_mut().take(window) {
                    pending.sent_at = None;
                }
                send_window(self.connected, window, now, queue, out);
            }
            self.touch(&chat);
        }
    }

    fn window(&self) -> usize {
        self.config.max_in_flight_per_chat.max(1)
    }

    fn pump(&mut self, now: Millis, chat: &str, out: &mut Vec<Output>) {
        let window = self.window();
        if let Some(queue) = self.queues.get_mut(chat) {
            send_window(self.connected, window, now, queue, out);
        }
        self.touch(chat);
    }

    /// Keeps `timers` in step with when `chat`'s oldest item in flight is
    /// due to be sent again.
    fn touch(&mut self, chat: &str) {
        let at = self.queues.get(chat).and_then(|queue| {
            queue
                .iter()
                .take(self.window())
                .filter_map(|pending| pending.sent_at)
                .min()
        });
        self.timers.set(
            chat,
            at.map(|sent_at| sent_at + self.config.retransmit_after),
        );
    }
}

/// Sends the unsent items among the first `window` of a chat's queue.
fn send_window(
    connected: bool,
    window: usize,
    now: Millis,
    queue: &mut VecDeque<Pending>,
    out: &mut Vec<Output>,
) {
    if !connected {
        return;
    }
    for pending in queue.iter_mut().take(window) {
        if pending.sent_at.is_none() {
            pending.sent_at = Some(now);
            out.push(Output::Send(PeerMessage::ForwardSend(pending.item.clone())));
        }
    }
}

#[cfg(test)]
mod tests;
