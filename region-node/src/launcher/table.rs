//! What the launcher prints once the mesh is started: each region's
//! addresses and data directory, the link faults and seed, and the proxy
//! every dialer goes through.

use std::fmt::Write as _;
use std::path::Path;

use mesh_testkit::links::LinkFaults;
use mesh_testkit::plan::Route;
use placement::topology::Topology;

/// The start-up summary of a mesh.
pub struct Summary<'a> {
    /// The topology file as given.
    pub regions_file: &'a Path,
    /// The regions.
    pub topology: &'a Topology,
    /// Parent of the regions' data directories.
    pub data_root: &'a Path,
    /// Faults on every link.
    pub faults: LinkFaults,
    /// The run's fault seed.
    pub seed: u64,
    /// Where each dialer reaches each peer.
    pub routes: &'a [Route],
}

impl Summary<'_> {
    /// The summary as aligned text, one line per region and per route.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let regions = &self.topology.regions;
        let name_width = regions
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max("REGION".len());
        let http: Vec<String> = regions
            .iter()
            .map(|r| format!("http://{}", r.http))
            .collect();
        let http_width = http.iter().map(String::len).max().unwrap_or(0);
        let quic: Vec<String> = regions.iter().map(|r| r.quic.to_string()).collect();
        let quic_width = quic.iter().map(String::len).max().unwrap_or(0);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "chatmesh mesh: {} region(s) from {}",
            regions.len(),
            self.regions_file.display()
        );
        let _ = writeln!(
            out,
            "  {:<name_width$}  {:<http_width$}  {:<quic_width$}  DATA",
            "REGION", "HTTP", "QUIC"
        );
        for ((region, http), quic) in regions.iter().zip(&http).zip(&quic) {
            let _ = writeln!(
                out,
                "  {:<name_width$}  {http:<http_width$}  {quic:<quic_width$}  {}",
                region.name,
                self.data_root.join(region.data_dir_name()).display()
            );
        }
        let _ = writeln!(out, "links: {}; seed {}", self.faults, self.seed);
        for route in self.routes {
            let _ = writeln!(
                out,
                "  {:<name_width$} -> {:<name_width$}  via {}",
                route.dialer, route.peer, route.via
            );
        }
        let _ = writeln!(
            out,
            "each region's log follows, behind its [name]; Ctrl-C stops the mesh"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_summary_lists_regions_links_and_faults() {
        let topology = Topology::from_yaml(
            "regions:
  - { name: eu-west, location: { lat: 53.3, lon: -6.3 }, http: 127.0.0.1:8081, quic: 127.0.0.1:9081, data: dublin }
  - { name: us-east, location: { lat: 39.0, lon: -77.5 }, http: 127.0.0.1:8082, quic: 127.0.0.1:9082 }
",
        )
        .unwrap();
        let routes = [
            Route {
                dialer: "eu-west".into(),
                peer: "us-east".into(),
                via: "127.0.0.1:40001".parse().unwrap(),
            },
            Route {
                dialer: "us-east".into(),
                peer: "eu-west".into(),
                via: "127.0.0.1:40002".parse().unwrap(),
            },
        ];
        let text = Summary {
            regions_file: Path::new("regions.yaml"),
            topology: &topology,
            data_root: Path::new("/data/mesh"),
            faults: LinkFaults {
                delay: Duration::from_millis(80),
                jitter: Duration::from_millis(5),
                ..LinkFaults::default()
            },
            seed: 42,
            routes: &routes,
        }
        .render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "chatmesh mesh: 2 region(s) from regions.yaml");
        assert_eq!(
            lines[1],
            "  REGION   HTTP                   QUIC            DATA"
        );
        assert_eq!(
            lines[2],
            "  eu-west  http://127.0.0.1:8081  127.0.0.1:9081  /data/mesh/dublin"
        );
        assert_eq!(
            lines[3],
            "  us-east  http://127.0.0.1:8082  127.0.0.1:9082  /data/mesh/us-east"
        );
        assert_eq!(
            lines[4],
            "links: one-way latency 80ms ± 5ms (round trip ≈ 160ms), loss 0%; seed 42"
        );
        assert_eq!(lines[5], "  eu-west -> us-east  via 127.0.0.1:40001");
        assert_eq!(lines[6], "  us-east -> eu-west  via 127.0.0.1:40002");
    }
}
