//! Replication between regions as state machines without I/O, in the
//! manner of `quinn-proto`: the async shell feeds each machine events and
//! the time, and carries out what it returns. Nothing here reads a clock,
//! touches the network or the store, or draws random numbers, so the
//! simulation tests run several regions in simulated time under loss,
//! duplication, reordering, partitions and restarts.
//!
//! Per pair of regions, each side runs:
//!
//! - a [`Shipper`] for the chats it homes: it ships their log entries to
//!   the peer, resending until the peer acks them durably;
//! - a [`Receiver`] for the chats the peer homes: it applies the peer's
//!   entries to the local replica gaplessly and exactly once, and acks them;
//! - an [`Outbox`] for its users' sends to chats the peer homes: it forwards
//!   them until the peer answers with the sequenced result.
//!
//! [`route`] tells the shell which machine an incoming [`PeerMessage`] is
//! for. Time is a [`Millis`] since a start the shell picks.
//!
//! [`PeerMessage`]: protocol::peer::PeerMessage

pub mod outbox;
pub mod receiver;
mod route;
pub mod shipper;
mod time;
mod timers;

pub use outbox::{Outbox, OutboxConfig};
pub use receiver::{Receiver, ReceiverConfig};
pub use route::{Routed, route};
pub use shipper::{Lag, Shipper, ShipperConfig};
pub use time::Millis;

#[cfg(test)]
mod sim;
