//! [`Session`] and [`ChatStream`]: a WebSocket session that survives
//! disconnects. A background task owns the connection; it reconnects with
//! backoff, resumes with `sync` from the per-chat cursors, deduplicates and
//! orders messages by `seq`, keeps the connection alive with pings, and
//! resends unanswered sends. [`Session`] is the cloneable handle for
//! sending; [`ChatStream`] yields what arrives.
//!
//! Keep reading the stream: when its buffer is full the task stops reading
//! the socket (and answering sends) until the reader catches up.

use std::collections::BTreeMap;

use protocol::chats::SendMessageResponse;
use protocol::frames::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use tokio::sync::{mpsc, oneshot};

use super::actor::Actor;
use super::auth::{self, Failure};
use super::connection::Ready;
use super::error::SessionError;
use super::options::SessionOptions;
use super::sends::SendResult;

/// What a [`ChatStream`] yields.
// Nearly every event is a frame: boxing it to shrink the rare others would
// cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A connection is ready; a `sync` from the cursors has been sent.
    Connected(Ready),
    /// A server frame. `message` frames come once each, in `seq` order per
    /// chat; `sent` and `error` frames that answer a
    /// [`Session::send_message`] go to that call instead; keepalive `pong`s
    /// are dropped; everything else passes through.
    Frame(ServerFrame),
    /// The connection was lost; the session reconnects by itself.
    Disconnected {
        /// Why the connection ended.
        reason: String,
    },
}

/// A request from a handle to the task.
pub(crate) enum Command {
    /// Send a frame now, if connected.
    Send {
        frame: ClientFrame,
        reply: oneshot::Sender<Result<(), SessionError>>,
    },
    /// Send a message and answer its `sent` or `error`.
    SendMessage {
        client_msg_id: String,
        frame: ClientFrame,
        reply: oneshot::Sender<SendResult>,
    },
    /// Answer the current cursors.
    Cursors {
        reply: oneshot::Sender<BTreeMap<String, u64>>,
    },
}

/// The sending side of a session; cheap to clone. The session stops when
/// every handle and its [`ChatStream`] are dropped.
#[derive(Clone, Debug)]
pub struct Session {
    commands: mpsc::Sender<Command>,
}

/// The receiving side of a session.
#[derive(Debug)]
pub struct ChatStream {
    events: mpsc::Receiver<Result<Event, SessionError>>,
    session: Session,
}

impl Session {
    /// Connects (refreshing the access token if it is refused) and starts
    /// the session. Fails if this first connection cannot be opened; later
    /// disconnects are retried for as long as the session lives.
    pub async fn start(options: SessionOptions) -> Result<(Session, ChatStream), SessionError> {
        let mut credentials = options.credentials.clone();
        let connection = match auth::connect(&options, &mut credentials).await {
            Ok(connection) => connection,
            Err(Failure::Fatal(error)) => return Err(error),
            Err(Failure::Transient(reason)) => return Err(SessionError::Connect(reason)),
        };
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let (events_tx, events_rx) = mpsc::channel(options.events_capacity.max(1));
        let actor = Actor::new(options, credentials, commands_rx, events_tx);
        tokio::spawn(actor.run(connection));
        let session = Session {
            commands: commands_tx,
        };
        let stream = ChatStream {
            events: events_rx,
            session: session.clone(),
        };
        Ok((session, stream))
    }

    /// Sends a frame on the current connection; [`SessionError::Disconnected`]
    /// while reconnecting. Answers arrive on the stream.
    pub async fn send(&self, frame: ClientFrame) -> Result<(), SessionError> {
        check_size(&frame)?;
        let (reply, answer) = oneshot::channel();
        self.command(Command::Send { frame, reply }).await?;
        answer.await.map_err(|_| SessionError::Closed)?
    }

    /// Sends a message and waits for its `sent` (status `sent` with the
    /// `seq`, or `accepted` while the chat's home region is unreachable) or
    /// the `error` that answers it. Survives reconnects: the send is repeated
    /// on each new connection until answered. Calling again with the same
    /// `client_msg_id` is safe and answers the same `seq`.
    pub async fn send_message(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<SendMessageResponse, SessionError> {
        self.send_reply(chat_id, client_msg_id, text, None).await
    }

    /// [`Session::send_message`] answering the message at `reply_to`.
    pub async fn send_reply(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        text: &str,
        reply_to: Option<u64>,
    ) -> Result<SendMessageResponse, SessionError> {
        let frame = ClientFrame::Send {
            chat_id: chat_id.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            text: text.to_owned(),
            reply_to,
        };
        self.send_answered(client_msg_id, frame).await
    }

    /// Replaces the text of one's message at `target_seq` (an `edit`
    /// entry); answered and repeated like [`Session::send_message`].
    pub async fn edit_message(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        target_seq: u64,
        text: &str,
    ) -> Result<SendMessageResponse, SessionError> {
        let frame = ClientFrame::Edit {
            chat_id: chat_id.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            target_seq,
            text: text.to_owned(),
        };
        self.send_answered(client_msg_id, frame).await
    }

    /// Deletes the message at `target_seq` for everyone (a `delete` entry).
    pub async fn delete_message(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        target_seq: u64,
    ) -> Result<SendMessageResponse, SessionError> {
        let frame = ClientFrame::Delete {
            chat_id: chat_id.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            target_seq,
        };
        self.send_answered(client_msg_id, frame).await
    }

    /// Adds (`on`) or removes `emoji` on the message at `target_seq` (a
    /// `reaction` entry).
    pub async fn react(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        target_seq: u64,
        emoji: &str,
        on: bool,
    ) -> Result<SendMessageResponse, SessionError> {
        let frame = ClientFrame::React {
            chat_id: chat_id.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            target_seq,
            emoji: emoji.to_owned(),
            on,
        };
        self.send_answered(client_msg_id, frame).await
    }

    /// Sends a frame answered by `sent` or `error` with `ref` =
    /// `client_msg_id`, repeated on each new connection until answered.
    async fn send_answered(
        &self,
        client_msg_id: &str,
        frame: ClientFrame,
    ) -> Result<SendMessageResponse, SessionError> {
        check_size(&frame)?;
        let (reply, answer) = oneshot::channel();
        self.command(Command::SendMessage {
            client_msg_id: client_msg_id.to_owned(),
            frame,
            reply,
        })
        .await?;
        answer.await.map_err(|_| SessionError::Closed)?
    }

    /// Each chat's cursor: the highest `seq` delivered with none missing.
    pub async fn cursors(&self) -> Result<BTreeMap<String, u64>, SessionError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::Cursors { reply }).await?;
        answer.await.map_err(|_| SessionError::Closed)
    }

    async fn command(&self, command: Command) -> Result<(), SessionError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| SessionError::Closed)
    }
}

impl ChatStream {
    /// The next event. After a fatal error (credentials refused for good)
    /// that error is returned once, then [`SessionError::Closed`].
    pub async fn next(&mut self) -> Result<Event, SessionError> {
        self.events
            .recv()
            .await
            .unwrap_or(Err(SessionError::Closed))
    }

    /// A handle for sending on this session.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// Refuses frames the server would close the connection for (1009).
fn check_size(frame: &ClientFrame) -> Result<(), SessionError> {
    let len = serde_json::to_vec(frame)
        .map_err(|e| SessionError::Invalid(e.to_string()))?
        .len();
    if len > MAX_FRAME_BYTES {
        return Err(SessionError::Invalid(format!(
            "frame of {len} bytes is over the 1 MiB limit"
        )));
    }
    Ok(())
}
