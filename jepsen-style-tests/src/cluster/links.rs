//! The inter-region links of a local mesh: one fault-injecting UDP proxy per
//! ordered pair of regions (dialer → peer), and faults named by the way
//! traffic flows rather than by proxy.
//!
//! The QUIC transport dials from one side of a pair only, so the traffic
//! from `a` to `b` crosses either the proxy `a → b` (forward) or the proxy
//! `b → a` (backward). Blocking a direction sets both, so a one-way cut
//! holds whichever side dials, now or after a change in the transport.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use sync::transport::proxy::{Direction, LinkProxy};

use super::ClusterError;

/// Faults on a link, applied to both directions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkFaults {
    /// One-way delay added to every packet.
    pub delay: Duration,
    /// Each packet's delay varies by up to ± this much.
    pub jitter: Duration,
    /// Probability (0..=1) that a packet is dropped.
    pub loss: f64,
    /// Probability (0..=1) that a packet is sent twice.
    pub duplicate: f64,
}

/// The running proxies; dropping this stops them.
pub struct Links {
    proxies: BTreeMap<(String, String), LinkProxy>,
}

impl Links {
    /// Starts a proxy for every ordered pair of `regions` (name, QUIC
    /// address), seeded from `seed` so runs lose the same packets.
    pub async fn start(regions: &[(String, SocketAddr)], seed: u64) -> Result<Self, ClusterError> {
        let mut proxies = BTreeMap::new();
        for (dialer, _) in regions {
            for (peer, target) in regions {
                if dialer == peer {
                    continue;
                }
                let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
                let link_seed = seed.wrapping_add(proxies.len() as u64 + 1);
                let proxy =
                    LinkProxy::start(listen, *target, link_seed)
                        .await
                        .map_err(|source| ClusterError::Io {
                            what: format!("start the proxy {dialer} → {peer}"),
                            source,
                        })?;
                proxies.insert((dialer.clone(), peer.clone()), proxy);
            }
        }
        Ok(Self { proxies })
    }

    /// The value of `CHATMESH_PEER_ADDRS` for `dialer`: each peer at its
    /// proxy, `name=address`, comma-separated.
    pub fn peer_addrs(&self, dialer: &str) -> String {
        self.proxies
            .iter()
            .filter(|((from, _), _)| from == dialer)
            .map(|((_, peer), proxy)| format!("{peer}={}", proxy.local_addr()))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn proxy(&self, dialer: &str, peer: &str) -> Result<&LinkProxy, ClusterError> {
        self.proxies
            .get(&(dialer.to_owned(), peer.to_owned()))
            .ok_or_else(|| ClusterError::UnknownLink {
                from: dialer.to_owned(),
                to: peer.to_owned(),
            })
    }

    /// Blocks (or restores) the packets travelling from `from` to `to`.
    pub fn block(&self, from: &str, to: &str, blocked: bool) -> Result<(), ClusterError> {
        self.proxy(from, to)?
            .set_blocked(Direction::Forward, blocked);
        self.proxy(to, from)?
            .set_blocked(Direction::Backward, blocked);
        Ok(())
    }

    /// Sets the faults of the link between `a` and `b`, both ways.
    pub fn set_faults(&self, a: &str, b: &str, faults: LinkFaults) -> Result<(), ClusterError> {
        for proxy in [self.proxy(a, b)?, self.proxy(b, a)?] {
            proxy.set_delay(faults.delay);
            proxy.set_jitter(faults.jitter);
            proxy.set_loss(faults.loss);
            proxy.set_duplicate(faults.duplicate);
        }
        Ok(())
    }

    /// Every link unblocked and without faults.
    pub fn heal(&self) {
        for proxy in self.proxies.values() {
            proxy.set_blocked(Direction::Both, false);
            proxy.set_delay(Duration::ZERO);
            proxy.set_jitter(Duration::ZERO);
            proxy.set_loss(0.0);
            proxy.set_duplicate(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UdpSocket;

    async fn recv_within(socket: &UdpSocket, ms: u64) -> Option<Vec<u8>> {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(ms), socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_one_way_block_stops_only_its_direction() {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let regions = [
            ("a".to_owned(), a.local_addr().expect("addr")),
            ("b".to_owned(), b.local_addr().expect("addr")),
        ];
        let links = Links::start(&regions, 1).await.expect("links");
        let via: SocketAddr = links
            .peer_addrs("a")
            .trim_start_matches("b=")
            .parse()
            .expect("proxy address");
        assert_eq!(links.peer_addrs("b").split(',').count(), 1);

        // `a` dials `b`: forward is a → b, the answer travels backward.
        a.send_to(b"hello", via).await.expect("send");
        assert_eq!(recv_within(&b, 2000).await.as_deref(), Some(&b"hello"[..]));
        links.block("a", "b", true).expect("block");
        a.send_to(b"lost", via).await.expect("send");
        assert_eq!(recv_within(&b, 200).await, None);

        // b → a still flows: b answers through the proxy's back side. The
        // proxy learnt a's address from the first packet.
        links.heal();
        a.send_to(b"again", via).await.expect("send");
        let mut buf = [0u8; 64];
        let (_, proxy_side) = b.recv_from(&mut buf).await.expect("recv");
        links.block("a", "b", true).expect("block");
        b.send_to(b"back", proxy_side).await.expect("send");
        assert_eq!(recv_within(&a, 2000).await.as_deref(), Some(&b"back"[..]));

        links.block("b", "a", true).expect("block");
        b.send_to(b"cut", proxy_side).await.expect("send");
        assert_eq!(recv_within(&a, 200).await, None);
        assert!(links.block("a", "c", true).is_err());
    }
}
