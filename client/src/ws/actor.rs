//! The task behind a [`Session`](super::Session): owns the connection,
//! drives [`Cursors`] and [`PendingSends`] with what arrives, and
//! reconnects with backoff when the connection is lost.

use protocol::backoff::Backoff;
use protocol::frames::{ClientFrame, ServerFrame};
use tokio::sync::mpsc;
use tokio::time::{Instant, interval_at};

use super::auth::{self, Failure};
use super::connection::Connection;
use super::cursors::Cursors;
use super::error::{SessionError, WsError};
use super::options::{Credentials, SessionOptions};
use super::sends::PendingSends;
use super::session::{Command, Event};
use crate::chats::HistoryQuery;
use crate::http::Client;

/// Largest history page the server hands out.
const HISTORY_PAGE: u64 = 500;

/// True for the frames that end a `sync` replay: `synced`, or the `error`
/// that answers the `sync` (its `ref` is `"sync"`).
fn is_end_of_replay(frame: &ServerFrame) -> bool {
    match frame {
        ServerFrame::Synced { .. } => true,
        ServerFrame::Error { reference, .. } => reference.as_deref() == Some("sync"),
        _ => false,
    }
}

/// Keepalive pings carry this prefix, so their pongs can be dropped.
const KEEPALIVE: &str = "keepalive-";

pub(crate) struct Actor {
    options: SessionOptions,
    credentials: Credentials,
    cursors: Cursors,
    pending: PendingSends,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Result<Event, SessionError>>,
    backoff: Backoff,
    synced: bool,
    pings: u64,
}

/// Why serving a connection stopped.
enum Stop {
    /// Every handle is gone.
    Done,
    /// The connection failed; reconnect.
    Lost(String),
}

impl From<WsError> for Stop {
    fn from(error: WsError) -> Self {
        Self::Lost(error.to_string())
    }
}

impl Actor {
    pub(crate) fn new(
        options: SessionOptions,
        credentials: Credentials,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<Result<Event, SessionError>>,
    ) -> Self {
        Self {
            cursors: Cursors::new(options.cursors.clone()),
            backoff: Backoff::new(options.backoff_initial, options.backoff_max),
            options,
            credentials,
            pending: PendingSends::default(),
            commands,
            events,
            synced: false,
            pings: 0,
        }
    }

    pub(crate) async fn run(mut self, mut connection: Connection) {
        loop {
            match self.serve(&mut connection).await {
                Stop::Done => {
                    // Nobody listens any more; a failed goodbye changes nothing.
                    let _ = connection.close().await;
                    return;
                }
                Stop::Lost(reason) => {
                    tracing::debug!(%reason, "connection lost");
                    self.emit(Ok(Event::Disconnected { reason })).await;
                }
            }
            match self.reconnect().await {
                Some(next) => connection = next,
                None => return,
            }
        }
    }

