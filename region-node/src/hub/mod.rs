//! The hub: every WebSocket connection of this node, by user, and the
//! fan-out of frames to them.
//!
//! Each connection has a bounded outbound queue (its [`Mailbox`]). Fan-out
//! never waits: a frame that does not fit closes that connection ("slow
//! consumer"), and the
//! device catches up with `sync` after reconnecting, so one slow reader
//! never slows anyone else. Frames are encoded once and shared as `Bytes`.
//!
//! - [`presence`]: online/offline with a grace period, and subscriptions.

pub mod presence;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::link::Link;

/// Something to write to one connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A `message` frame; the session keeps per-chat order with `seq`.
    Message(Arc<Delivery>),
    /// Any other encoded frame.
    Frame(Arc<Bytes>),
}

/// A committed message on its way to every member's connections: built
/// once and shared, so a queue slot is one pointer (every connection
/// allocates its queue's first block of slots, idle or not).
#[derive(Debug)]
pub struct Delivery {
    /// The chat.
    pub chat_id: Arc<str>,
    /// The message's position.
    pub seq: u64,
    /// The encoded frame.
    pub frame: Bytes,
}

impl Outbound {
    /// A `message` frame of `chat_id` at `seq`.
    pub fn message(chat_id: &str, seq: u64, frame: Bytes) -> Self {
        Self::Message(Arc::new(Delivery {
            chat_id: chat_id.into(),
            seq,
            frame,
        }))
    }

    /// Any other frame.
    pub fn frame(frame: Bytes) -> Self {
        Self::Frame(Arc::new(frame))
    }
}

/// Why the hub closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    /// Its outbound queue overflowed.
    SlowConsumer,
    /// Its device was revoked or logged out.
    Revoked,
}

/// Closes one connection, saying why.
#[derive(Clone)]
pub struct KillSwitch {
    kill: CancellationToken,
    reason: Arc<std::sync::Mutex<Option<KillReason>>>,
}

impl KillSwitch {
    fn new() -> Self {
        Self {
            kill: CancellationToken::new(),
            reason: Arc::default(),
        }
    }

    /// Closes the connection for `reason` (the first reason given wins).
    pub fn trip(&self, reason: KillReason) {
        {
            let mut slot = self.reason.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(reason);
        }
        self.kill.cancel();
    }

    /// Resolves once the connection is told to close.
    pub async fn tripped(&self) {
        self.kill.cancelled().await;
    }

    /// Whether the connection was told to close.
    pub fn is_tripped(&self) -> bool {
        self.kill.is_cancelled()
    }

    /// Why it was told to close.
    pub fn reason(&self) -> Option<KillReason> {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where frames for one connection go: its queue, and its kill switch,
/// tripped when the queue is full. Nothing is ever dropped silently: a
/// frame either is queued or its connection closes as a slow consumer.
#[derive(Clone)]
pub struct Mailbox {
    tx: mpsc::Sender<Outbound>,
    switch: KillSwitch,
}

impl Mailbox {
    /// Queues `out`, or closes the connection as a slow consumer.
    pub fn offer(&self, out: Outbound) {
        match self.tx.try_send(out) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.switch.is_tripped() {
                    tracing::info!("outbound queue full; closing slow consumer");
                }
                self.switch.trip(KillReason::SlowConsumer);
            }
        }
    }
}

struct Connection {
    conn_id: u64,
    device_id: String,
    mailbox: Mailbox,
}

/// A registered connection's end of the hub.
pub struct Registration {
    /// Unique id of the connection on this node.
    pub conn_id: u64,
    /// Frames to write.
    pub rx: mpsc::Receiver<Outbound>,
    /// The sending end of the same queue (for presence subscriptions).
    pub mailbox: Mailbox,
    /// Cancelled when the hub wants the connection closed.
    pub kill: CancellationToken,
}

