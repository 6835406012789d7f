//! The state every transport task shares: the endpoint, the table of live
//! peer links, the caller's hooks and the event queue.
//!
//! Changes to the peer table and the PeerUp/PeerDown events they cause
//! happen under one async lock, so the caller sees Up and Down strictly
//! alternating per peer even when a new connection replaces an old one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use quinn::{Connection, VarInt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::config::TransportConfig;
use super::events::{Admission, Channel, HlcSource, TransportEvent};
use super::link;

/// Application close codes on mesh connections.
pub(crate) mod close {
    use quinn::VarInt;
    /// The region is shutting down.
    pub const SHUTDOWN: VarInt = VarInt::from_u32(0);
    /// Admission or identity checks refused the peer; the reason says why.
    pub const REFUSED: VarInt = VarInt::from_u32(1);
    /// The peer broke the framing rules.
    pub const PROTOCOL: VarInt = VarInt::from_u32(2);
    /// A newer connection to the same peer took over.
    pub const REPLACED: VarInt = VarInt::from_u32(3);
}

/// One admitted connection and the queues feeding its channel streams.
pub(crate) struct PeerLink {
    pub id: u64,
    pub conn: Connection,
    pub queues: Vec<mpsc::Sender<Bytes>>,
}

pub(crate) struct Shared {
    pub config: TransportConfig,
    pub endpoint: quinn::Endpoint,
    pub admission: Box<dyn Admission>,
    pub hlc: Box<dyn HlcSource>,
    pub cancel: CancellationToken,
    pub tasks: TaskTracker,
    events: mpsc::Sender<TransportEvent>,
    peers: Mutex<HashMap<String, PeerLink>>,
    membership: tokio::sync::Mutex<()>,
    next_link: AtomicU64,
}

impl Shared {
    pub(crate) fn new(
        config: TransportConfig,
        endpoint: quinn::Endpoint,
        admission: Box<dyn Admission>,
        hlc: Box<dyn HlcSource>,
        events: mpsc::Sender<TransportEvent>,
    ) -> Self {
        Self {
            config,
            endpoint,
            admission,
            hlc,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            events,
            peers: Mutex::new(HashMap::new()),
            membership: tokio::sync::Mutex::new(()),
            next_link: AtomicU64::new(1),
        }
    }

    pub(crate) fn region(&self) -> &str {
        self.config.region()
    }

    /// The peer table; held only for map operations, never across an await.
    pub(crate) fn peers(&self) -> MutexGuard<'_, HashMap<String, PeerLink>> {
        // A panic while holding this lock leaves the map itself consistent.
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands an event to the caller, waiting if its queue is full (that is
    /// the backpressure), but never past shutdown.
    pub(crate) async fn emit(&self, event: TransportEvent) {
        tokio::select! {
            _ = self.cancel.cancelled() => {}
            _ = self.events.send(event) => {}
        }
    }

    /// Makes `conn` the link to `peer`, starting its channel writers, and
    /// announces it; an older link to the same peer is closed first.
    pub(crate) async fn register(self: &Arc<Self>, peer: &str, conn: &Connection) -> u64 {
        let _order = self.membership.lock().await;
        let id = self.next_link.fetch_add(1, Ordering::Relaxed);
        let mut queues = Vec::with_capacity(Channel::ALL.len());
        for channel in Channel::ALL {
            let (tx, rx) = mpsc::channel(self.config.send_queue);
            queues.push(tx);
            let writer = link::write_channel(self.clone(), conn.clone(), channel, rx);
            self.tasks.spawn(writer.in_current_span());
        }
        let old = self.peers().insert(
            peer.to_string(),
            PeerLink {
                id,
                conn: conn.clone(),
                queues,
            },
        );
        if let Some(old) = old {
            old.conn
                .close(close::REPLACED, b"replaced by a newer connection");
            self.emit(TransportEvent::PeerDown {
                peer: peer.to_string(),
                reason: "replaced by a newer connection".into(),
            })
            .await;
        }
        self.emit(TransportEvent::PeerUp {
            peer: peer.to_string(),
        })
        .await;
        id
    }

    /// Forgets link `id` of `peer` and announces it, unless a newer link
    /// already replaced it (then the caller has been told).
    pub(crate) async fn unregister(&self, peer: &str, id: u64, reason: String) {
        let _order = self.membership.lock().await;
        let removed = {
            let mut peers = self.peers();
            match peers.get(peer) {
                Some(link) if link.id == id => peers.remove(peer),
                _ => None,
            }
        };
        if removed.is_some() {
            self.emit(TransportEvent::PeerDown {
                peer: peer.to_string(),
                reason,
            })
            .await;
        }
    }

    /// The live connection to `peer`, if any.
    pub(crate) fn connection(&self, peer: &str) -> Option<Connection> {
        self.peers().get(peer).map(|l| l.conn.clone())
    }

    /// Closes every link and stops accepting.
    pub(crate) fn close_all(&self, code: VarInt, reason: &[u8]) {
        self.endpoint.close(code, reason);
        self.peers().clear();
    }
}
