//! The QUIC shell between regions: it moves the replication layer's opaque
//! `Bytes` between regions and reports what happens on the links. It knows
//! nothing about what the bytes mean.
//!
//! Each region runs one quinn endpoint that is both server and client, with
//! mutual TLS against a mesh CA; a region's certificate names it as
//! `<region>.region.chatmesh`. For each region pair the lower name dials and
//! redials with backoff; after TLS each side sends a hello (region, HLC) that
//! the caller's [`Admission`] hook may refuse. Per link there are three
//! ordered channels ([`Channel`]), request/reply streams and datagrams.
//!
//! - [`certs`]: dev CA and region certificates, PEM loading.
//! - [`config`]: [`TransportConfig`] and [`PeerSpec`].
//! - [`events`]: [`TransportEvent`], [`Channel`], the caller's hooks.
//! - private: `tls` (quinn/rustls configs), `endpoint` (accept loop),
//!   `dialer` (reconnects), `handshake` (hello and admission), `link` (one
//!   admitted connection), `framing` (length-prefixed frames), `shared`
//!   (the peer table). Redials wait out `protocol::backoff`.
//!
//! ```no_run
//! # async fn demo(config: sync::transport::TransportConfig) -> Result<(), sync::transport::TransportError> {
//! use sync::transport::{AdmitAll, Channel, Transport, TransportEvent};
//! let clock = || protocol::Hlc::new(0, 0);
//! let (transport, mut events) = Transport::start(config, AdmitAll, clock).await?;
//! while let Some(event) = events.recv().await {
//!     if let TransportEvent::PeerUp { peer } = event {
//!         transport.send(&peer, Channel::Log, bytes::Bytes::from_static(b"hi"))?;
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod certs;
pub mod config;
pub mod events;

mod dialer;
mod endpoint;
mod error;
mod framing;
mod handshake;
mod link;
mod shared;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;
use tracing::{Instrument, info_span};

pub use certs::{RegionIdentity, dev_identity, load_identity, region_server_name};
pub use config::{PeerSpec, TransportConfig};
pub use error::{CertError, FrameError, TransportError};
pub use events::{Admission, AdmitAll, Channel, HlcSource, TransportEvent};
pub use tls::ALPN;

use link::RequestFailure;
use shared::{Shared, close};

/// A handle on a running transport; clones share it. When the last clone
/// is dropped the transport shuts down (as with [`Transport::shutdown`],
/// without waiting).
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    _stop_on_drop: Arc<DropGuard>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("region", &self.region())
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Binds the endpoint, starts accepting and dialing, and returns the
    /// handle with the event stream. Read the events: when the queue is full
    /// the links wait for the caller.
    pub async fn start(
        config: TransportConfig,
        admission: impl Admission,
        hlc: impl HlcSource,
    ) -> Result<(Self, mpsc::Receiver<TransportEvent>), TransportError> {
        config.validate()?;
        let endpoint = endpoint::bind(&config)?;
        let local_addr = endpoint
            .local_addr()
            .map_err(|source| TransportError::Bind {
                addr: config.bind,
                source,
            })?;
        let (events_tx, events) = mpsc::channel(config.event_queue);
        let shared = Arc::new(Shared::new(
            config,
            endpoint,
            Box::new(admission),
            Box::new(hlc),
            events_tx,
        ));
        let region = shared.region().to_string();
        let accept = endpoint::accept_loop(shared.clone());
        shared
            .tasks
            .spawn(accept.instrument(info_span!("transport", %region)));
        for spec in shared.config.dialed_peers() {
            let span = info_span!("peer", region = %spec.region);
            let dial = dialer::dial_loop(shared.clone(), spec.clone());
            shared.tasks.spawn(dial.instrument(span));
        }
        let guard = shared.cancel.clone().drop_guard();
        Ok((
            Self {
                shared,
                local_addr,
                _stop_on_drop: Arc::new(guard),
            },
            events,
        ))
    }

    /// This region's name.
    pub fn region(&self) -> &str {
        self.shared.region()
    }

    /// The UDP address the endpoint is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Queues `body` on `channel` to `peer`. Frames on one channel arrive in
    /// order while the connection lives; nothing is resent across
    /// connections. Never waits: a missing link or a full queue is an error.
    pub fn send(&self, peer: &str, channel: Channel, body: Bytes) -> Result<(), TransportError> {
        let max = self.shared.config.max_frame;
        if body.len() > max {
            return Err(TransportError::FrameTooLarge {
                len: body.len(),
                max,
            });
        }
        let not_connected = || TransportError::NotConnected {
            peer: peer.to_string(),
        };
        let queue = self
            .shared
            .peers()
            .get(peer)
            .map(|link| link.queues[channel.index()].clone())
            .ok_or_else(not_connected)?;
        queue.try_send(body).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TransportError::QueueFull {
                peer: peer.to_string(),
                channel,
            },
            mpsc::error::TrySendError::Closed(_) => not_connected(),
        })
    }

    /// Sends `body` to `peer` on a fresh stream and waits up to `timeout`
    /// for the answer the peer's caller gives to its
    /// [`TransportEvent::Request`].
    pub async fn request(
        &self,
        peer: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, TransportError> {
        let max = self.shared.config.max_frame;
        if body.len() > max {
            return Err(TransportError::FrameTooLarge {
                len: body.len(),
                max,
            });
        }
        let conn = self
            .shared
            .connection(peer)
            .ok_or_else(|| TransportError::NotConnected {
                peer: peer.to_string(),
            })?;
        let dropped = || TransportError::RequestDropped {
            peer: peer.to_string(),
        };
        match tokio::time::timeout(timeout, link::request(&conn, &body, max)).await {
            Err(_) => Err(TransportError::Timeout {
                peer: peer.to_string(),
            }),
            Ok(Ok(Some(answer))) => Ok(answer),
            Ok(Ok(None)) => Err(dropped()),
            Ok(Err(RequestFailure::Connection(e))) => Err(e.into()),
            Ok(Err(RequestFailure::Frame(e))) => match (conn.close_reason(), e) {
                (Some(closed), _) => Err(closed.into()),
                (None, FrameError::Io(_)) => Err(dropped()),
                (None, e) => Err(e.into()),
            },
        }
    }

    /// Sends an unreliable datagram (typing, presence); it may be lost,
    /// duplicated by the network or reordered.
    pub fn datagram(&self, peer: &str, body: Bytes) -> Result<(), TransportError> {
        let conn = self
            .shared
            .connection(peer)
            .ok_or_else(|| TransportError::NotConnected {
                peer: peer.to_string(),
            })?;
        Ok(conn.send_datagram(body)?)
    }

    /// Peers with an admitted link right now, sorted.
    pub fn connected_peers(&self) -> Vec<String> {
        let mut peers: Vec<String> = self.shared.peers().keys().cloned().collect();
        peers.sort();
        peers
    }

    /// The current round-trip estimate to `peer`, if connected.
    pub fn rtt(&self, peer: &str) -> Option<Duration> {
        self.shared.connection(peer).map(|c| c.rtt())
    }

    /// Closes every link with a shutdown code, stops dialing and accepting,
    /// and waits briefly for the tasks to end and the peers to hear the
    /// close. The UDP port is free once the last handle is dropped.
    pub async fn shutdown(&self) {
        self.shared.cancel.cancel();
        self.shared.close_all(close::SHUTDOWN, b"shutdown");
        self.shared.tasks.close();
        let grace = Duration::from_secs(2);
        let _ = tokio::time::timeout(grace, self.shared.tasks.wait()).await;
        let _ = tokio::time::timeout(grace, self.shared.endpoint.wait_idle()).await;
    }
}
