//! The chatmesh region node: one process that serves a whole region on the
//! embedded defaults (HTTP API, WebSocket sessions, the chat domain and
//! replication between regions).
//!
//! [`run`] is the entry point: it takes a bound listener and a shutdown
//! signal, so the binary, the tests and simulators all start a node the same
//! way (tests bind port 0).
//!
//! ## Layers
//!
//! Each layer imports only from the layers below it; there is no module
//! circle (`shared/tools/module-circles region-node/src` checks it):
//!
//! ```text
//! server                       wiring: start-up, serving, draining shutdown
//! http, ws, error              edges: decode, authorize, encode; ApiError lives here
//! state                        the bundle of handles the edges share (AppState)
//! replica, presence_rule       replication driver, replicated apply, peer requests, deltas;
//!                              who may see whose presence (chats and contacts)
//! chat, accounts, media        domain: chat tasks around chat-core, membership, marks, profiles;
//!                              uploaded images and files
//! hub                          connections, presence, the fan-out sink
//! link                         handle to other regions (QUIC transport, typed peer messages)
//! config, clock, codec, hlc,   leaves
//! limits, metrics, storage,
//! launcher, tls
//! ```
//!
//! - [`server`]: start-up, serving and draining shutdown; [`state`]: the
//!   handles the edges share. `state` sits below the edges (every handler
//!   takes it) and above the domain, whose handles it bundles.
//! - [`http`]: the HTTP API; [`ws`]: WebSocket sessions; [`error`]: the
//!   one error type of the API.
//! - [`replica`]: this region's side of replication between regions.
//! - [`presence_rule`]: who may see whose presence, from both domains.
//! - [`chat`]: chats, membership, the per-chat task, receipts, typing.
//! - [`accounts`]: accounts, devices and tokens.
//! - [`media`]: uploaded images and files, their blobs and metadata.
//! - [`hub`]: connections, fan-out and presence.
//! - [`link`]: the handle on the other regions of the mesh.
//! - [`config`]: flags, environment and TOML merged into a validated [`Config`].
//! - [`codec`]: frames and stored records as bytes.
//! - [`hlc`]: the node's hybrid logical clock; [`clock`]: wall-clock time.
//! - [`limits`]: per-device rate limits; [`metrics`]: Prometheus metrics.
//! - [`storage`]: opening the configured store backend.
//! - [`tls`]: HTTPS and WSS on the client edge, and development certificates.
//! - [`launcher`]: `region-node mesh`, every region of a topology on one machine.

pub mod accounts;
pub mod chat;
pub mod clock;
pub mod codec;
pub mod config;
pub mod error;
pub mod hlc;
pub mod http;
pub mod hub;
pub mod launcher;
pub mod limits;
pub mod link;
pub mod media;
pub mod metrics;
pub mod presence_rule;
pub mod replica;
pub mod server;
pub mod state;
pub mod storage;
pub mod tls;
pub mod ws;

pub use config::Config;
pub use server::{RunError, run};
