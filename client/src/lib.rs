//! The chatmesh client SDK.
//!
//! [`Client`] speaks the HTTP API of `docs/protocol.md` with typed requests
//! and answers from the `protocol` crate; every failure is a [`ClientError`]
//! that keeps the server's error code. The `chatmesh` CLI is built on it.
//!
//! - [`http`]: the HTTP client.
//! - [`error`]: what can go wrong.
//! - [`session`]: the CLI's saved login.

pub mod error;
pub mod http;
pub mod session;

pub use error::ClientError;
pub use http::Client;
