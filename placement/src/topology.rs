//! The region topology (`regions.yaml`): every region's name, location and
//! addresses, and the settings all regions must agree on.
//!
//! The file is parsed into serde types and validated once by
//! [`Topology::from_yaml`] / [`Topology::load`]; code past start-up holds a
//! [`Topology`] that is known to be consistent (unique names and addresses,
//! coordinates in range, sane settings) and never re-checks it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The whole mesh as `regions.yaml` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Every region of the mesh, in the file's order (the stable order used
    /// when a client gives no location hint).
    pub regions: Vec<RegionSpec>,
    /// Settings every region must agree on.
    #[serde(default)]
    pub settings: Settings,
    /// Where the standalone placement service listens, when one is run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementSpec>,
}

/// One region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// Unique name, `a-z 0-9 -`, starting with a letter (e.g. `eu-west`).
    pub name: String,
    /// Where the region is on the globe; routing measures distance from it.
    pub location: Location,
    /// Address of the region's HTTP/WebSocket endpoint.
    pub http: SocketAddr,
    /// Address other regions reach this region on over QUIC.
    pub quic: SocketAddr,
    /// Name of the region's data subdirectory (a single path component);
    /// the region name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// A point on the globe in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude, -90 (south pole) to 90 (north pole).
    pub lat: f64,
    /// Longitude, -180 to 180 (east positive).
    pub lon: f64,
}

/// Settings shared by every region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Largest wall-clock offset (ms) a region accepts from a peer's hybrid
    /// logical clock before rejecting its events.
    pub max_clock_offset_ms: u64,
    /// Inter-region replication tuning.
    pub replication: ReplicationSettings,
    /// How often regions send (and placement polls) heartbeats, in ms.
    pub heartbeat_interval_ms: u64,
    /// A region with no heartbeat for this long (ms) counts as unhealthy.
    pub health_timeout_ms: u64,
    /// Directory of development certificates for QUIC between regions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certs_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_clock_offset_ms: 500,
            replication: ReplicationSettings::default(),
            heartbeat_interval_ms: 1000,
            health_timeout_ms: 3000,
            certs_dir: None,
        }
    }
}

impl Settings {
    /// [`Settings::heartbeat_interval_ms`] as a duration.
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    /// [`Settings::health_timeout_ms`] as a duration.
    pub fn health_timeout(&self) -> Duration {
        Duration::from_millis(self.health_timeout_ms)
    }

    /// [`Settings::max_clock_offset_ms`] as a duration.
    pub fn max_clock_offset(&self) -> Duration {
        Duration::from_millis(self.max_clock_offset_ms)
    }
}

/// How regions ship committed events to each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicationSettings {
    /// Most events in one replication batch.
    pub batch_entries: u32,
    /// Most events in flight (sent, not yet acknowledged) per link.
    pub window: u32,
    /// How often (ms) a receiver acknowledges what it has stored.
    pub ack_interval_ms: u64,
    /// How long (ms) a sender waits for an acknowledgement before resending.
    pub resend_after_ms: u64,
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        Self {
            batch_entries: 256,
            window: 1024,
            ack_interval_ms: 20,
            resend_after_ms: 1000,
        }
    }
}

/// The standalone placement service's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementSpec {
    /// Address the placement service serves HTTP on.
    pub http: SocketAddr,
}

