//! One WebSocket connection: `ready`, then frames in, actions out.
//!
//! The connection registers with the hub before anything else, so no
//! message committed after `ready` can slip past it; the writer then keeps
//! each chat gapless and duplicate-free (see [`super::writer`]).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use chat_core::Action;
use futures::StreamExt as _;
use protocol::ErrorCode;
use protocol::frames::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::close;
use super::writer::{Local, Writer};
use crate::accounts::Principal;
use crate::chat::Draft;
use crate::codec::frame as encode;
use crate::error::ApiError;
use crate::state::AppState;

/// A connection with no frame from the client for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one connection until it closes.
pub async fn run(state: AppState, who: Principal, socket: WebSocket) {
    let span = tracing::info_span!("ws", user = %who.user_id, device = %who.device_id);
    serve(state, who, socket).instrument(span).await;
}

async fn serve(state: AppState, who: Principal, socket: WebSocket) {
    let registration = state.hub.register(&who.user_id, &who.device_id);
    state.metrics.ws_connected();
    let conn_id = registration.conn_id;
    let (sink, mut stream) = socket.split();
    let (local_tx, local_rx) = mpsc::channel::<Box<Local>>(256);
    let ready = ServerFrame::Ready {
        user_id: who.user_id.clone(),
        device_id: who.device_id.clone(),
        region: state.config.region.clone(),
        hlc: state.hlc.now(),
    };
    let _ = local_tx.send(Box::new(Local::Frame(encode(&ready)))).await;
    let writer = Writer::new(state.clone(), who.clone(), sink);
    let kill = registration.kill.clone();
    let writer_task = tokio::spawn(writer.run(registration, local_rx).in_current_span());
    tracing::debug!("connected");

    let shutdown = state.shutdown.clone();
    let close_with = loop {
        let next = tokio::select! {
            () = kill.cancelled() => break None,
            () = shutdown.cancelled() => break Some((close::GOING_AWAY, "server shutting down")),
            next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
        };
        let message = match next {
            Err(_) => break Some((close::IDLE, "idle timeout")),
            Ok(None) | Ok(Some(Err(_))) => break None,
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            WsMessage::Text(text) => text,
            WsMessage::Binary(_) => {
                reply_error(
                    &local_tx,
                    ApiError::bad_request("binary frames are not part of the protocol"),
                    None,
                )
                .await;
                continue;
            }
            WsMessage::Close(_) => break None,
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
        };
        if text.len() > MAX_FRAME_BYTES {
            break Some((close::TOO_BIG, "frame is over 1 MiB"));
        }
        let frame: ClientFrame = match serde_json::from_str(text.as_str()) {
            Ok(frame) => frame,
            Err(e) => {
                reply_error(
                    &local_tx,
                    ApiError::bad_request(format!("malformed frame: {e}")),
                    None,
                )
                .await;
                continue;
            }
        };
        // Boxed: the handler's state would otherwise sit inside every idle
        // connection's future.
        Box::pin(handle(&state, &who, conn_id, &local_tx, frame)).await;
    };
    let _ = local_tx
        .send(Box::new(Local::Close(close_with.map(|(code, reason)| {
            CloseFrame {
                code,
                reason: reason.into(),
            }
        }))))
        .await;
    drop(local_tx);
    let registration = writer_task.await.ok();
    if let Some(reason) = registration.as_ref().and_then(|r| r.kill_reason()) {
        tracing::info!(?reason, "closed by the server");
    }
    state.hub.unregister(&who.user_id, conn_id);
    state.metrics.ws_disconnected();
    tracing::debug!("disconnected");
}

/// Queues `local` for the writer without waiting: when the queue is full
/// (the writer is behind), a task waits for room.
fn queue(to: &mpsc::Sender<Box<Local>>, local: Local) {
    if let Err(mpsc::error::TrySendError::Full(local)) = to.try_send(Box::new(local)) {
        let to = to.clone();
        tokio::spawn(async move {
            let _ = to.send(local).await;
        });
    }
}

async fn reply_error(
    local: &mpsc::Sender<Box<Local>>,
    error: impl Into<ApiError>,
    reference: Option<String>,
) {
    let error = error.into();
    let frame = ServerFrame::Error {
        code: error.code,
        message: error.message,
        reference,
    };
    let _ = local.send(Box::new(Local::Frame(encode(&frame)))).await;
}

