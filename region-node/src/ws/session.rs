//! One WebSocket connection: `ready`, then frames in, actions out.
//!
//! The connection registers with the hub before anything else, so no
//! message committed after `ready` can slip past it; the writer then keeps
//! each chat gapless and duplicate-free (see [`super::writer`]).
//!
//! The reading half hands the writer what it needs to write through a
//! bounded queue. Each frame takes its answer's place in the queue before
//! it is acted on, so frames are answered in the order they came, and a
//! client that sends faster than it reads is slowed down (the reader stops
//! reading) rather than losing answers; but the reader waits for room at
//! most [`WRITE_STALL`]: a client that never reads is then closed as a
//! slow consumer. However the session ends
//! (a close, an error, a panic), its registration is dropped: the
//! connection stops counting and its user may go offline.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use chat_core::Action;
use futures::StreamExt as _;
use protocol::ErrorCode;
use protocol::frames::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use super::close;
use super::frames::{checked, transport_too_big};
use super::writer::{Local, Writer};
use crate::accounts::Principal;
use crate::chat::Draft;
use crate::codec::frame as encode;
use crate::error::ApiError;
use crate::hub::{Hub, KillReason, KillSwitch};
use crate::limits::WRITE_STALL;
use crate::metrics::Metrics;
use crate::presence_rule::{Watcher, may_see_presence};
use crate::state::AppState;

/// A connection with no frame from the client for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests the reading half may have handed the writer and not yet seen
/// written.
const LOCAL_QUEUE: usize = 256;

/// Serves one connection until it closes.
pub async fn run(state: AppState, who: Principal, socket: WebSocket) {
    let span = tracing::info_span!("ws", user = %who.user_id, device = %who.device_id);
    serve(state, who, socket).instrument(span).await;
}

/// The connection's place in the hub and the metrics, given back when
/// dropped: on every way out of the session, a panic included.
struct Registered {
    hub: Hub,
    metrics: Metrics,
    user: String,
    conn_id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.hub.unregister(&self.user, self.conn_id);
        self.metrics.ws_disconnected();
        tracing::debug!("disconnected");
    }
}

/// The reading half's way to the writer.
#[derive(Clone)]
struct ToWriter {
    tx: mpsc::Sender<Box<Local>>,
    switch: KillSwitch,
}

/// Where the answer to one client frame goes: its place in the writer's
/// queue is taken when the frame is read, so answers keep the frames'
/// order however long each takes.
struct Slot(oneshot::Sender<axum::body::Bytes>);

impl Slot {
    fn frame(self, frame: &ServerFrame) {
        let _ = self.0.send(encode(frame));
    }

    fn error(self, error: impl Into<ApiError>, reference: Option<String>) {
        let error = error.into();
        self.frame(&ServerFrame::Error {
            code: error.code,
            message: error.message,
            reference,
        });
    }
}

impl ToWriter {
    /// Hands `local` to the writer, waiting for room at most
    /// [`WRITE_STALL`]: past that the connection closes as a slow
    /// consumer. False if it was not handed over.
    async fn push(&self, local: Local) -> bool {
        let reserve = tokio::time::timeout(WRITE_STALL, self.tx.reserve());
        tokio::select! {
            reserved = reserve => match reserved {
                Ok(Ok(permit)) => {
                    permit.send(Box::new(local));
                    true
                }
                Ok(Err(_closed)) => false,
                Err(_stalled) => {
                    self.switch.trip(KillReason::SlowConsumer);
                    false
                }
            },
            () = self.switch.tripped() => false,
        }
    }

    /// The place of the answer to the frame just read.
    async fn slot(&self) -> Option<Slot> {
        let (tx, rx) = oneshot::channel();
        self.push(Local::Answer(rx)).await.then_some(Slot(tx))
    }

    async fn frame(&self, frame: &ServerFrame) {
        self.push(Local::Frame(encode(frame))).await;
    }

    async fn error(&self, error: impl Into<ApiError>, reference: Option<String>) {
        let error = error.into();
        self.frame(&ServerFrame::Error {
            code: error.code,
            message: error.message,
            reference,
        })
        .await;
    }
}

