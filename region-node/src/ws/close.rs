//! WebSocket close codes of the protocol, and the close a connection gets
//! when the hub closes it.

use axum::extract::ws::CloseFrame;

use crate::hub::KillReason;

/// The node is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// A frame broke the protocol.
pub const POLICY: u16 = 1008;
/// A frame was over the size limit.
pub const TOO_BIG: u16 = 1009;
/// The device's token was revoked.
pub const REVOKED: u16 = 4001;
/// The outbound queue overflowed; resume with `sync`.
pub const SLOW_CONSUMER: u16 = 4008;
/// No frame for too long.
pub const IDLE: u16 = 4000;

/// What the writer answers a kill with.
pub fn kill_close(reason: Option<KillReason>) -> CloseFrame {
    match reason {
        Some(KillReason::Revoked) => CloseFrame {
            code: REVOKED,
            reason: "device revoked".into(),
        },
        _ => CloseFrame {
            code: SLOW_CONSUMER,
            reason: "slow consumer; reconnect and sync".into(),
        },
    }
}
