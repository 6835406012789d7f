//! The mesh part of a node's configuration: the topology, this region's
//! QUIC address, where to dial each peer, and where the mesh's shared
//! secrets (dev certificates, token key) live.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use placement::topology::{RegionSpec, Topology};
use sync::transport::PeerSpec;

use super::{ConfigError, invalid};

/// A node's place in a mesh.
#[derive(Debug, Clone)]
pub struct MeshConfig {
    /// Every region and the settings they share.
    pub topology: Arc<Topology>,
    /// This region's QUIC address.
    pub quic: SocketAddr,
    /// The other regions and where to dial them.
    pub peers: Vec<PeerSpec>,
    /// Mesh CA, region certificates and the token key (created in dev mode).
    pub certs_dir: PathBuf,
    /// Peers whose clocks run further ahead are refused.
    pub max_clock_offset: Duration,
}

impl MeshConfig {
    /// Builds the mesh configuration of region `spec`; `peer_addrs`
    /// overrides where to dial peers (`name=addr,…`).
    pub fn new(
        topology: Arc<Topology>,
        spec: &RegionSpec,
        peer_addrs: Option<&str>,
        data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let overrides = parse_peer_addrs(peer_addrs.unwrap_or(""))?;
        for name in overrides.iter().map(|(n, _)| n) {
            if topology.region(name).is_none() {
                return Err(invalid(
                    "peer_addrs",
                    format!("{name:?} is not a region of the topology"),
                ));
            }
        }
        let peers = topology
            .peers_of(&spec.name)
            .map(|peer| PeerSpec {
                region: peer.name.clone(),
                quic_addr: overrides
                    .iter()
                    .find(|(n, _)| *n == peer.name)
                    .map_or(peer.quic, |(_, a)| *a),
            })
            .collect();
        let certs_dir = match &topology.settings.certs_dir {
            Some(dir) => dir.clone(),
            None => data_dir
                .parent()
                .map_or_else(|| PathBuf::from("certs"), |p| p.join("certs")),
        };
        Ok(Self {
            max_clock_offset: topology.settings.max_clock_offset(),
            quic: spec.quic,
            peers,
            certs_dir,
            topology,
        })
    }
}

/// `us-east=127.0.0.1:19082,ap-south=127.0.0.1:19083`.
fn parse_peer_addrs(text: &str) -> Result<Vec<(String, SocketAddr)>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, addr) = part
                .split_once('=')
                .ok_or_else(|| invalid("peer_addrs", format!("{part:?} is not name=addr")))?;
            let addr = addr
                .parse()
                .map_err(|e| invalid("peer_addrs", format!("{addr:?}: {e}")))?;
            Ok((name.to_owned(), addr))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_addresses_parse() {
        let parsed = parse_peer_addrs("us-east=127.0.0.1:1, ap-south=127.0.0.1:2").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].0, "ap-south");
        assert!(parse_peer_addrs("us-east").is_err());
        assert!(parse_peer_addrs("").unwrap().is_empty());
    }
}
