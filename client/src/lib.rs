//! The chatmesh client SDK.
//!
//! [`Client`] speaks the HTTP API of `docs/protocol.md` with typed requests
//! and answers from the `protocol` crate; every failure is a [`ClientError`]
//! that keeps the server's error code. [`ws`] speaks the WebSocket API: a
//! plain [`ws::Connection`], and a [`ws::Session`] that reconnects and
//! resumes without gaps or duplicates. The `chatmesh` CLI is built on both.
//!
//! - [`http`]: the HTTP client: plumbing, accounts, devices, users.
//! - [`chats`]: the HTTP chat endpoints.
//! - [`people`]: profile, account deletion, contacts, blocks, roles, mutes.
//! - [`ws`]: the WebSocket client.
//! - [`url`]: URL building and escaping.
//! - [`error`]: what can go wrong over HTTP.
//! - [`session`]: the CLI's saved login.
//! - [`tls`]: which server certificates are trusted for `https`/`wss`.

pub mod chats;
pub mod error;
pub mod http;
pub mod people;
pub mod session;
pub mod tls;
pub mod url;
pub mod ws;

pub use error::ClientError;
pub use http::Client;
pub use tls::Tls;
