//! The end of a send held while its home was unreachable: once the home
//! has answered, the held row is cleared and, if its sender was told only
//! `accepted`, their devices here get the final `sent` (or the home's
//! refusal).

use protocol::chats::SendStatus;
use protocol::frames::ServerFrame;
use protocol::peer::{ForwardOutcome, ForwardSend};

use super::Handles;
use crate::hub::Outbound;

/// The home answered `item`: forget it, and, if its sender was told only
/// `accepted`, tell their devices here the outcome.
pub(super) async fn finish(
    handles: &Handles,
    item: &ForwardSend,
    outcome: &ForwardOutcome,
    tell: bool,
) {
    if let Err(error) = crate::chat::outbox::clear(&handles.db, &item.id).await {
        tracing::warn!(id = %item.id, %error, "cannot clear an outbox row");
    }
    if !tell {
        return;
    }
    let frame = match outcome {
        ForwardOutcome::Sequenced { seq, hlc } => ServerFrame::Sent {
            client_msg_id: item.client_msg_id.clone(),
            chat_id: item.chat_id.clone(),
            seq: *seq,
            hlc: *hlc,
            status: SendStatus::Sent,
        },
        ForwardOutcome::Rejected { code, message } => ServerFrame::Error {
            code: *code,
            message: message.clone(),
            reference: Some(item.client_msg_id.clone()),
        },
    };
    tracing::info!(chat = %item.chat_id, client_msg_id = %item.client_msg_id, "accepted send answered by its home");
    handles.hub.send_to(
        std::iter::once(item.sender_id.as_str()),
        &Outbound::frame(crate::codec::frame(&frame)),
        None,
    );
}
