//! The running links of a local mesh: one fault-injecting [`LinkProxy`] per
//! planned link (dialer → peer, see [`plan`](crate::plan)), each on a fresh
//! loopback port, and faults named by the way traffic flows rather than by
//! proxy.
//!
//! The QUIC transport dials from one side of a pair only, so the traffic
//! from `a` to `b` crosses either the proxy `a → b` (forward) or the proxy
//! `b → a` (backward). Blocking a direction sets both, so a one-way cut
//! holds whichever side dials, now or after a change in the transport.

use std::fmt;
use std::time::Duration;

use humantime::format_duration;

use crate::error::MeshError;
use crate::plan::{self, Link, Route, proxy_listen_addr};
use crate::proxy::{Direction, LinkProxy};

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

impl LinkFaults {
    fn apply(&self, proxy: &LinkProxy) {
        proxy.set_delay(self.delay);
        proxy.set_jitter(self.jitter);
        proxy.set_loss(self.loss);
        proxy.set_duplicate(self.duplicate);
    }
}

impl fmt::Display for LinkFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "one-way latency {} ± {} (round trip ≈ {}), loss {}%",
            format_duration(self.delay),
            format_duration(self.jitter),
            format_duration(self.delay * 2),
            self.loss * 100.0
        )?;
        if self.duplicate > 0.0 {
            write!(f, ", duplicate {}%", self.duplicate * 100.0)?;
        }
        Ok(())
    }
}

/// The running proxies, in the links' order; dropping this stops them.
#[derive(Debug)]
pub struct Links {
    running: Vec<(Route, LinkProxy)>,
}

impl Links {
    /// Starts a proxy for each link with `faults` applied both ways.
    pub async fn start(links: &[Link], faults: LinkFaults) -> Result<Self, MeshError> {
        let mut running = Vec::with_capacity(links.len());
        for link in links {
            let proxy = LinkProxy::start(proxy_listen_addr(link.target), link.target, link.seed)
                .await
                .map_err(|source| {
                    MeshError::io(
                        format!("start the proxy {} → {}", link.dialer, link.peer),
                        source,
                    )
                })?;
            faults.apply(&proxy);
            let route = Route {
                dialer: link.dialer.clone(),
                peer: link.peer.clone(),
                via: proxy.local_addr(),
            };
            running.push((route, proxy));
        }
        Ok(Self { running })
    }

    /// Where each dialer reaches each peer, in the links' order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.running.iter().map(|(route, _)| route)
    }

    /// The value of [`PEER_ADDRS_ENV`](plan::PEER_ADDRS_ENV) for `dialer`.
    pub fn peer_addrs(&self, dialer: &str) -> String {
        plan::peer_addrs_env(dialer, self.routes())
    }

    /// How many proxies run.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether no proxy runs (a mesh of one region).
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The proxy `dialer` reaches `peer` through.
    pub fn proxy(&self, dialer: &str, peer: &str) -> Result<&LinkProxy, MeshError> {
        self.running
            .iter()
            .find(|(route, _)| route.dialer == dialer && route.peer == peer)
            .map(|(_, proxy)| proxy)
            .ok_or_else(|| MeshError::UnknownLink {
                from: dialer.to_owned(),
                to: peer.to_owned(),
            })
    }

    /// Blocks (or restores) the packets travelling from `from` to `to`.
    pub fn block(&self, from: &str, to: &str, blocked: bool) -> Result<(), MeshError> {
        let forward = self.proxy(from, to)?;
        let backward = self.proxy(to, from)?;
        forward.set_blocked(Direction::Forward, blocked);
        backward.set_blocked(Direction::Backward, blocked);
        Ok(())
    }

    /// Sets the faults of the link between `a` and `b`, both ways.
    pub fn set_faults(&self, a: &str, b: &str, faults: LinkFaults) -> Result<(), MeshError> {
        for proxy in [self.proxy(a, b)?, self.proxy(b, a)?] {
            faults.apply(proxy);
        }
        Ok(())
    }

    /// Every link unblocked and without faults.
    pub fn heal(&self) {
        for (_, proxy) in &self.running {
            proxy.set_blocked(Direction::Both, false);
            LinkFaults::default().apply(proxy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::net::UdpSocket;

    fn link(dialer: &str, peer: &str, target: &UdpSocket, seed: u64) -> Link {
        Link {
            dialer: dialer.to_owned(),
            peer: peer.to_owned(),
            target: target.local_addr().unwrap(),
            seed,
        }
    }

    async fn recv_within(socket: &UdpSocket, ms: u64) -> Option<Vec<u8>> {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(ms), socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn each_route_leads_through_its_own_proxy_to_its_peer() {
        let east = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let south = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let links = [
            link("eu-west", "us-east", &east, 1),
            link("eu-west", "ap-south", &south, 2),
        ];
        let set = Links::start(&links, LinkFaults::default()).await.unwrap();
        let routes: Vec<Route> = set.routes().cloned().collect();
        assert_eq!(set.len(), 2);
        assert_eq!(routes[0].peer, "us-east");
        assert_eq!(routes[1].peer, "ap-south");
        assert_ne!(routes[0].via, routes[1].via, "a fresh port per link");
        assert_eq!(
            set.peer_addrs("eu-west"),
            format!("us-east={},ap-south={}", routes[0].via, routes[1].via)
        );

        let dialer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        dialer.send_to(b"to east", routes[0].via).await.unwrap();
        dialer.send_to(b"to south", routes[1].via).await.unwrap();
        let mut buf = [0u8; 64];
        let (n, _) = east.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to east");
        let (n, _) = south.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to south");
    }

    #[tokio::test]
    async fn total_loss_is_applied_to_every_link() {
        let target = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let faults = LinkFaults {
            loss: 1.0,
            ..LinkFaults::default()
        };
        let set = Links::start(&[link("a", "b", &target, 3)], faults)
            .await
            .unwrap();
        let via = set.routes().next().unwrap().via;
        let dialer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for _ in 0..20 {
            dialer.send_to(b"x", via).await.unwrap();
        }
        let stats = || set.proxy("a", "b").unwrap().stats();
        for _ in 0..200 {
            if stats().lost == 20 {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(stats().lost, 20);
        assert_eq!(stats().forwarded, 0);
    }

    #[tokio::test]
    async fn a_one_way_block_stops_only_its_direction() {
        let a = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let links = Links::start(
            &[link("a", "b", &b, 1), link("b", "a", &a, 2)],
            LinkFaults::default(),
        )
        .await
        .expect("links");
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
        assert!(matches!(
            links.block("a", "c", true),
            Err(MeshError::UnknownLink { .. })
        ));
    }

    #[test]
    fn faults_describe_themselves() {
        let mut faults = LinkFaults {
            delay: Duration::from_millis(80),
            jitter: Duration::from_millis(5),
            loss: 0.01,
            duplicate: 0.0,
        };
        assert_eq!(
            faults.to_string(),
            "one-way latency 80ms ± 5ms (round trip ≈ 160ms), loss 1%"
        );
        faults.duplicate = 0.5;
        assert!(faults.to_string().ends_with(", loss 1%, duplicate 50%"));
    }
}
