//! Sends to a chat homed in another region, once the chat's core has
//! checked what it can locally (the chat exists, the sender is a member of
//! the replica): the send goes to the home through the link's outbox. The
//! sender gets `sent` with the home's `seq` when the home answers in time;
//! when it cannot be reached, the send is first held durably here and
//! answered `accepted`, shown to local members as `pending`, and forwarded
//! when the link heals (the home dedups by `client_msg_id`).

use std::time::Duration;

use chat_core::{Appended, ChatError, Recipients, Reply};
use protocol::chats::{Message, MessageKind, SendStatus};
use protocol::frames::ServerFrame;
use protocol::peer::{ForwardOutcome, ForwardSend};

use super::command::Answer;
use super::{Ctx, outbox};
use crate::hub::Outbound;

/// How long a send waits for its home before it is accepted instead.
const FORWARD_WAIT: Duration = Duration::from_secs(3);

/// Forwards `item` to `home` and answers `answer` with the outcome.
pub(super) fn spawn(
    ctx: &Ctx,
    home: String,
    item: ForwardSend,
    pending_to: Recipients,
    answer: Option<Answer>,
) {
    let Some(link) = ctx.link.clone() else {
        if let Some(answer) = answer {
            answer.send(Err(ChatError::HomeUnreachable(format!(
                "this chat is homed in region {home}, outside this node's mesh"
            ))
            .into()));
        }
        return;
    };
    let connected = link.is_connected(&home);
    let outcome = link.submit(&home, item.clone());
    let (db, hub) = (ctx.db.clone(), ctx.hub.clone());
    tokio::spawn(async move {
        let outcome = if connected {
            tokio::time::timeout(FORWARD_WAIT, outcome)
                .await
                .ok()
                .and_then(Result::ok)
        } else {
            None
        };
        let result = match outcome {
            Some(ForwardOutcome::Sequenced { seq, hlc }) => Ok(Reply::Sent(Appended {
                seq,
                hlc,
                status: SendStatus::Sent,
            })),
            Some(ForwardOutcome::Rejected { code, message }) => {
                Err(ChatError::from_code(code, message).into())
            }
            None => match outbox::hold(&db, &home, &item).await {
                Ok(()) => {
                    show_pending(&hub, &pending_to, &item);
                    tracing::info!(chat = %item.chat_id, %home, "home unreachable; send accepted");
                    Ok(Reply::Sent(Appended {
                        seq: 0,
                        hlc: item.hlc,
                        status: SendStatus::Accepted,
                    }))
                }
                Err(error) => Err(error),
            },
        };
        if let Some(answer) = answer {
            answer.send(result);
        }
    });
}

/// Shows an accepted send to the chat's members connected here.
fn show_pending(hub: &crate::hub::Hub, members: &Recipients, item: &ForwardSend) {
    let mut message = Message {
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
        ..Default::default()
    };
    if let Ok(action) = chat_core::Action::of_forward(item) {
        action.fill(&mut message);
    }
    let frame = crate::codec::frame(&ServerFrame::Pending(message));
    hub.send_to(
        members.iter().map(String::as_str),
        &Outbound::frame(frame),
        None,
    );
}