    /// Resumes on a fresh connection, then handles frames, commands and
    /// keepalives until the connection fails or the handles are gone.
    async fn serve(&mut self, connection: &mut Connection) -> Stop {
        self.synced = false;
        self.emit(Ok(Event::Connected(connection.ready().clone())))
            .await;
        if let Err(error) = self.resume(connection).await {
            return error.into();
        }
        let period = self.options.ping_interval;
        let mut ping = interval_at(Instant::now() + period, period);
        let ack_period = self.options.ack_interval;
        let mut ack = interval_at(Instant::now() + ack_period, ack_period);
        let mut last_heard = Instant::now();
        loop {
            let step = tokio::select! {
                frame = connection.next() => match frame {
                    Ok(frame) => {
                        last_heard = Instant::now();
                        self.on_frame(frame).await
                    }
                    Err(error) => Err(error.into()),
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(connection, command).await,
                    None => Err(Stop::Done),
                },
                _ = ack.tick() => self.send_acks(connection).await,
                _ = ping.tick() => {
                    if last_heard.elapsed() >= self.options.idle_timeout {
                        Err(WsError::Timeout("any frame from the server").into())
                    } else {
                        self.keepalive(connection).await
                    }
                }
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    async fn resume(&mut self, connection: &mut Connection) -> Result<(), WsError> {
        connection.send(&self.cursors.sync_frame()).await?;
        for frame in self.pending.to_resend() {
            connection.send(&frame).await?;
        }
        Ok(())
    }

    async fn keepalive(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        self.pings += 1;
        let nonce = serde_json::Value::from(format!("{KEEPALIVE}{}", self.pings));
        Ok(connection.send(&ClientFrame::Ping { nonce }).await?)
    }

    async fn on_frame(&mut self, frame: ServerFrame) -> Result<(), Stop> {
        match frame {
            ServerFrame::Message(message) => {
                let ready = self.cursors.accept(message);
                self.deliver(ready).await;
                if self.synced {
                    self.close_gaps().await?;
                }
                Ok(())
            }
            // A failed sync replays nothing more: what is missing now can
            // only come from history.
            ServerFrame::Synced { .. } | ServerFrame::Error { .. }
                if !self.synced && is_end_of_replay(&frame) =>
            {
                self.synced = true;
                self.close_gaps().await?;
                self.emit(Ok(Event::Frame(frame))).await;
                Ok(())
            }
            ServerFrame::Pong { nonce }
                if nonce.as_str().is_some_and(|n| n.starts_with(KEEPALIVE)) =>
            {
                Ok(())
            }
            other => {
                if let Some(frame) = self.pending.resolve(other) {
                    self.emit(Ok(Event::Frame(frame))).await;
                }
                Ok(())
            }
        }
    }

    async fn on_command(
        &mut self,
        connection: &mut Connection,
        command: Command,
    ) -> Result<(), Stop> {
        match command {
            Command::Send { frame, reply } => {
                let result = connection.send(&frame).await;
                let failed = result.is_err();
                let _ = reply.send(result.map_err(|_| SessionError::Disconnected));
                if failed {
                    return Err(Stop::Lost("send failed".into()));
                }
            }
            Command::SendMessage {
                client_msg_id,
                frame,
                reply,
            } => {
                self.pending.insert(client_msg_id, frame.clone(), reply);
                // On failure the send stays pending and goes out again after
                // the reconnect.
                connection.send(&frame).await?;
            }
            Command::Cursors { reply } => {
                let _ = reply.send(self.cursors.snapshot());
            }
        }
        Ok(())
    }

    /// Acks each chat's cursor if it moved. Paced by a timer rather than sent
    /// per message: every ack moves a receipt that the server sends to every
    /// member, so a busy group would otherwise multiply its traffic.
    async fn send_acks(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        if !self.options.auto_ack {
            return Ok(());
        }
        for ack in self.cursors.acks() {
            connection.send(&ack).await?;
        }
        Ok(())
    }

    /// Fills each chat's gap from history when that is wanted, and gives up
    /// on what history cannot fill. A transport failure of the history call
    /// drops the connection instead, so the resume's replay fills the gap.
    async fn close_gaps(&mut self) -> Result<(), Stop> {
        for gap in self.cursors.gaps() {
            if self.options.fill_gaps && self.options.wants(&gap.chat_id) {
                self.fill(&gap.chat_id).await?;
            }
            let released = self.cursors.release(&gap.chat_id);
            if !released.is_empty() {
                tracing::debug!(chat = %gap.chat_id, count = released.len(), "gap given up");
            }
            self.deliver(released).await;
        }
        Ok(())
    }

    async fn fill(&mut self, chat_id: &str) -> Result<(), Stop> {
        let client = Client::with_tls(&self.options.base, &self.options.connect.tls)
            .map_err(|e| Stop::Lost(e.to_string()))?
            .with_token(&self.credentials.access_token);
        while let Some(gap) = self
            .cursors
            .gaps()
            .into_iter()
            .find(|g| g.chat_id == chat_id)
        {
            let missing = gap.before_seq - gap.after_seq - 1;
            let query = HistoryQuery {
                after_seq: Some(gap.after_seq),
                before_seq: None,
                limit: Some(u32::try_from(missing.min(HISTORY_PAGE)).unwrap_or(500)),
            };
            let page = match client.history_page(chat_id, query).await {
                Ok(page) => page,
                Err(error) if error.status().is_some() => {
                    tracing::debug!(chat = %chat_id, %error, "history refused the gap");
                    return Ok(());
                }
                Err(error) => return Err(Stop::Lost(format!("fill a gap from history: {error}"))),
            };
            let before = self.cursors.cursor(chat_id);
            for message in page.messages {
                let ready = self.cursors.accept(message);
                self.deliver(ready).await;
            }
            if self.cursors.cursor(chat_id) == before {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn deliver(&mut self, messages: Vec<protocol::chats::Message>) {
        for message in messages {
            if self.options.wants(&message.chat_id) {
                self.emit(Ok(Event::Frame(ServerFrame::Message(message))))
                    .await;
            }
        }
    }

    /// Waits out the backoff (answering commands meanwhile) and connects
    /// again; `None` when the session is over.
    async fn reconnect(&mut self) -> Option<Connection> {
        loop {
            let delay = self.backoff.next_delay(rand::random());
            if !self.wait(delay).await {
                return None;
            }
            match auth::connect(&self.options, &mut self.credentials).await {
                Ok(connection) => {
                    self.backoff.reset();
                    return Some(connection);
                }
                Err(Failure::Transient(reason)) => {
                    tracing::debug!(%reason, ?delay, "reconnect failed");
                }
                Err(Failure::Fatal(error)) => {
                    tracing::warn!(%error, "session stopped");
                    self.pending.fail_all(&error);
                    self.emit(Err(error)).await;
                    return None;
                }
            }
        }
    }

    /// Sleeps for `delay` while queuing sends and refusing other frames.
    /// False when every handle is gone.
    async fn wait(&mut self, delay: std::time::Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                command = self.commands.recv() => match command {
                    None => return false,
                    Some(Command::SendMessage { client_msg_id, frame, reply }) => {
                        self.pending.insert(client_msg_id, frame, reply);
                    }
                    Some(Command::Send { reply, .. }) => {
                        let _ = reply.send(Err(SessionError::Disconnected));
                    }
                    Some(Command::Cursors { reply }) => {
                        let _ = reply.send(self.cursors.snapshot());
                    }
                },
            }
        }
    }

    /// Hands an event to the stream; dropped if nobody reads it any more
    /// (the session keeps serving its senders).
    async fn emit(&mut self, event: Result<Event, SessionError>) {
        let _ = self.events.send(event).await;
    }
}

#[cfg(test)]
mod tests {
    use protocol::ErrorCode;

    use super::*;

    #[test]
    fn a_replay_ends_with_synced_or_the_error_that_answers_sync() {
        let synced = ServerFrame::Synced {
            cursors: Default::default(),
        };
        let error = |reference: Option<&str>| ServerFrame::Error {
            code: ErrorCode::Internal,
            message: String::new(),
            reference: reference.map(str::to_owned),
        };
        assert!(is_end_of_replay(&synced));
        assert!(is_end_of_replay(&error(Some("sync"))));
        assert!(!is_end_of_replay(&error(Some("m-1"))));
        assert!(!is_end_of_replay(&error(None)));
    }
}
