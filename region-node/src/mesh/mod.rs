//! This region in a mesh of regions: the QUIC transport to every peer,
//! the replication state machines of `sync` driven over it, requests to
//! peer regions, and the region's clock checked against its peers'.
//!
//! Every region ships the logs it is home of (each chat's log, and its own
//! account log) to every peer, and keeps a replica of each peer's logs; a
//! send to a chat homed elsewhere is forwarded to its home through an
//! outbox that survives partitions and restarts.
//!
//! - [`config`]: the mesh part of the configuration.
//! - [`driver`]: the task that feeds the machines and carries out their outputs.
//! - `deltas`: receipts and typing exchanged as CRDT deltas.
//! - [`logs`]: reading, listing and applying replicated logs in the store.
//! - [`outbox`]: forwarded sends held durably while their home is unreachable.
//! - [`peer`]: requests between regions.
//! - [`requests`]: answering a peer's requests.

pub mod config;
mod deltas;
mod driver;
pub mod logs;
pub mod outbox;
pub mod peer;
mod requests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::Hlc;
use protocol::peer::{ForwardOutcome, ForwardSend};
use sync::transport::{
    Channel, Transport, TransportConfig, TransportError, TransportEvent, dev_identity,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::hlc::HlcClock;
use crate::state::AppState;
pub use config::MeshConfig;
pub use peer::{PeerReply, PeerRequest};
use protocol::ErrorCode;

/// What can stop the mesh from starting.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// The region's certificate could not be created or loaded.
    #[error("region certificate: {0}")]
    Identity(#[source] TransportError),
    /// The QUIC endpoint could not start.
    #[error("QUIC transport: {0}")]
    Transport(#[source] TransportError),
}

/// Work handed to the driver by the rest of the node.
pub(crate) enum Command {
    /// A log this region homes has grown to `seq`.
    Committed { log_id: String, seq: u64 },
    /// Forward a send to its chat's home; answer on `done`.
    Submit {
        home: String,
        item: ForwardSend,
        done: oneshot::Sender<ForwardOutcome>,
    },
    /// A read the shipper of `peer` asked for.
    LogRead {
        peer: String,
        log_id: String,
        entries: Vec<protocol::peer::LogEntry>,
    },
    /// Entries of `peer`'s log are durable here up to `seq`.
    Applied {
        peer: String,
        log_id: String,
        seq: u64,
    },
    /// Applying `peer`'s entries failed; start again from the store.
    ApplyFailed { peer: String },
    /// The replica cursors of `peer`'s logs, read back from the store.
    Reload {
        peer: String,
        cursors: std::collections::BTreeMap<String, u64>,
    },
}

/// A handle on this region's place in the mesh; cheap to clone.
#[derive(Clone)]
pub struct Mesh {
    inner: Arc<Inner>,
}

struct Inner {
    region: String,
    config: MeshConfig,
    transport: Transport,
    commands: mpsc::UnboundedSender<Command>,
    clock: Arc<HlcClock>,
}

/// The part that runs once the node's state exists.
pub struct MeshRunner {
    events: mpsc::Receiver<TransportEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
}

impl Mesh {
    /// Starts the QUIC transport of `region` (dev certificates are created
    /// in the configured directory on first use).
    pub async fn start(
        region: &str,
        config: &MeshConfig,
        clock: Arc<HlcClock>,
    ) -> Result<(Self, MeshRunner), MeshError> {
        let identity = dev_identity(&config.certs_dir, region)
            .map_err(|e| MeshError::Identity(TransportError::Cert(e)))?;
        let transport_config = TransportConfig::new(identity, config.quic, config.peers.clone());
        let admit_clock = clock.clone();
        let admission = move |peer: &str, peer_hlc: Hlc| admit_clock.admit(peer, peer_hlc);
        let hlc_clock = clock.clone();
        let (transport, events) =
            Transport::start(transport_config, admission, move || hlc_clock.now())
                .await
                .map_err(MeshError::Transport)?;
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let mesh = Self {
            inner: Arc::new(Inner {
                region: region.to_owned(),
                config: config.clone(),
                transport,
                commands: commands_tx,
                clock,
            }),
        };
        Ok((
            mesh,
            MeshRunner {
                events,
                commands: commands_rx,
            },
        ))
    }

    /// This region's name.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The mesh configuration.
    pub fn config(&self) -> &MeshConfig {
        &self.inner.config
    }

    /// Whether the link to `peer` is up.
    pub fn is_connected(&self, peer: &str) -> bool {
        self.inner
            .transport
            .connected_peers()
            .iter()
            .any(|p| p == peer)
    }

    /// Tells the shippers that log `log_id`, homed here, has grown to `seq`.
    pub fn committed(&self, log_id: &str, seq: u64) {
        let _ = self.inner.commands.send(Command::Committed {
            log_id: log_id.to_owned(),
            seq,
        });
    }

    /// The region that owns `key` (a username, a pair of users): the same
    /// answer in every region of the topology.
    pub fn owner_of(&self, key: &str) -> &str {
        let names = self.inner.config.topology.names();
        let mut sorted: Vec<&str> = names.into_iter().collect();
        sorted.sort_unstable();
        let index = fnv1a(key.as_bytes()) % sorted.len().max(1) as u64;
        let name = sorted.get(index as usize).copied().unwrap_or_default();
        self.inner
            .config
            .topology
            .region(name)
            .map_or(self.region(), |r| r.name.as_str())
    }

    /// Asks `region` to carry out `request`; `home_unreachable` when it
    /// cannot be reached in `timeout`.
    pub async fn request(
        &self,
        region: &str,
        request: &PeerRequest,
        timeout: Duration,
    ) -> Result<serde_json::Value, ApiError> {
        let body = serde_json::to_vec(request).map_err(|e| ApiError::internal(&e))?;
        let answer = self
            .inner
            .transport
            .request(region, Bytes::from(body), timeout)
            .await
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::HomeUnreachable,
                    format!("region {region} is unreachable: {e}"),
                )
            })?;
        match serde_json::from_slice::<PeerReply>(&answer) {
            Ok(PeerReply::Ok { value }) => Ok(value),
            Ok(PeerReply::Err { code, message }) => Err(ApiError::new(code, message)),
            Err(e) => Err(ApiError::internal(&e)),
        }
    }

    /// Forwards a send to its chat's home through the outbox; the receiver
    /// answers once the home has sequenced or refused it.
    pub(crate) fn submit(
        &self,
        home: &str,
        item: ForwardSend,
    ) -> oneshot::Receiver<ForwardOutcome> {
        let (done, answer) = oneshot::channel();
        let _ = self.inner.commands.send(Command::Submit {
            home: home.to_owned(),
            item,
            done,
        });
        answer
    }

    /// Sends `delta` to every connected peer on the reliable CRDT stream.
    pub fn broadcast_reliable(&self, delta: &peer::MeshDelta) {
        self.broadcast(delta, |transport, peer, body| {
            transport.send(peer, Channel::Crdt, body)
        });
    }

    /// Sends `delta` to every connected peer as a datagram (may be lost).
    pub fn broadcast_datagram(&self, delta: &peer::MeshDelta) {
        self.broadcast(delta, |transport, peer, body| {
            transport.datagram(peer, body)
        });
    }

    fn broadcast(
        &self,
        delta: &peer::MeshDelta,
        send: impl Fn(&Transport, &str, Bytes) -> Result<(), TransportError>,
    ) {
        let body = match serde_json::to_vec(delta) {
            Ok(body) => Bytes::from(body),
            Err(error) => {
                tracing::error!(%error, "cannot encode a delta");
                return;
            }
        };
        for peer in self.inner.transport.connected_peers() {
            if let Err(error) = send(&self.inner.transport, &peer, body.clone()) {
                tracing::debug!(%peer, %error, "delta not sent");
            }
        }
    }

    /// The region's clock.
    pub fn clock(&self) -> &Arc<HlcClock> {
        &self.inner.clock
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub(crate) fn commands(&self) -> &mpsc::UnboundedSender<Command> {
        &self.inner.commands
    }

    /// Closes every link.
    pub async fn shutdown(&self) {
        self.inner.transport.shutdown().await;
    }
}

impl MeshRunner {
    /// Drives replication and forwarding until `shutdown`.
    pub async fn run(self, state: AppState, mesh: Mesh, shutdown: CancellationToken) {
        driver::Driver::new(state, mesh).run(self, shutdown).await;
    }
}

/// 64-bit FNV-1a: a stable hash, the same in every build and region.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
