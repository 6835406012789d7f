//! Sends to a chat homed in another region. The chat task checks what it
//! can locally (the chat exists, the sender is a member of the replica),
//! then hands each send to the mesh outbox, which forwards it to the home.
//! The sender gets `sent` with the home's `seq` when the home answers in
//! time; when it cannot be reached, the send is first held durably here and
//! answered `accepted`, shown to local members as `pending`, and forwarded
//! when the link heals (the home dedups by `client_msg_id`).

use std::time::Duration;

use protocol::ErrorCode;
use protocol::chats::{Message, MessageKind, SendStatus};
use protocol::frames::ServerFrame;
use protocol::peer::{ForwardOutcome, ForwardSend};

use super::{Appended, ChatTask, PendingAppend};
use crate::error::ApiError;
use crate::hub::Outbound;
use crate::mesh::outbox;

/// How long a send waits for its home before it is accepted instead.
const FORWARD_WAIT: Duration = Duration::from_secs(3);

impl ChatTask {
    /// Forwards sends to the chat's home region.
    pub(super) async fn forward(&mut self, appends: Vec<PendingAppend>) {
        let home = self.record.home_region.clone();
        let Some(mesh) = self.ctx.mesh.clone() else {
            for (_, _, _, _, reply) in appends {
                let _ = reply.send(Err(ApiError::new(
                    ErrorCode::HomeUnreachable,
                    format!("this chat is homed in region {home}, outside this node's mesh"),
                )));
            }
            return;
        };
        for (author, client_msg_id, text, _, reply) in appends {
            if self.record.deleted {
                let _ = reply.send(Err(ApiError::not_found("chat was deleted")));
                continue;
            }
            if !self.is_current(&author) {
                let _ = reply.send(Err(ApiError::new(
                    ErrorCode::NotMember,
                    "not a member of this chat",
                )));
                continue;
            }
            let item = ForwardSend {
                id: format!("f_{}", uuid::Uuid::now_v7().simple()),
                chat_id: self.record.chat_id.clone(),
                sender_id: author,
                device_id: String::new(),
                client_msg_id,
                text,
                hlc: self.ctx.hlc.now(),
            };
            let connected = mesh.is_connected(&home);
            let answer = mesh.submit(&home, item.clone());
            let members: Vec<String> = self.current_members().map(str::to_owned).collect();
            let (db, hub, home) = (self.ctx.db.clone(), self.ctx.hub.clone(), home.clone());
            tokio::spawn(async move {
                let outcome = if connected {
                    tokio::time::timeout(FORWARD_WAIT, answer)
                        .await
                        .ok()
                        .and_then(Result::ok)
                } else {
                    None
                };
                let result = match outcome {
                    Some(ForwardOutcome::Sequenced { seq, hlc }) => Ok(Appended {
                        seq,
                        hlc,
                        status: SendStatus::Sent,
                    }),
                    Some(ForwardOutcome::Rejected { code, message }) => {
                        Err(ApiError::new(error_code(&code), message))
                    }
                    None => match outbox::hold(&db, &home, &item).await {
                        Ok(()) => {
                            show_pending(&hub, &members, &item);
                            tracing::info!(chat = %item.chat_id, %home, "home unreachable; send accepted");
                            Ok(Appended {
                                seq: 0,
                                hlc: item.hlc,
                                status: SendStatus::Accepted,
                            })
                        }
                        Err(error) => Err(error),
                    },
                };
                let _ = reply.send(result);
            });
        }
    }
}

/// Shows an accepted send to the chat's members connected here.
fn show_pending(hub: &crate::hub::Hub, members: &[String], item: &ForwardSend) {
    let message = Message {
        chat_id: item.chat_id.clone(),
        seq: 0,
        hlc: item.hlc,
        sender_id: item.sender_id.clone(),
        client_msg_id: item.client_msg_id.clone(),
        kind: MessageKind::Text,
        text: item.text.clone(),
        event: None,
        user_ids: None,
        title: None,
        sent_at: item.hlc.millis(),
    };
    let frame = crate::ws::encode(&ServerFrame::Pending(message));
    hub.send_to(
        members.iter().map(String::as_str),
        &Outbound::frame(frame),
        None,
    );
}

/// An error code as a peer wrote it.
pub(crate) fn error_code(code: &str) -> ErrorCode {
    serde_json::from_value(serde_json::Value::String(code.to_owned()))
        .unwrap_or(ErrorCode::Internal)
}