/// What is wrong with a topology, and where.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The file could not be read.
    #[error("read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file's content is invalid.
    #[error("in {}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: Box<TopologyError>,
    },
    /// The YAML does not parse, or does not have the expected shape.
    #[error("syntax: {0}")]
    Syntax(#[from] serde_norway::Error),
    /// The topology lists no regions.
    #[error("regions: at least one region is required")]
    NoRegions,
    /// A region name is empty, too long or uses characters outside `a-z 0-9 -`.
    #[error("regions[{index}]: name `{name}` {reason}")]
    BadName {
        /// Position of the region in the list.
        index: usize,
        /// The name as written.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Two regions share a name.
    #[error("regions[{index}]: name `{name}` is already used by regions[{first}]")]
    DuplicateName {
        /// Position of the second region.
        index: usize,
        /// Position of the first region with that name.
        first: usize,
        /// The name.
        name: String,
    },
    /// A coordinate is not a finite number in range.
    #[error("region `{region}`: {field} {value} is outside {range}")]
    BadLocation {
        /// The region.
        region: String,
        /// `location.lat` or `location.lon`.
        field: &'static str,
        /// The value as written.
        value: f64,
        /// The allowed range.
        range: &'static str,
    },
    /// Two endpoints (of the same or different regions, or placement) share an address.
    #[error("{second}: address {addr} is already used by {first}")]
    DuplicateAddress {
        /// The address.
        addr: SocketAddr,
        /// The endpoint that uses it first, e.g. `region eu-west http`.
        first: String,
        /// The endpoint that uses it again.
        second: String,
    },
    /// A region's `data` is not a single plain directory name.
    #[error("region `{region}`: data `{data}` must be a single directory name")]
    BadDataDir {
        /// The region.
        region: String,
        /// The value as written.
        data: String,
    },
    /// A setting has a value that cannot work.
    #[error("settings.{field}: {reason}")]
    BadSetting {
        /// Dotted path of the setting.
        field: &'static str,
        /// Why the value is rejected.
        reason: &'static str,
    },
}

/// The longest region name accepted; names appear in metrics, paths and DNS labels.
const MAX_NAME_LEN: usize = 63;

impl Topology {
    /// Reads and validates a topology file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TopologyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text).map_err(|error| TopologyError::InFile {
            path: path.to_owned(),
            source: Box::new(error),
        })
    }

    /// Parses and validates a topology from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, TopologyError> {
        let topology: Self = serde_norway::from_str(text)?;
        topology.validate()?;
        Ok(topology)
    }

    /// Checks every rule a usable topology must meet; `from_yaml` and `load`
    /// call it, callers that build a `Topology` in code should too.
    pub fn validate(&self) -> Result<(), TopologyError> {
        if self.regions.is_empty() {
            return Err(TopologyError::NoRegions);
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut addrs: HashMap<SocketAddr, String> = HashMap::new();
        let mut claim = |addr: SocketAddr, who: String| match addrs.get(&addr) {
            Some(first) => Err(TopologyError::DuplicateAddress {
                addr,
                first: first.clone(),
                second: who,
            }),
            None => {
                addrs.insert(addr, who);
                Ok(())
            }
        };
        for (index, region) in self.regions.iter().enumerate() {
            check_name(index, &region.name)?;
            if let Some(&first) = names.get(region.name.as_str()) {
                return Err(TopologyError::DuplicateName {
                    index,
                    first,
                    name: region.name.clone(),
                });
            }
            names.insert(&region.name, index);
            check_location(&region.name, region.location)?;
            if let Some(data) = &region.data {
                check_data_dir(&region.name, data)?;
            }
            claim(region.http, format!("region {} http", region.name))?;
            claim(region.quic, format!("region {} quic", region.name))?;
        }
        if let Some(placement) = &self.placement {
            claim(placement.http, "placement http".to_owned())?;
        }
        self.settings.validate()
    }

    /// The region with this name.
    pub fn region(&self, name: &str) -> Option<&RegionSpec> {
        self.regions.iter().find(|region| region.name == name)
    }

    /// Every region except `name`: the peers a region replicates with.
    pub fn peers_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RegionSpec> + 'a {
        self.regions
            .iter()
            .filter(move |region| region.name != name)
    }

    /// The names of all regions, in topology order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().map(|region| region.name.as_str())
    }
}

impl RegionSpec {
    /// The region's data subdirectory name: `data` when set, else its name.
    pub fn data_dir_name(&self) -> &str {
        self.data.as_deref().unwrap_or(&self.name)
    }
}

impl Settings {
    fn validate(&self) -> Result<(), TopologyError> {
        let bad = |field, reason| Err(TopologyError::BadSetting { field, reason });
        if self.heartbeat_interval_ms == 0 {
            return bad("heartbeat_interval_ms", "must be at least 1");
        }
        if self.health_timeout_ms <= self.heartbeat_interval_ms {
            return bad(
                "health_timeout_ms",
                "must be longer than heartbeat_interval_ms, or one late heartbeat marks a region down",
            );
        }
        let replication = &self.replication;
        if replication.batch_entries == 0 {
            return bad("replication.batch_entries", "must be at least 1");
        }
        if replication.window < replication.batch_entries {
            return bad(
                "replication.window",
                "must be at least replication.batch_entries",
            );
        }
        if replication.ack_interval_ms == 0 {
            return bad("replication.ack_interval_ms", "must be at least 1");
        }
        if replication.resend_after_ms <= replication.ack_interval_ms {
            return bad(
                "replication.resend_after_ms",
                "must be longer than replication.ack_interval_ms, or every batch is resent",
            );
        }
        Ok(())
    }
}

