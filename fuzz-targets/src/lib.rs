//! The properties chatmesh's fuzzers check, one function per target.
//!
//! Every function takes the fuzzer's bytes and panics only when a property
//! is broken; refusing the input is always allowed. The same functions run
//! three ways:
//!
//! - under libFuzzer, from the `fuzz/` project (`cargo +nightly fuzz run
//!   client_frame`), which explores new inputs;
//! - in `cargo test`, which replays every file of `fuzz/corpus/<target>/`
//!   so a crash once found stays fixed;
//! - in CI, which does both: the replay and a short fuzzing run per target.
//!
//! | target | what it decodes | property |
//! |---|---|---|
//! | [`client_frame`] | a WebSocket text frame from a client | no panic; what decodes re-encodes to the same frame |
//! | [`peer_message`] | a message, request or reply from another region | no panic; what decodes re-encodes to the same value |
//! | [`tuple_key`] | a store key | no panic; unpacking and packing again is stable |
//! | [`tuple_order`] | two `(text, seq)` keys | key bytes order like the values they pack (range reads rely on it) |
//! | [`node_config`] | a region node's TOML configuration | no panic while parsing and validating |
//! | [`topology`] | a `regions.yaml` | no panic; what validates survives a YAML round trip |

mod config;
mod frames;
mod keys;
mod peer;
mod roundtrip;

pub use config::{node_config, topology};
pub use frames::client_frame;
pub use keys::{tuple_key, tuple_order};
pub use peer::peer_message;

/// A fuzz target: takes any bytes, panics only when a property breaks.
pub type Target = fn(&[u8]);

/// Every target by name, as the corpus directories and fuzz binaries are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("client_frame", client_frame),
    ("peer_message", peer_message),
    ("tuple_key", tuple_key),
    ("tuple_order", tuple_order),
    ("node_config", node_config),
    ("topology", topology),
];
