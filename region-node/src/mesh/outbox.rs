//! Sends held durably while their chat's home is unreachable: written
//! before the sender hears `accepted`, handed to the outbox machine again
//! after a restart, and deleted once the home has answered, when the
//! sender's devices get the final `sent` (or the home's refusal).

use protocol::chats::SendStatus;
use protocol::frames::ServerFrame;
use protocol::peer::{ForwardOutcome, ForwardSend};
use serde::{Deserialize, Serialize};
use store::tuple::pack;
use store::{Database, RangeOption};

use crate::accounts::records::{decode, encode};
use crate::chat::sequencer::error_code;
use crate::error::ApiError;
use crate::hub::Outbound;
use crate::state::AppState;

/// A held send and the region it goes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    /// The chat's home region.
    pub home: String,
    /// The send.
    pub item: ForwardSend,
}

fn key(id: &str) -> Vec<u8> {
    pack(&("outbox", id))
}

/// Holds a send durably (idempotent).
pub async fn hold(db: &Database, home: &str, item: &ForwardSend) -> Result<(), ApiError> {
    let row = encode(&Held {
        home: home.to_owned(),
        item: item.clone(),
    });
    let key = key(&item.id);
    db.run(|tx| {
        let (key, row) = (key.clone(), row.clone());
        async move {
            tx.set(&key, &row);
            Ok::<_, ApiError>(())
        }
    })
    .await
}

/// Every held send, in the order they were accepted.
pub async fn load(db: &Database) -> Result<Vec<Held>, ApiError> {
    let tx = db.begin();
    let mut rows = Vec::new();
    for (_, value) in tx
        .get_range(RangeOption::subspace(&pack(&("outbox",))))
        .await?
    {
        rows.push(decode::<Held>(&value)?);
    }
    rows.sort_by_key(|r| r.item.hlc);
    Ok(rows)
}

/// The home answered `item`: forget it, and, if its sender was told only
/// `accepted`, tell their devices here the outcome.
pub async fn finish(state: &AppState, item: &ForwardSend, outcome: &ForwardOutcome, tell: bool) {
    let key = key(&item.id);
    let cleared = state
        .db
        .run(|tx| {
            let key = key.clone();
            async move {
                tx.clear(&key);
                Ok::<_, ApiError>(())
            }
        })
        .await;
    if let Err(error) = cleared {
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
            code: error_code(code),
            message: message.clone(),
            reference: Some(item.client_msg_id.clone()),
        },
    };
    tracing::info!(chat = %item.chat_id, client_msg_id = %item.client_msg_id, "accepted send answered by its home");
    state.hub.send_to(
        std::iter::once(item.sender_id.as_str()),
        &Outbound::frame(crate::ws::encode(&frame)),
        None,
    );
}
