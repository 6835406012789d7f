//! Where a local mesh's regions listen when they must not collide with a
//! mesh already running on the checked-in addresses: the topology the user
//! gave, rewritten onto fresh loopback ports.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use placement::topology::Topology;

/// `original` with every region's `http` and `quic` moved to loopback ports
/// from `ports` (answering `(http, quic)` per region), development
/// certificates in `certs_dir`, and no standalone placement address (a run
/// starts no placement service, and its port could be taken).
pub fn local_topology<E>(
    original: &Topology,
    certs_dir: &Path,
    mut ports: impl FnMut() -> Result<(u16, u16), E>,
) -> Result<Topology, E> {
    let mut topology = original.clone();
    for region in &mut topology.regions {
        let (http, quic) = ports()?;
        region.http = SocketAddr::from((Ipv4Addr::LOCALHOST, http));
        region.quic = SocketAddr::from((Ipv4Addr::LOCALHOST, quic));
    }
    topology.settings.certs_dir = Some(certs_dir.to_owned());
    topology.placement = None;
    Ok(topology)
}

/// A free loopback TCP port for a region's HTTP endpoint and a free UDP
/// port for its QUIC endpoint. They are released before the region binds
/// them; on a machine that is not handing out ports wildly that is safe.
pub fn free_ports() -> std::io::Result<(u16, u16)> {
    let http = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    let quic = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    Ok((http, quic))
}

/// The HTTP base URL of an address, with unspecified addresses reached on
/// loopback.
pub fn base_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = "
regions:
  - { name: eu-west, location: { lat: 53.3, lon: -6.3 }, http: 127.0.0.1:8081, quic: 127.0.0.1:9081, data: eu }
  - { name: us-east, location: { lat: 39.0, lon: -77.5 }, http: 127.0.0.1:8082, quic: 127.0.0.1:9082 }
  - { name: ap-south, location: { lat: 19.1, lon: 72.9 }, http: 127.0.0.1:8083, quic: 127.0.0.1:9083 }
settings:
  max_clock_offset_ms: 700
placement:
  http: 127.0.0.1:8090
";

    #[test]
    fn regions_move_to_the_given_ports_and_keep_everything_else() {
        let original = Topology::from_yaml(THREE).expect("topology");
        let mut next = 40000u16;
        let rewritten = local_topology(&original, Path::new("/tmp/certs"), || {
            next += 2;
            Ok::<_, std::convert::Infallible>((next, next + 1))
        })
        .expect("rewrite");
        let addrs: Vec<(String, String)> = rewritten
            .regions
            .iter()
            .map(|r| (r.http.to_string(), r.quic.to_string()))
            .collect();
        assert_eq!(
            addrs,
            [
                ("127.0.0.1:40002".to_owned(), "127.0.0.1:40003".to_owned()),
                ("127.0.0.1:40004".to_owned(), "127.0.0.1:40005".to_owned()),
                ("127.0.0.1:40006".to_owned(), "127.0.0.1:40007".to_owned()),
            ]
        );
        assert_eq!(rewritten.regions[0].data.as_deref(), Some("eu"));
        assert_eq!(rewritten.settings.max_clock_offset_ms, 700);
        assert_eq!(
            rewritten.settings.certs_dir.as_deref(),
            Some(Path::new("/tmp/certs"))
        );
        assert!(rewritten.placement.is_none());
        let yaml = serde_norway::to_string(&rewritten).expect("yaml");
        assert_eq!(Topology::from_yaml(&yaml).expect("reparse"), rewritten);
    }

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        assert_eq!(
            base_url("0.0.0.0:8081".parse().expect("addr")),
            "http://127.0.0.1:8081"
        );
        assert_eq!(
            base_url("10.0.0.5:8081".parse().expect("addr")),
            "http://10.0.0.5:8081"
        );
    }
}
