//! Peer messages: what another region may send over the link.

use protocol::peer::{MeshDelta, PeerMessage, PeerReply, PeerRequest};

/// Decodes bytes as each kind of message a region receives from a peer.
pub fn peer_message(bytes: &[u8]) {
    crate::roundtrip::json::<PeerMessage>(bytes);
    crate::roundtrip::json::<PeerRequest>(bytes);
    crate::roundtrip::json::<PeerReply>(bytes);
    crate::roundtrip::json::<MeshDelta>(bytes);
}
