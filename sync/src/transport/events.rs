//! What the transport tells its caller, and the two hooks the caller gives it:
//! the admission check run on every new peer and the clock read for hellos.

use bytes::Bytes;
use protocol::Hlc;
use tokio::sync::oneshot;

/// A long-lived ordered stream between two regions; each has its own QUIC
/// stream, so a burst on one never delays the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The replicated chat event log.
    Log,
    /// CRDT state and deltas.
    Crdt,
    /// Replication control (acks, catch-up requests, heartbeats of the caller).
    Control,
}

impl Channel {
    /// Every channel, in tag order.
    pub const ALL: [Channel; 3] = [Channel::Log, Channel::Crdt, Channel::Control];

    /// The byte that opens this channel's stream on the wire.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Channel::Log => 1,
            Channel::Crdt => 2,
            Channel::Control => 3,
        }
    }

    /// The channel a stream's first byte names, if any.
    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.tag() == tag)
    }

    /// Position in per-channel arrays.
    pub(crate) fn index(self) -> usize {
        usize::from(self.tag() - 1)
    }
}

/// Something that happened on the mesh links of this region.
#[derive(Debug)]
pub enum TransportEvent {
    /// A connection to `peer` passed the handshake on both sides.
    PeerUp {
        /// The peer region.
        peer: String,
    },
    /// The connection to `peer` ended.
    PeerDown {
        /// The peer region.
        peer: String,
        /// Why, as quinn describes it (timeout, closed by peer, ...).
        reason: String,
    },
    /// A frame arrived on one of the ordered channels.
    Message {
        /// The peer region.
        peer: String,
        /// The channel it came on.
        channel: Channel,
        /// The caller's opaque payload.
        body: Bytes,
    },
    /// The peer asks for an answer; send it on `reply` (dropping `reply`
    /// fails the peer's request with `RequestDropped`).
    Request {
        /// The peer region.
        peer: String,
        /// The request payload.
        body: Bytes,
        /// Where the answer goes.
        reply: oneshot::Sender<Bytes>,
    },
    /// An unreliable datagram arrived.
    Datagram {
        /// The peer region.
        peer: String,
        /// The payload.
        body: Bytes,
    },
    /// A connection with `peer` was refused, by this side or by the peer:
    /// admission said no, the certificate did not match, or TLS failed.
    Refused {
        /// The peer region.
        peer: String,
        /// The reason given by whoever refused.
        reason: String,
    },
}

/// Decides whether a peer that completed TLS may join, given its clock.
/// Called once per connection on each side with the peer's hello.
pub trait Admission: Send + Sync + 'static {
    /// `Ok` admits the peer; `Err(reason)` closes the connection, and the
    /// reason is shown to both sides.
    fn admit(&self, peer: &str, peer_hlc: Hlc) -> Result<(), String>;
}

impl<F> Admission for F
where
    F: Fn(&str, Hlc) -> Result<(), String> + Send + Sync + 'static,
{
    fn admit(&self, peer: &str, peer_hlc: Hlc) -> Result<(), String> {
        self(peer, peer_hlc)
    }
}

/// Admits every peer with a valid certificate.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdmitAll;

impl Admission for AdmitAll {
    fn admit(&self, _peer: &str, _peer_hlc: Hlc) -> Result<(), String> {
        Ok(())
    }
}

/// The region's current hybrid logical clock reading, sent in hellos.
pub trait HlcSource: Send + Sync + 'static {
    /// A fresh timestamp.
    fn now(&self) -> Hlc;
}

impl<F> HlcSource for F
where
    F: Fn() -> Hlc + Send + Sync + 'static,
{
    fn now(&self) -> Hlc {
        self()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_tags_round_trip_and_index_densely() {
        for (i, c) in Channel::ALL.into_iter().enumerate() {
            assert_eq!(Channel::from_tag(c.tag()), Some(c));
            assert_eq!(c.index(), i);
        }
        assert_eq!(Channel::from_tag(0), None);
        assert_eq!(Channel::from_tag(4), None);
    }

    #[test]
    fn closures_serve_as_hooks() {
        let admit = |peer: &str, hlc: Hlc| {
            if hlc.millis() > 10 {
                Err(format!("{peer} too far ahead"))
            } else {
                Ok(())
            }
        };
        assert!(admit.admit("eu", Hlc::new(5, 0)).is_ok());
        assert_eq!(
            admit.admit("eu", Hlc::new(50, 0)),
            Err("eu too far ahead".to_string())
        );
        let clock = || Hlc::new(7, 1);
        assert_eq!(HlcSource::now(&clock), Hlc::new(7, 1));
    }
}
