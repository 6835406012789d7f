//! The chatmesh region node: one process that serves a whole region on the
//! embedded defaults (HTTP API and, later, WebSocket sessions and the chat
//! domain), or one of several nodes of a region on FoundationDB.
//!
//! [`run`] is the entry point: it takes a bound listener and a shutdown
//! signal, so the binary, the tests and simulators all start a node the same
//! way (tests bind port 0).
//!
//! - [`config`]: flags, environment and TOML merged into a validated [`Config`].
//! - [`server`]: start-up, serving and draining shutdown.
//! - [`state`]: the handles handlers share.
//! - [`http`]: the HTTP API.
//! - [`accounts`]: accounts, devices and tokens.
//! - [`chat`]: chats, membership, the per-chat sequencer, receipts, typing.
//! - [`hub`]: connections, fan-out and presence.
//! - [`ws`]: WebSocket sessions.
//! - [`hlc`]: the node's hybrid logical clock.
//! - [`limits`]: per-device rate limits.
//! - [`mesh`]: this region in a mesh: replication, forwarding, peer requests.
//! - [`error`]: the one error type of the API.
//! - [`storage`]: opening the configured store backend.
//! - [`clock`]: wall-clock time in protocol units.
//! - [`metrics`]: the Prometheus registry and `GET /metrics`.
//! - [`launcher`]: `region-node mesh`, every region of a topology on one machine.

pub mod accounts;
pub mod chat;
pub mod clock;
pub mod config;
pub mod error;
pub mod hlc;
pub mod http;
pub mod hub;
pub mod launcher;
pub mod limits;
pub mod mesh;
pub mod metrics;
pub mod server;
pub mod state;
pub mod storage;
pub mod testing;
pub mod ws;

pub use config::Config;
pub use server::{RunError, run};
