//! Client frames: what a WebSocket client may send.

use protocol::frames::ClientFrame;

/// Decodes a client's text frame the way a region node does.
pub fn client_frame(bytes: &[u8]) {
    crate::roundtrip::json::<ClientFrame>(bytes);
}