async fn handle(
    state: &AppState,
    who: &Principal,
    conn_id: u64,
    local: &mpsc::Sender<Box<Local>>,
    frame: ClientFrame,
) {
    match frame {
        ClientFrame::Send {
            chat_id,
            client_msg_id,
            text,
            reply_to,
        } => {
            let action = Action::Text { reply_to };
            write(state, who, local, chat_id, client_msg_id, text, action).await;
        }
        ClientFrame::Edit {
            chat_id,
            client_msg_id,
            target_seq,
            text,
        } => {
            let action = Action::Edit { target_seq };
            write(state, who, local, chat_id, client_msg_id, text, action).await;
        }
        ClientFrame::Delete {
            chat_id,
            client_msg_id,
            target_seq,
        } => {
            let action = Action::Delete { target_seq };
            write(
                state,
                who,
                local,
                chat_id,
                client_msg_id,
                String::new(),
                action,
            )
            .await;
        }
        ClientFrame::React {
            chat_id,
            client_msg_id,
            target_seq,
            emoji,
            on,
        } => {
            let action = Action::React {
                target_seq,
                emoji,
                on,
            };
            write(
                state,
                who,
                local,
                chat_id,
                client_msg_id,
                String::new(),
                action,
            )
            .await;
        }
        ClientFrame::Ack { chat_id, seq } => marks(state, who, local, chat_id, seq, 0),
        ClientFrame::Read { chat_id, seq } => marks(state, who, local, chat_id, seq, seq),
        ClientFrame::Typing { chat_id, active } => {
            match state.chats.typing(&who.user_id, &chat_id, active).await {
                Ok(answer) => {
                    let local = local.clone();
                    tokio::spawn(async move {
                        if let Ok(Err(e)) = answer.await {
                            reply_error(&local, e, Some(chat_id)).await;
                        }
                    });
                }
                Err(e) => reply_error(local, e, Some(chat_id)).await,
            }
        }
        ClientFrame::Sync { cursors } => {
            let _ = local.send(Box::new(Local::Sync(cursors))).await;
        }
        ClientFrame::PresenceSubscribe { user_ids } => {
            if user_ids.len() > 1000 {
                reply_error(
                    local,
                    ApiError::new(ErrorCode::TooLarge, "at most 1000 users per subscription"),
                    None,
                )
                .await;
                return;
            }
            let _ = local
                .send(Box::new(Local::Presence(conn_id, user_ids)))
                .await;
        }
        ClientFrame::Ping { nonce } => {
            let _ = local
                .send(Box::new(Local::Frame(encode(&ServerFrame::Pong { nonce }))))
                .await;
        }
    }
}

fn marks(
    state: &AppState,
    who: &Principal,
    local: &mpsc::Sender<Box<Local>>,
    chat_id: String,
    delivered: u64,
    read: u64,
) {
    let (chats, user, local) = (state.chats.clone(), who.user_id.clone(), local.clone());
    tokio::spawn(async move {
        if let Err(e) = chats.marks(&user, &chat_id, delivered, read).await {
            reply_error(&local, e, Some(chat_id)).await;
        }
    });
}

/// A text message or an action on one (edit, delete, reaction): queued in
/// the chat's order, answered by `sent` or `error` with `ref`.
async fn write(
    state: &AppState,
    who: &Principal,
    local: &mpsc::Sender<Box<Local>>,
    chat_id: String,
    client_msg_id: String,
    text: String,
    action: Action,
) {
    if state.limits.check_send(&who.device_id).is_err() {
        reply_error(
            local,
            ApiError::new(ErrorCode::RateLimited, "sending too fast; slow down"),
            Some(client_msg_id),
        )
        .await;
        return;
    }
    // The chat's task queues the answer itself, without a task
    // per send waiting for it.
    let answer_to = local.clone();
    let metrics = state.metrics.clone();
    let (chat, key) = (chat_id.clone(), client_msg_id.clone());
    let then = move |outcome: Result<chat_core::Appended, crate::chat::Error>| {
        let frame = match outcome {
            Ok(appended) => {
                metrics.message_sent();
                ServerFrame::Sent {
                    client_msg_id: key,
                    chat_id: chat,
                    seq: appended.seq,
                    hlc: appended.hlc,
                    status: appended.status,
                }
            }
            Err(e) => {
                let e = ApiError::from(e);
                ServerFrame::Error {
                    code: e.code,
                    message: e.message,
                    reference: Some(key),
                }
            }
        };
        queue(&answer_to, Local::Frame(encode(&frame)));
    };
    match state
        .chats
        .send_then(
            &who.user_id,
            &chat_id,
            Draft {
                client_msg_id: &client_msg_id,
                text: &text,
                action,
            },
            false,
            then,
        )
        .await
    {
        Ok(()) => {}
        Err(e) => reply_error(local, e, Some(client_msg_id)).await,
    }
}
