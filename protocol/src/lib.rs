//! The chatmesh client protocol, version 1, as Rust types.
//!
//! Every HTTP body and every WebSocket frame that clients and servers
//! exchange is defined here, with serde derives and no I/O, so the server, the
//! SDK, the CLI and the test harnesses agree on one set of names, as is the
//! reconnect schedule every dialer of the protocol follows. The
//! contract these types implement is written down in `docs/protocol.md`.
//!
//! - [`error`]: the error body and its stable codes.
//! - [`auth`]: accounts, logins, tokens and devices.
//! - [`users`]: public profiles and the caller's own account.
//! - [`chats`]: chats, members, messages and history.
//! - [`media`]: uploaded images and files.
//! - [`frames`]: WebSocket frames in both directions.
//! - [`hlc`]: the wire form of hybrid logical clock timestamps.
//! - [`peer`]: messages between regions (log replication, forwarded sends,
//!   requests, mergeable deltas).
//! - [`records`]: chat and account records regions keep and replicate.
//! - [`backoff`]: the reconnect delays of clients and regions (no I/O).

pub mod auth;
pub mod backoff;
pub mod chats;
pub mod error;
pub mod frames;
pub mod hlc;
pub mod media;
pub mod peer;
pub mod records;
pub mod users;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use hlc::Hlc;
