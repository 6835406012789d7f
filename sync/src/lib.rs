//! What chatmesh regions share, with no HTTP and no chat business rules.
//!
//! - [`hlc`]: the hybrid logical clock with an injectable physical clock and
//!   a max-offset guard.
//! - [`crdt`]: state-based CRDTs (max-registers, delivered/read marks,
//!   last-writer-wins registers and maps) and automerge documents for chat
//!   metadata and user profiles.
//! - [`replication`]: the per-peer replication state machines, free of I/O:
//!   `handle(now, input) -> outputs`.
//! - [`transport`]: the QUIC shell between regions (quinn + rustls, mutual
//!   TLS with region certificates).

pub mod crdt;
pub mod hlc;
pub mod replication;
pub mod transport;