async fn serve(state: AppState, who: Principal, socket: WebSocket) {
    let registration = state.hub.register(&who.user_id, &who.device_id);
    state.metrics.ws_connected();
    let _registered = Registered {
        hub: state.hub.clone(),
        metrics: state.metrics.clone(),
        user: who.user_id.clone(),
        conn_id: registration.conn_id,
    };
    let conn_id = registration.conn_id;
    let (sink, mut stream) = socket.split();
    let (local_tx, local_rx) = mpsc::channel::<Box<Local>>(LOCAL_QUEUE);
    let to_writer = ToWriter {
        tx: local_tx,
        switch: registration.switch(),
    };
    to_writer
        .frame(&ServerFrame::Ready {
            user_id: who.user_id.clone(),
            device_id: who.device_id.clone(),
            region: state.config.region.clone(),
            hlc: state.hlc.now(),
        })
        .await;
    let writer = Writer::new(state.clone(), who.clone(), sink);
    let kill = registration.kill.clone();
    let writer_task = tokio::spawn(writer.run(registration, local_rx).in_current_span());
    tracing::debug!("connected");

    let shutdown = state.shutdown.clone();
    let close_with = loop {
        let next = tokio::select! {
            () = kill.cancelled() => break None,
            () = shutdown.cancelled() => break Some((close::GOING_AWAY, "server shutting down")),
            () = to_writer.tx.closed() => break None,
            next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
        };
        let message = match next {
            Err(_) => break Some((close::IDLE, "idle timeout")),
            Ok(None) => break None,
            Ok(Some(Err(error))) if transport_too_big(&error) => {
                break Some((close::TOO_BIG, "frame is over 1 MiB"));
            }
            Ok(Some(Err(_))) => break None,
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            WsMessage::Text(text) => text,
            WsMessage::Binary(bytes) if bytes.len() > MAX_FRAME_BYTES => {
                break Some((close::TOO_BIG, "frame is over 1 MiB"));
            }
            WsMessage::Binary(_) => {
                to_writer
                    .error(
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
        match checked(text.as_str()) {
            Ok(frame) => {
                // Boxed: the handler's state would otherwise sit inside every
                // idle connection's future.
                Box::pin(handle(&state, &who, conn_id, &to_writer, frame)).await;
            }
            Err(error) => to_writer.error(error, None).await,
        }
    };
    let close = Local::Close(close_with.map(|(code, reason)| CloseFrame {
        code,
        reason: reason.into(),
    }));
    if to_writer.tx.try_send(Box::new(close)).is_err() {
        // The queue is full or the writer gone: the kill ends it either way.
        to_writer.switch.trip(KillReason::SlowConsumer);
    }
    drop(to_writer);
    if let Ok(registration) = writer_task.await
        && let Some(reason) = registration.kill_reason()
    {
        tracing::info!(?reason, "closed by the server");
    }
}

async fn handle(
    state: &AppState,
    who: &Principal,
    conn_id: u64,
    out: &ToWriter,
    frame: ClientFrame,
) {
    let frame = match frame {
        ClientFrame::Sync { cursors } => {
            out.push(Local::Sync(cursors)).await;
            return;
        }
        ClientFrame::PresenceSubscribe { user_ids } => {
            subscribe(state, who, conn_id, out, user_ids).await;
            return;
        }
        answered => answered,
    };
    // The answer's place is taken before the frame is acted on.
    let Some(slot) = out.slot().await else {
        return;
    };
    match frame {
        ClientFrame::Send {
            chat_id,
            client_msg_id,
            text,
            reply_to,
        } => {
            let action = Action::Text { reply_to };
            write(state, who, slot, chat_id, client_msg_id, text, action).await;
        }
        ClientFrame::Edit {
            chat_id,
            client_msg_id,
            target_seq,
            text,
        } => {
            let action = Action::Edit { target_seq };
            write(state, who, slot, chat_id, client_msg_id, text, action).await;
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
                slot,
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
                slot,
                chat_id,
                client_msg_id,
                String::new(),
                action,
            )
            .await;
        }
        ClientFrame::Ack { chat_id, seq } => marks(state, who, slot, chat_id, seq, 0),
        ClientFrame::Read { chat_id, seq } => marks(state, who, slot, chat_id, seq, seq),
        ClientFrame::Typing { chat_id, active } => {
            if let Err(wait) = state.limits.check_typing(&who.device_id) {
                slot.error(ApiError::rate_limited(wait), Some(chat_id));
                return;
            }
            match state.chats.typing(&who.user_id, &chat_id, active).await {
                Ok(answer) => {
                    tokio::spawn(async move {
                        if let Ok(Err(e)) = answer.await {
                            slot.error(e, Some(chat_id));
                        }
                    });
                }
                Err(e) => slot.error(e, Some(chat_id)),
            }
        }
        ClientFrame::Ping { nonce } => slot.frame(&ServerFrame::Pong { nonce }),
        // Handled above, without an answer of their own here.
        ClientFrame::Sync { .. } | ClientFrame::PresenceSubscribe { .. } => {}
    }
}

/// A user's write into a chat (a message, an edit, a delete, a reaction):
/// sequenced by the chat's task, which hands the answer over itself, into
/// the reserved place, without a task per write waiting for it.
async fn write(
    state: &AppState,
    who: &Principal,
    slot: Slot,
    chat_id: String,
    client_msg_id: String,
    text: String,
    action: Action,
) {
    if state.limits.check_send(&who.device_id).is_err() {
        slot.error(
            ApiError::new(ErrorCode::RateLimited, "sending too fast; slow down"),
            Some(client_msg_id),
        );
        return;
    }
    let metrics = state.metrics.clone();
    let (chat, key) = (chat_id.clone(), client_msg_id.clone());
    // Whichever answers first (the task, or a refusal here) takes it.
    let slot_cell = std::sync::Arc::new(std::sync::Mutex::new(Some(slot)));
    let held = slot_cell.clone();
    let then = move |outcome: Result<chat_core::Appended, crate::chat::Error>| {
        let Some(slot) = held.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        match outcome {
            Ok(appended) => {
                metrics.message_sent();
                slot.frame(&ServerFrame::Sent {
                    client_msg_id: key,
                    chat_id: chat,
                    seq: appended.seq,
                    hlc: appended.hlc,
                    status: appended.status,
                });
            }
            Err(e) => slot.error(e, Some(key)),
        }
    };
    let draft = Draft {
        client_msg_id: &client_msg_id,
        text: &text,
        action,
    };
    if let Err(e) = state
        .chats
        .send_then(&who.user_id, &chat_id, draft, false, then)
        .await
    {
        let slot = slot_cell.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(slot) = slot {
            slot.error(e, Some(client_msg_id));
        }
    }
}

/// Subscribes to the users the caller may see; the others are named in
/// one `forbidden` error.
async fn subscribe(
    state: &AppState,
    who: &Principal,
    conn_id: u64,
    out: &ToWriter,
    user_ids: Vec<String>,
) {
    let reference = Some("presence_subscribe".to_owned());
    let limit = state.config.presence_subscriptions;
    if state.hub.presence.would_exceed(conn_id, &user_ids, limit) {
        out.error(
            ApiError::new(
                ErrorCode::TooLarge,
                format!("a connection may watch at most {limit} users"),
            ),
            reference,
        )
        .await;
        return;
    }
    let watcher = match Watcher::load(state.chats.db(), &who.user_id).await {
        Ok(watcher) => watcher,
        Err(e) => {
            out.error(e, reference).await;
            return;
        }
    };
    let mut visible = Vec::with_capacity(user_ids.len());
    let mut hidden = Vec::new();
    for user in user_ids {
        match may_see_presence(state.chats.db(), &watcher, &user).await {
            Ok(true) => visible.push(user),
            Ok(false) => hidden.push(user),
            Err(e) => {
                out.error(e, reference).await;
                return;
            }
        }
    }
    if !hidden.is_empty() {
        let shown: Vec<&str> = hidden.iter().take(5).map(String::as_str).collect();
        let more = hidden.len().saturating_sub(shown.len());
        let message = format!(
            "presence is visible only to people who share a chat or are among the user's contacts: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        out.error(
            ApiError::new(ErrorCode::Forbidden, message),
            reference.clone(),
        )
        .await;
    }
    if !visible.is_empty() {
        out.push(Local::Presence(conn_id, visible)).await;
    }
}

fn marks(
    state: &AppState,
    who: &Principal,
    slot: Slot,
    chat_id: String,
    delivered: u64,
    read: u64,
) {
    let (chats, user) = (state.chats.clone(), who.user_id.clone());
    tokio::spawn(async move {
        if let Err(e) = chats.marks(&user, &chat_id, delivered, read).await {
            slot.error(e, Some(chat_id));
        }
    });
}
