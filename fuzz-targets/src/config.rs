//! Configuration: a node's TOML file and the mesh's `regions.yaml`.

use placement::topology::Topology;
use region_node::config::{Config, NodeArgs, RawConfig};

/// Parses and validates a node configuration file.
pub fn node_config(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(raw) = toml::from_str::<RawConfig>(text) else {
        return;
    };
    let _ = Config::from_parts(&NodeArgs::default(), raw);
}

/// Parses and validates a topology; one that validates must survive a YAML
/// round trip unchanged.
pub fn topology(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(topology) = Topology::from_yaml(text) else {
        return;
    };
    let yaml = serde_norway::to_string(&topology).expect("a topology encodes");
    let again =
        Topology::from_yaml(&yaml).unwrap_or_else(|e| panic!("{yaml} does not parse back: {e}"));
    assert_eq!(
        topology, again,
        "a topology changed across a YAML round trip"
    );
}