impl Registration {
    /// Why the connection was told to close.
    pub fn kill_reason(&self) -> Option<KillReason> {
        self.mailbox.switch.reason()
    }

    /// The connection's kill switch.
    pub fn switch(&self) -> KillSwitch {
        self.mailbox.switch.clone()
    }
}

/// The node's connections; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    users: Arc<RwLock<HashMap<String, Vec<Connection>>>>,
    next_id: Arc<AtomicU64>,
    queue: usize,
    /// Presence of users connected here.
    pub presence: presence::Presence,
}

impl Hub {
    /// A hub whose connections queue up to `queue` frames each.
    /// Presence tells the other regions of `link`'s mesh, if any.
    pub fn new(queue: usize, grace: Duration, db: store::Database, link: Option<Link>) -> Self {
        Self {
            users: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            queue,
            presence: presence::Presence::new(grace, db, link),
        }
    }

    /// Adds a connection of `user`'s `device`.
    pub fn register(&self, user: &str, device: &str) -> Registration {
        let conn_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.queue);
        let switch = KillSwitch::new();
        let mailbox = Mailbox { tx, switch };
        let first = {
            let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
            let conns = users.entry(user.to_owned()).or_default();
            conns.push(Connection {
                conn_id,
                device_id: device.to_owned(),
                mailbox: mailbox.clone(),
            });
            conns.len() == 1
        };
        if first {
            self.presence.connected(user);
        }
        Registration {
            conn_id,
            rx,
            kill: mailbox.switch.kill.clone(),
            mailbox,
        }
    }

    /// Open connections of `user`'s `device` on this node.
    pub fn device_connections(&self, user: &str, device: &str) -> usize {
        let map = self.users.read().unwrap_or_else(|e| e.into_inner());
        map.get(user)
            .into_iter()
            .flatten()
            .filter(|c| c.device_id == device)
            .count()
    }

    /// Removes a connection.
    pub fn unregister(&self, user: &str, conn_id: u64) {
        let last = {
            let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
            let Some(conns) = users.get_mut(user) else {
                return;
            };
            conns.retain(|c| c.conn_id != conn_id);
            let empty = conns.is_empty();
            if empty {
                users.remove(user);
            }
            empty
        };
        self.presence.unsubscribe_all(conn_id);
        if last {
            self.presence.disconnected(user);
        }
    }

    /// Queues `out` for every connection of each of `users`, except the
    /// connection `except`.
    pub fn send_to<'a>(
        &self,
        users: impl IntoIterator<Item = &'a str>,
        out: &Outbound,
        except: Option<u64>,
    ) {
        let map = self.users.read().unwrap_or_else(|e| e.into_inner());
        for user in users {
            for conn in map.get(user).into_iter().flatten() {
                if Some(conn.conn_id) != except {
                    conn.mailbox.offer(out.clone());
                }
            }
        }
    }

    /// Closes every connection of one device (it was revoked).
    pub fn kill_device(&self, user: &str, device: &str) {
        let map = self.users.read().unwrap_or_else(|e| e.into_inner());
        for conn in map.get(user).into_iter().flatten() {
            if conn.device_id == device {
                conn.mailbox.switch.trip(KillReason::Revoked);
            }
        }
    }

    /// Closes every connection of a user (their account was deleted).
    pub fn kill_user(&self, user: &str) {
        let map = self.users.read().unwrap_or_else(|e| e.into_inner());
        for conn in map.get(user).into_iter().flatten() {
            conn.mailbox.switch.trip(KillReason::Revoked);
        }
    }

    /// Number of open connections on this node.
    pub fn connections(&self) -> usize {
        let map = self.users.read().unwrap_or_else(|e| e.into_inner());
        map.values().map(Vec::len).sum()
    }

    /// Whether `user` has a connection here.
    pub fn is_connected(&self, user: &str) -> bool {
        let map = self.users.read().unwrap_or_else(|e| e.into_inner());
        map.contains_key(user)
    }
}
