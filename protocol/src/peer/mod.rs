//! Messages between regions.
//!
//! - [`log`]: log replication from a log's home region to its replicas, and
//!   sends forwarded to a chat's home on behalf of users connected elsewhere.
//! - [`requests`]: requests one region makes of another (one QUIC stream
//!   each) and their typed answers.
//! - [`deltas`]: state other regions merge as it arrives (receipts, typing,
//!   profiles, group metadata, presence).

pub mod deltas;
pub mod log;
pub mod requests;

pub use deltas::MeshDelta;
pub use log::{EntryBody, ForwardOutcome, ForwardResult, ForwardSend, LogEntry, PeerMessage};
pub use requests::{ChatChange, PeerReply, PeerRequest};
