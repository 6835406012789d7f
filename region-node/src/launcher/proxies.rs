//! Starting the planned links: one fault-injecting UDP proxy per link, all
//! with the same delay, jitter and loss, each on a fresh loopback port.

use std::fmt;
use std::io;
use std::time::Duration;

use sync::transport::proxy::LinkProxy;

use super::duration::format_duration;
use super::plan::{Link, Route, proxy_listen_addr};

/// The faults every inter-region link gets, in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkFaults {
    /// One-way delay added to every packet.
    pub latency: Duration,
    /// Each packet's delay varies by up to ± this much.
    pub jitter: Duration,
    /// Probability (0..=1) that a packet is dropped.
    pub loss: f64,
}

impl fmt::Display for LinkFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "one-way latency {} ± {} (round trip ≈ {}), loss {}%",
            format_duration(self.latency),
            format_duration(self.jitter),
            format_duration(self.latency * 2),
            self.loss * 100.0
        )
    }
}

/// The running proxies; dropping the set stops them all.
#[derive(Debug)]
pub struct ProxySet {
    running: Vec<(Route, LinkProxy)>,
}

impl ProxySet {
    /// Starts a proxy for each link with `faults` applied both ways.
    pub async fn start(links: &[Link], faults: LinkFaults) -> io::Result<Self> {
        let mut running = Vec::with_capacity(links.len());
        for link in links {
            let proxy =
                LinkProxy::start(proxy_listen_addr(link.target), link.target, link.seed).await?;
            proxy.set_delay(faults.latency);
            proxy.set_jitter(faults.jitter);
            proxy.set_loss(faults.loss);
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

    /// How many proxies run.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether no proxy runs (a mesh of one region).
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UdpSocket;

    #[tokio::test]
    async fn each_route_leads_through_its_own_proxy_to_its_peer() {
        let east = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let south = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let link = |peer: &str, target: &UdpSocket, seed| Link {
            dialer: "eu-west".to_owned(),
            peer: peer.to_owned(),
            target: target.local_addr().unwrap(),
            seed,
        };
        let links = [link("us-east", &east, 1), link("ap-south", &south, 2)];
        let set = ProxySet::start(&links, LinkFaults::default())
            .await
            .unwrap();
        let routes: Vec<Route> = set.routes().cloned().collect();
        assert_eq!(set.len(), 2);
        assert_eq!(routes[0].peer, "us-east");
        assert_eq!(routes[1].peer, "ap-south");
        assert_ne!(routes[0].via, routes[1].via, "a fresh port per link");

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
        let links = [Link {
            dialer: "a".to_owned(),
            peer: "b".to_owned(),
            target: target.local_addr().unwrap(),
            seed: 3,
        }];
        let faults = LinkFaults {
            loss: 1.0,
            ..LinkFaults::default()
        };
        let set = ProxySet::start(&links, faults).await.unwrap();
        let via = set.routes().next().unwrap().via;
        let dialer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for _ in 0..20 {
            dialer.send_to(b"x", via).await.unwrap();
        }
        let stats = || set.running[0].1.stats();
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

    #[test]
    fn faults_describe_themselves() {
        let faults = LinkFaults {
            latency: Duration::from_millis(80),
            jitter: Duration::from_millis(5),
            loss: 0.01,
        };
        assert_eq!(
            faults.to_string(),
            "one-way latency 80ms ± 5ms (round trip ≈ 160ms), loss 1%"
        );
    }
}
