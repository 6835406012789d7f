//! What the end-to-end tests share: finding the region-node executable.

use std::path::PathBuf;

/// `target/debug/region-node`: the test executable lives in
/// `target/debug/deps`, and the workspace build puts the node beside it.
pub fn region_node() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let node = debug.join("region-node");
    assert!(
        node.exists(),
        "{} not found: build it first (cargo build -p chatmesh-region-node)",
        node.display()
    );
    node
}
