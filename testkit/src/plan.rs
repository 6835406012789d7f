//! Which links a local mesh needs and how each region is told about them,
//! decided before anything starts so it can be tested without sockets.
//!
//! Every ordered pair of regions (dialer → peer) gets its own proxy. The
//! QUIC transport only dials peers whose name sorts after its own, so half
//! of them stay idle, but a proxy per ordered pair keeps the plan free of
//! that rule: if the transport's dial direction changes, the mesh still has
//! a faulty link for every dial.
//!
//! A region learns where to dial each peer from the environment variable
//! [`PEER_ADDRS_ENV`]: `us-east=127.0.0.1:40001,ap-south=127.0.0.1:40002`,
//! one `name=address` per peer, in topology order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use placement::topology::Topology;

use crate::rng::SplitMix64;

/// The variable that tells a region node where to dial each peer instead
/// of the peer's `quic` address from the topology.
pub const PEER_ADDRS_ENV: &str = "CHATMESH_PEER_ADDRS";

/// One direction of one inter-region link, before its proxy starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The region that dials.
    pub dialer: String,
    /// The region it dials.
    pub peer: String,
    /// Where the proxy forwards to: the peer's QUIC address.
    pub target: SocketAddr,
    /// Seed for this link's fault draws, so links do not lose the same packets.
    pub seed: u64,
}

/// One started link: `dialer` reaches `peer` by sending to `via`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The region that dials.
    pub dialer: String,
    /// The region it dials.
    pub peer: String,
    /// The proxy's listening address.
    pub via: SocketAddr,
}

/// Every ordered pair of distinct regions, dialers in topology order and
/// each dialer's peers in topology order too.
///
/// Each link's seed is the next draw of a generator seeded with `seed`, so
/// neighbouring links get unrelated streams and one run seed replays all.
pub fn links(topology: &Topology, seed: u64) -> Vec<Link> {
    let mut seeds = SplitMix64::new(seed);
    let mut links = Vec::new();
    for dialer in &topology.regions {
        for peer in topology.peers_of(&dialer.name) {
            links.push(Link {
                dialer: dialer.name.clone(),
                peer: peer.name.clone(),
                target: reachable(peer.quic),
                seed: seeds.next_u64(),
            });
        }
    }
    links
}

/// A region listening on the unspecified address (`0.0.0.0:9081`) is
/// reached on loopback; sending to 0.0.0.0 only works by accident.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// The loopback address of the same family, where a proxy for `target` listens.
pub fn proxy_listen_addr(target: SocketAddr) -> SocketAddr {
    if target.is_ipv4() {
        (Ipv4Addr::LOCALHOST, 0).into()
    } else {
        (Ipv6Addr::LOCALHOST, 0).into()
    }
}

/// The value of [`PEER_ADDRS_ENV`] for `dialer`: each of its routes as
/// `peer=address`, comma-separated, in the order given.
pub fn peer_addrs_env<'a>(dialer: &str, routes: impl IntoIterator<Item = &'a Route>) -> String {
    routes
        .into_iter()
        .filter(|route| route.dialer == dialer)
        .map(|route| format!("{}={}", route.peer, route.via))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = "
regions:
  - { name: eu-west, location: { lat: 53.3, lon: -6.3 }, http: 127.0.0.1:8081, quic: 127.0.0.1:9081 }
  - { name: us-east, location: { lat: 39.0, lon: -77.5 }, http: 127.0.0.1:8082, quic: 0.0.0.0:9082 }
  - { name: ap-south, location: { lat: 19.1, lon: 72.9 }, http: 127.0.0.1:8083, quic: '[::1]:9083' }
";

    fn topology() -> Topology {
        Topology::from_yaml(THREE).unwrap()
    }

    #[test]
    fn every_ordered_pair_gets_one_link_to_the_peers_quic_address() {
        let links = links(&topology(), 7);
        let pairs: Vec<(&str, &str, String)> = links
            .iter()
            .map(|l| (l.dialer.as_str(), l.peer.as_str(), l.target.to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("eu-west", "us-east", "127.0.0.1:9082".to_owned()),
                ("eu-west", "ap-south", "[::1]:9083".to_owned()),
                ("us-east", "eu-west", "127.0.0.1:9081".to_owned()),
                ("us-east", "ap-south", "[::1]:9083".to_owned()),
                ("ap-south", "eu-west", "127.0.0.1:9081".to_owned()),
                ("ap-south", "us-east", "127.0.0.1:9082".to_owned()),
            ]
        );
    }

    #[test]
    fn link_seeds_differ_and_follow_the_run_seed() {
        let a = links(&topology(), 7);
        let b = links(&topology(), 7);
        let c = links(&topology(), 8);
        let seeds: std::collections::HashSet<u64> = a.iter().map(|l| l.seed).collect();
        assert_eq!(seeds.len(), a.len(), "each link draws its own faults");
        assert_eq!(a, b, "same run seed, same plan");
        assert!(a.iter().zip(&c).all(|(x, y)| x.seed != y.seed));
    }

    #[test]
    fn a_single_region_needs_no_links() {
        let one = Topology::from_yaml(
            "regions:\n  - { name: solo, location: { lat: 0, lon: 0 }, http: 127.0.0.1:8081, quic: 127.0.0.1:9081 }\n",
        )
        .unwrap();
        assert!(links(&one, 1).is_empty());
    }

    #[test]
    fn proxies_listen_on_loopback_of_the_targets_family() {
        assert_eq!(
            proxy_listen_addr("127.0.0.1:9081".parse().unwrap()),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            proxy_listen_addr("[::1]:9081".parse().unwrap()),
            "[::1]:0".parse().unwrap()
        );
    }

    #[test]
    fn each_dialer_is_told_its_own_proxies_only() {
        let route = |dialer: &str, peer: &str, port: u16| Route {
            dialer: dialer.to_owned(),
            peer: peer.to_owned(),
            via: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        };
        let routes = [
            route("eu-west", "us-east", 40001),
            route("eu-west", "ap-south", 40002),
            route("us-east", "eu-west", 40003),
            route("us-east", "ap-south", 40004),
            route("ap-south", "eu-west", 40005),
            route("ap-south", "us-east", 40006),
        ];
        assert_eq!(
            peer_addrs_env("eu-west", &routes),
            "us-east=127.0.0.1:40001,ap-south=127.0.0.1:40002"
        );
        assert_eq!(
            peer_addrs_env("us-east", &routes),
            "eu-west=127.0.0.1:40003,ap-south=127.0.0.1:40004"
        );
        assert_eq!(
            peer_addrs_env("ap-south", &routes),
            "eu-west=127.0.0.1:40005,us-east=127.0.0.1:40006"
        );
        assert_eq!(peer_addrs_env("nowhere", &routes), "");
    }
}