fn check_name(index: usize, name: &str) -> Result<(), TopologyError> {
    let reason = if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("is longer than 63 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("may only use a-z, 0-9 and -")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.ends_with('-') {
        Some("must start with a letter and not end with -")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(TopologyError::BadName {
            index,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn check_location(region: &str, location: Location) -> Result<(), TopologyError> {
    let bad = |field, value, range| TopologyError::BadLocation {
        region: region.to_owned(),
        field,
        value,
        range,
    };
    if !(location.lat.is_finite() && (-90.0..=90.0).contains(&location.lat)) {
        return Err(bad("location.lat", location.lat, "-90..=90"));
    }
    if !(location.lon.is_finite() && (-180.0..=180.0).contains(&location.lon)) {
        return Err(bad("location.lon", location.lon, "-180..=180"));
    }
    Ok(())
}

fn check_data_dir(region: &str, data: &str) -> Result<(), TopologyError> {
    let mut components = Path::new(data).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) => Ok(()),
        _ => Err(TopologyError::BadDataDir {
            region: region.to_owned(),
            data: data.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = "
regions:
  - name: eu-west
    location: { lat: 53.3, lon: -6.3 }
    http: 127.0.0.1:8081
    quic: 127.0.0.1:9081
  - name: us-east
    location: { lat: 39.0, lon: -77.5 }
    http: 127.0.0.1:8082
    quic: 127.0.0.1:9082
    data: use1
  - name: ap-south
    location: { lat: 19.1, lon: 72.9 }
    http: 127.0.0.1:8083
    quic: 127.0.0.1:9083
settings:
  heartbeat_interval_ms: 500
placement:
  http: 127.0.0.1:8090
";

    fn with_region(extra: &str) -> String {
        format!(
            "regions:\n  - name: eu-west\n    location: {{ lat: 53.3, lon: -6.3 }}\n    http: 127.0.0.1:8081\n    quic: 127.0.0.1:9081\n{extra}"
        )
    }

    #[test]
    fn parses_regions_and_fills_default_settings() {
        let topology = Topology::from_yaml(THREE).unwrap();
        assert_eq!(
            topology.names().collect::<Vec<_>>(),
            ["eu-west", "us-east", "ap-south"]
        );
        let us = topology.region("us-east").unwrap();
        assert_eq!(us.http, "127.0.0.1:8082".parse().unwrap());
        assert_eq!(us.data_dir_name(), "use1");
        assert_eq!(
            topology.region("ap-south").unwrap().data_dir_name(),
            "ap-south"
        );
        assert_eq!(topology.settings.heartbeat_interval_ms, 500);
        assert_eq!(topology.settings.health_timeout_ms, 3000);
        assert_eq!(topology.settings.max_clock_offset_ms, 500);
        assert_eq!(
            topology.settings.replication,
            ReplicationSettings::default()
        );
        assert_eq!(
            topology.placement.unwrap().http,
            "127.0.0.1:8090".parse().unwrap()
        );
    }

    #[test]
    fn peers_are_every_other_region_in_order() {
        let topology = Topology::from_yaml(THREE).unwrap();
        let peers: Vec<_> = topology.peers_of("us-east").map(|r| &r.name).collect();
        assert_eq!(peers, ["eu-west", "ap-south"]);
        assert!(topology.region("mars").is_none());
    }

    #[test]
    fn the_checked_in_topology_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../regions.yaml");
        let topology = Topology::load(path).unwrap();
        assert_eq!(
            topology.names().collect::<Vec<_>>(),
            ["eu-west", "us-east", "ap-south"]
        );
        assert!(topology.placement.is_some());
    }

    #[test]
    fn rejects_an_empty_region_list() {
        let error = Topology::from_yaml("regions: []").unwrap_err();
        assert!(matches!(error, TopologyError::NoRegions), "{error}");
    }

    #[test]
    fn rejects_bad_names_with_their_position() {
        for name in ["EU-west", "eu_west", "", "-eu", "eu-", "1eu"] {
            let text = with_region(&format!(
                "  - name: \"{name}\"\n    location: {{ lat: 0, lon: 0 }}\n    http: 127.0.0.1:1\n    quic: 127.0.0.1:2\n"
            ));
            match Topology::from_yaml(&text).unwrap_err() {
                TopologyError::BadName {
                    index, name: got, ..
                } => {
                    assert_eq!((index, got.as_str()), (1, name));
                }
                other => panic!("{name}: {other}"),
            }
        }
    }

    #[test]
    fn rejects_duplicate_names() {
        let text = with_region(
            "  - name: eu-west\n    location: { lat: 0, lon: 0 }\n    http: 127.0.0.1:1\n    quic: 127.0.0.1:2\n",
        );
        let error = Topology::from_yaml(&text).unwrap_err();
        assert!(
            matches!(
                error,
                TopologyError::DuplicateName {
                    index: 1,
                    first: 0,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn rejects_coordinates_out_of_range() {
        for (lat, lon, field) in [
            ("90.5", "0", "location.lat"),
            ("-91", "0", "location.lat"),
            (".nan", "0", "location.lat"),
            ("0", "180.1", "location.lon"),
            ("0", "-.inf", "location.lon"),
        ] {
            let text = with_region(&format!(
                "  - name: x\n    location: {{ lat: {lat}, lon: {lon} }}\n    http: 127.0.0.1:1\n    quic: 127.0.0.1:2\n"
            ));
            match Topology::from_yaml(&text).unwrap_err() {
                TopologyError::BadLocation {
                    region, field: got, ..
                } => {
                    assert_eq!((region.as_str(), got), ("x", field));
                }
                other => panic!("{lat},{lon}: {other}"),
            }
        }
    }

    #[test]
    fn rejects_shared_addresses_naming_both_endpoints() {
        let text = with_region(
            "  - name: x\n    location: { lat: 0, lon: 0 }\n    http: 127.0.0.1:1\n    quic: 127.0.0.1:9081\n",
        );
        let error = Topology::from_yaml(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "region x quic: address 127.0.0.1:9081 is already used by region eu-west quic"
        );
        let text = with_region("placement:\n  http: 127.0.0.1:8081\n");
        assert!(matches!(
            Topology::from_yaml(&text).unwrap_err(),
            TopologyError::DuplicateAddress { .. }
        ));
    }

    #[test]
    fn rejects_data_dirs_that_are_paths() {
        for data in ["../up", "a/b", "/abs", "."] {
            let text = with_region(&format!(
                "  - name: x\n    location: {{ lat: 0, lon: 0 }}\n    http: 127.0.0.1:1\n    quic: 127.0.0.1:2\n    data: \"{data}\"\n"
            ));
            assert!(
                matches!(
                    Topology::from_yaml(&text).unwrap_err(),
                    TopologyError::BadDataDir { .. }
                ),
                "{data}"
            );
        }
    }

    #[test]
    fn rejects_settings_that_cannot_work() {
        for (settings, field) in [
            ("heartbeat_interval_ms: 0", "heartbeat_interval_ms"),
            (
                "heartbeat_interval_ms: 3000\n  health_timeout_ms: 3000",
                "health_timeout_ms",
            ),
            (
                "replication: { batch_entries: 0 }",
                "replication.batch_entries",
            ),
            (
                "replication: { batch_entries: 64, window: 32 }",
                "replication.window",
            ),
            (
                "replication: { ack_interval_ms: 50, resend_after_ms: 50 }",
                "replication.resend_after_ms",
            ),
        ] {
            let text = with_region(&format!("settings:\n  {settings}\n"));
            match Topology::from_yaml(&text).unwrap_err() {
                TopologyError::BadSetting { field: got, .. } => assert_eq!(got, field),
                other => panic!("{settings}: {other}"),
            }
        }
    }

    #[test]
    fn rejects_unknown_fields_and_bad_addresses_as_syntax_errors() {
        let unknown = with_region("setings: {}\n");
        assert!(matches!(
            Topology::from_yaml(&unknown).unwrap_err(),
            TopologyError::Syntax(_)
        ));
        let bad_addr = "regions:\n  - name: a\n    location: { lat: 0, lon: 0 }\n    http: localhost\n    quic: 127.0.0.1:2\n";
        let error = Topology::from_yaml(bad_addr).unwrap_err();
        assert!(matches!(error, TopologyError::Syntax(_)), "{error}");
        assert!(error.to_string().contains("line"), "{error}");
    }

    #[test]
    fn load_names_the_file_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yaml");
        assert!(matches!(
            Topology::load(&missing).unwrap_err(),
            TopologyError::Read { .. }
        ));
        let invalid = dir.path().join("regions.yaml");
        std::fs::write(&invalid, "regions: []").unwrap();
        match Topology::load(&invalid).unwrap_err() {
            TopologyError::InFile { path, source } => {
                assert_eq!(path, invalid);
                assert!(matches!(*source, TopologyError::NoRegions));
            }
            other => panic!("{other}"),
        }
    }
}
