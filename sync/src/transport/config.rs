//! The transport's settings: who this region is, where it listens, which
//! peers it knows, and the timing and size limits of the links.

use std::net::SocketAddr;
use std::time::Duration;

use super::certs::{RegionIdentity, region_server_name};
use super::error::TransportError;

/// A peer region and the UDP address to dial it at (which may be a link
/// proxy in front of it rather than the peer itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// The peer's region name; its certificate must carry this name.
    pub region: String,
    /// Where its QUIC endpoint (or a proxy to it) listens.
    pub quic_addr: SocketAddr,
}

/// Everything [`super::Transport::start`] needs.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// This region's identity; its `region` is this transport's name.
    pub identity: RegionIdentity,
    /// The UDP address to bind (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Known peers. Only those sorting after this region are dialed; the
    /// others dial us.
    pub peers: Vec<PeerSpec>,
    /// How often an idle connection sends a keep-alive.
    pub keep_alive: Duration,
    /// How long without any packet before a connection counts as dead.
    pub idle_timeout: Duration,
    /// Limit for TLS plus the hello exchange.
    pub handshake_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Frames queued per peer and channel before `send` says `QueueFull`.
    pub send_queue: usize,
    /// Largest frame accepted or sent.
    pub max_frame: usize,
    /// Events buffered before the transport waits for the caller.
    pub event_queue: usize,
}

/// Default frame limit: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

impl TransportConfig {
    /// A configuration with production defaults: keep-alive 1 s, idle
    /// timeout 5 s, backoff 100 ms to 10 s, 1,024 queued frames per channel.
    pub fn new(identity: RegionIdentity, bind: SocketAddr, peers: Vec<PeerSpec>) -> Self {
        Self {
            identity,
            bind,
            peers,
            keep_alive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            send_queue: 1024,
            max_frame: DEFAULT_MAX_FRAME,
            event_queue: 4096,
        }
    }

    /// This region's name.
    pub fn region(&self) -> &str {
        &self.identity.region
    }

    /// Rejects settings that cannot work, once, before anything is bound.
    pub(crate) fn validate(&self) -> Result<(), TransportError> {
        let bad = |m: String| Err(TransportError::Config(m));
        region_server_name(self.region())?;
        for p in &self.peers {
            region_server_name(&p.region)?;
            if p.region == self.region() {
                return bad(format!("region {} lists itself as a peer", p.region));
            }
        }
        if self.keep_alive.is_zero() || self.keep_alive >= self.idle_timeout {
            return bad("keep_alive must be positive and shorter than idle_timeout".into());
        }
        if self.send_queue == 0 || self.event_queue == 0 {
            return bad("queues must hold at least one item".into());
        }
        if self.max_frame == 0 || u32::try_from(self.max_frame).is_err() {
            return bad("max_frame must be between 1 and u32::MAX".into());
        }
        if self.backoff_min.is_zero() || self.backoff_min > self.backoff_max {
            return bad("backoff_min must be positive and at most backoff_max".into());
        }
        Ok(())
    }

    /// Peers this region dials: those whose name sorts after its own.
    pub(crate) fn dialed_peers(&self) -> impl Iterator<Item = &PeerSpec> {
        self.peers
            .iter()
            .filter(move |p| p.region.as_str() > self.region())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::certs::dev_identity;

    fn config(region: &str, peers: &[&str]) -> TransportConfig {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = dev_identity(dir.path(), region).expect("identity");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let peers = peers
            .iter()
            .map(|r| PeerSpec {
                region: r.to_string(),
                quic_addr: addr,
            })
            .collect();
        TransportConfig::new(id, addr, peers)
    }

    #[test]
    fn the_lower_name_dials() {
        let c = config("b", &["a", "c", "d"]);
        let dialed: Vec<_> = c.dialed_peers().map(|p| p.region.as_str()).collect();
        assert_eq!(dialed, ["c", "d"]);
    }

    #[test]
    fn invalid_settings_are_refused() {
        assert!(config("b", &["a"]).validate().is_ok());
        assert!(config("b", &["b"]).validate().is_err());
        assert!(config("b", &["Bad Name"]).validate().is_err());
        let mut c = config("b", &[]);
        c.keep_alive = c.idle_timeout;
        assert!(c.validate().is_err());
        let mut c = config("b", &[]);
        c.send_queue = 0;
        assert!(c.validate().is_err());
        let mut c = config("b", &[]);
        c.backoff_min = c.backoff_max + Duration::from_secs(1);
        assert!(c.validate().is_err());
    }
}
