//! Replication between regions as state machines without I/O, in the
//! manner of `quinn-proto`: the async shell feeds each machine events and
//! the time, and carries out what it returns. Nothing here reads a clock,
//! touches the network or the store, or draws random numbers, so a
//! simulation can run several regions in simulated time under loss,
//! duplication, reordering, partitions and restarts; chat-core's
//! `tests/sim` does, with the real chat cores as sequencers.
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

/// A chat message entry body with `text`, for the machines' tests.
#[cfg(test)]
pub(crate) fn test_body(chat: &str, seq: u64, text: &str) -> protocol::peer::EntryBody {
    protocol::peer::EntryBody::Message {
        message: protocol::chats::Message {
            chat_id: chat.to_owned(),
            seq,
            hlc: protocol::Hlc::new(seq, 0),
            sender_id: "u".to_owned(),
            client_msg_id: format!("m{seq}"),
            kind: protocol::chats::MessageKind::Text,
            text: text.to_owned(),
            event: None,
            user_ids: None,
            title: None,
            sent_at: seq,
            ..Default::default()
        },
        state: None,
    }
}
