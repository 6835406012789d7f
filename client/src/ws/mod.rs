//! The WebSocket API (`/v1/ws`).
//!
//! Two levels:
//!
//! - [`Connection`]: one connection, ready after the server's `ready`
//!   frame, with typed [`Connection::send`] / [`Connection::next`]; no
//!   reconnects. For load generators and tests that want the raw protocol.
//! - [`Session`] + [`ChatStream`]: a session that reconnects with backoff and
//!   resumes with `sync`, yielding each chat's messages once and in `seq`
//!   order, and a [`Session::send_message`] that waits for its `sent`.
//!
//! Modules:
//!
//! - [`connection`]: opening and using one connection; socket buffer sizes.
//! - [`session`]: the resuming session's handles and events.
//! - [`options`]: session settings and credentials.
//! - [`cursors`]: per-chat cursors, dedup and ordering (no I/O).
//! - [`sends`]: sends waiting for their answer (no I/O).
//! - [`error`]: connection and session errors.
//!
//! Reconnect delays follow `protocol::backoff`, as a region's dialer does.

mod actor;
mod auth;
pub mod connection;
pub mod cursors;
pub mod error;
pub mod options;
pub mod sends;
pub mod session;

pub use connection::{ConnectOptions, Connection, FrameReceiver, FrameSender, Ready};
pub use cursors::Cursors;
pub use error::{SessionError, WsError};
pub use options::{Credentials, SessionOptions};
pub use session::{ChatStream, Event, Session};
