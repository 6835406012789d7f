//! This region's link to the other regions of its mesh: the QUIC
//! transport, typed requests to a peer region, broadcasts of mergeable
//! deltas, and the handle through which the rest of the node hands work to
//! the replication driver (`replica`), which owns the other end.
//!
//! Every region ships the logs it is home of (each chat's log, and its own
//! account log) to every peer, and keeps a replica of each peer's logs; a
//! send to a chat homed elsewhere is forwarded to its home through an
//! outbox that survives partitions and restarts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::Hlc;
use protocol::peer::{ForwardOutcome, ForwardSend, LogEntry, MeshDelta, PeerReply, PeerRequest};
use sync::transport::{
    Channel, Transport, TransportConfig, TransportError, TransportEvent, dev_identity,
};
use tokio::sync::{mpsc, oneshot};

use crate::config::MeshConfig;
use crate::hlc::HlcClock;

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

/// Why a request to a peer region got no answer it could use.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// The region could not be reached in time.
    #[error("region {region} is unreachable: {reason}")]
    Unreachable {
        /// The region asked.
        region: String,
        /// What the transport said.
        reason: String,
    },
    /// The region answered with something other than a reply.
    #[error("region {region} answered garbage: {reason}")]
    Garbled {
        /// The region asked.
        region: String,
        /// What failed to decode.
        reason: String,
    },
}

/// Work handed to the driver by the rest of the node.
pub enum Command {
    /// A log this region homes has grown to `seq`; `entries` are the new
    /// entries when the committer has them in memory (the shippers read
    /// the store only for what they lack).
    Committed {
        log_id: String,
        seq: u64,
        entries: Vec<LogEntry>,
    },
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
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    region: String,
    config: MeshConfig,
    transport: Transport,
    commands: mpsc::UnboundedSender<Command>,
    clock: Arc<HlcClock>,
}

/// The driver's end: transport events and the node's commands.
pub struct LinkRunner {
    /// Events of the transport.
    pub events: mpsc::Receiver<TransportEvent>,
    /// Work from the rest of the node.
    pub commands: mpsc::UnboundedReceiver<Command>,
}

impl Link {
    /// Starts the QUIC transport of `region` (dev certificates are created
    /// in the configured directory on first use).
    pub async fn start(
        region: &str,
        config: &MeshConfig,
        clock: Arc<HlcClock>,
    ) -> Result<(Self, LinkRunner), MeshError> {
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
            LinkRunner {
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
        self.committed_entries(log_id, seq, Vec::new());
    }

    /// Hands the shippers the entries just committed to log `log_id`,
    /// homed here, through `seq`.
    pub fn committed_entries(&self, log_id: &str, seq: u64, entries: Vec<LogEntry>) {
        let _ = self.inner.commands.send(Command::Committed {
            log_id: log_id.to_owned(),
            seq,
            entries,
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

    /// Asks `region` to carry out `request` and answers its reply (which
    /// may be [`PeerReply::Err`]); an error when it cannot be reached in
    /// `timeout`.
    pub async fn request(
        &self,
        region: &str,
        request: &PeerRequest,
        timeout: Duration,
    ) -> Result<PeerReply, LinkError> {
        let body = serde_json::to_vec(request).map_err(|e| LinkError::Garbled {
            region: region.to_owned(),
            reason: e.to_string(),
        })?;
        let answer = self
            .inner
            .transport
            .request(region, Bytes::from(body), timeout)
            .await
            .map_err(|e| LinkError::Unreachable {
                region: region.to_owned(),
                reason: e.to_string(),
            })?;
        serde_json::from_slice::<PeerReply>(&answer).map_err(|e| LinkError::Garbled {
            region: region.to_owned(),
            reason: e.to_string(),
        })
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
    pub fn broadcast_reliable(&self, delta: &MeshDelta) {
        self.broadcast(delta, |transport, peer, body| {
            transport.send(peer, Channel::Crdt, body)
        });
    }

    /// Sends `delta` to every connected peer as a datagram (may be lost).
    pub fn broadcast_datagram(&self, delta: &MeshDelta) {
        self.broadcast(delta, |transport, peer, body| {
            transport.datagram(peer, body)
        });
    }

    fn broadcast(
        &self,
        delta: &MeshDelta,
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

    /// Sends `delta` to one peer on the reliable CRDT stream.
    pub fn send_reliable(&self, peer: &str, delta: &MeshDelta) {
        match serde_json::to_vec(delta) {
            Ok(body) => {
                let _ = self
                    .inner
                    .transport
                    .send(peer, Channel::Crdt, Bytes::from(body));
            }
            Err(error) => tracing::error!(%error, "cannot encode a delta"),
        }
    }

    /// The transport, for the driver.
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The driver's command queue (its own workers report through it).
    pub fn commands(&self) -> &mpsc::UnboundedSender<Command> {
        &self.inner.commands
    }

    /// Closes every link.
    pub async fn shutdown(&self) {
        self.inner.transport.shutdown().await;
    }
}

/// 64-bit FNV-1a: a stable hash, the same in every build and region.
pub fn fnv1a(bytes: &[u8]) -> u64 {
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
