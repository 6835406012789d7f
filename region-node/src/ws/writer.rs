//! The writing half of a connection.
//!
//! It keeps, per chat, the highest `seq` it has written with nothing missing
//! below it (once known). A live message at or below it is a duplicate and
//! is dropped; one past a gap makes the writer read the gap from the store
//! first. `sync` replays from the client's cursors, skipping what this
//! connection already wrote, then answers `synced`. Queued frames are fed
//! to the socket together and flushed once.
//!
//! A write that stalls for [`WRITE_STALL`] (the client does not read), or
//! any write once the hub has told the connection to close, ends the
//! writer: a client that never reads cannot hold its connection open.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures::SinkExt as _;
use futures::stream::SplitSink;
use protocol::frames::ServerFrame;
use tokio::sync::{mpsc, oneshot};

use super::close::kill_close;
use crate::accounts::Principal;
use crate::chat::reads;
use crate::codec::frame as encode;
use crate::error::ApiError;
use crate::hub::{Outbound, Registration};
use crate::limits::WRITE_STALL;
use crate::state::AppState;
use tokio_util::sync::CancellationToken;

/// Requests from the reading half.
pub enum Local {
    /// Write this frame.
    Frame(Bytes),
    /// The answer to a client frame, once it is known; later requests
    /// wait for it, so a connection's frames are answered in order.
    Answer(oneshot::Receiver<Bytes>),
    /// Replay after these cursors, then `synced`.
    Sync(BTreeMap<String, u64>),
    /// Subscribe connection `.0` to these users' presence.
    Presence(u64, Vec<String>),
    /// Close (with this frame, if any) and stop.
    Close(Option<CloseFrame>),
}

/// How often the server pings an otherwise quiet connection.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Frames written per flush at most.
const COALESCE: usize = 64;
/// Messages read from the store per replay page.
const PAGE: usize = 500;
/// How long the close frame may take to write.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone, Copy)]
struct Cursor {
    /// The first live `seq` written before any `sync` of this chat.
    first_live: Option<u64>,
    /// Highest `seq` written with nothing missing between it and `first_live` (or the sync cursor).
    last: u64,
}

/// The writer of one connection.
pub struct Writer {
    state: AppState,
    who: Principal,
    sink: SplitSink<WebSocket, WsMessage>,
    cursors: HashMap<String, Cursor>,
    /// Cancelled when the hub closes the connection; pending writes stop.
    kill: CancellationToken,
}

/// Why a write gave up.
fn stalled(why: &'static str) -> axum::Error {
    axum::Error::new(std::io::Error::new(std::io::ErrorKind::TimedOut, why))
}

type WriteResult = Result<(), axum::Error>;

fn text(bytes: Bytes) -> WsMessage {
    // Frames are produced by serde_json and so are valid UTF-8.
    match Utf8Bytes::try_from(bytes) {
        Ok(t) => WsMessage::Text(t),
        Err(_) => WsMessage::Text(Utf8Bytes::from_static("{}")),
    }
}

impl Writer {
    /// A writer for `who` over `sink`.
    pub fn new(state: AppState, who: Principal, sink: SplitSink<WebSocket, WsMessage>) -> Self {
        Self {
            state,
            who,
            sink,
            cursors: HashMap::new(),
            kill: CancellationToken::new(),
        }
    }

    /// Runs one write: it fails once it stalls past [`WRITE_STALL`] or the
    /// connection is told to close.
    async fn io(
        kill: &CancellationToken,
        write: impl std::future::Future<Output = WriteResult>,
    ) -> WriteResult {
        tokio::select! {
            result = tokio::time::timeout(WRITE_STALL, write) => {
                result.unwrap_or_else(|_| Err(stalled("write stalled; slow consumer")))
            }
            () = kill.cancelled() => Err(stalled("connection closed by the server")),
        }
    }

    /// Queues a message on the socket.
    async fn put(&mut self, message: WsMessage) -> WriteResult {
        Self::io(&self.kill, self.sink.feed(message)).await
    }

    /// Writes everything queued.
    async fn flush(&mut self) -> WriteResult {
        Self::io(&self.kill, self.sink.flush()).await
    }

    /// Writes a message at once.
    async fn send(&mut self, message: WsMessage) -> WriteResult {
        Self::io(&self.kill, self.sink.send(message)).await
    }

    /// The last write, a close frame: bounded in time, not by the kill (a
    /// client that does not read never sees it).
    async fn close(&mut self, frame: CloseFrame) {
        let close = self.sink.send(WsMessage::Close(Some(frame)));
        let _ = tokio::time::timeout(CLOSE_WAIT, close).await;
    }

    /// Writes until told to close or the socket fails; hands the hub
    /// registration back.
    pub async fn run(
        mut self,
        mut reg: Registration,
        mut local: mpsc::Receiver<Box<Local>>,
    ) -> Registration {
        self.kill = reg.kill.clone();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        // The answer the connection's own requests wait for, if any; the
        // hub's frames go on meanwhile.
        let mut awaited: Option<oneshot::Receiver<Bytes>> = None;
        loop {
            let step: Result<bool, axum::Error> = tokio::select! {
                biased;
                answer = async {
                    match awaited.as_mut() {
                        Some(answer) => answer.await.ok(),
                        None => None,
                    }
                }, if awaited.is_some() => {
                    awaited = None;
                    match answer {
                        Some(bytes) => self.frame(bytes, &mut reg.rx).await.map(|()| true),
                        // Nothing to answer (the request was dropped).
                        _ => Ok(true),
                    }
                }
                l = local.recv(), if awaited.is_none() => match l.map(|l| *l) {
                    None => Ok(false),
                    Some(Local::Close(frame)) => {
                        let frame = frame.or_else(|| reg.kill.is_cancelled().then(|| kill_close(reg.kill_reason())));
                        if let Some(frame) = frame {
                            self.close(frame).await;
                        }
                        Ok(false)
                    }
                    // A frame of this connection's own (a `sent`, an error)
                    // goes out with whatever the hub queued meanwhile, in
                    // one write: a send's `sent` and its message together.
                    Some(Local::Frame(bytes)) => self.frame(bytes, &mut reg.rx).await.map(|()| true),
                    Some(Local::Answer(answer)) => {
                        awaited = Some(answer);
                        Ok(true)
                    }
                    // Boxed, like `fill` below: replays are rare, and their state
                    // would otherwise sit inside every idle connection's future.
                    Some(l) => Box::pin(self.local(l, &reg)).await.map(|()| true),
                },
                () = reg.kill.cancelled() => {
                    self.close(kill_close(reg.kill_reason())).await;
                    Ok(false)
                }
                out = reg.rx.recv() => match out {
                    None => Ok(false),
                    Some(first) => self.outbound(first, &mut reg.rx).await.map(|()| true),
                },
                _ = ping.tick() => self.send(WsMessage::Ping(Bytes::new())).await.map(|()| true),
            };
            match step {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    tracing::debug!(%error, "write failed");
                    if reg.kill.is_cancelled() {
                        self.close(kill_close(reg.kill_reason())).await;
                    }
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, self.sink.close()).await;
        reg
    }

    async fn local(&mut self, local: Local, reg: &Registration) -> WriteResult {
        match local {
            Local::Frame(bytes) => self.send(text(bytes)).await,
            Local::Sync(cursors) => self.sync(cursors).await,
            Local::Presence(conn, users) => {
                let limit = self.state.config.presence_subscriptions;
                let subscribed = self
                    .state
                    .hub
                    .presence
                    .subscribe(conn, &reg.mailbox, &users, limit)
                    .await;
                match subscribed {
                    Ok(frames) => {
                        for frame in frames {
                            self.put(text(frame)).await?;
                        }
                        self.flush().await
                    }
                    Err(too_many) => {
                        let frame = ServerFrame::Error {
                            code: protocol::ErrorCode::TooLarge,
                            message: too_many.to_string(),
                            reference: Some("presence_subscribe".into()),
                        };
                        self.send(text(encode(&frame))).await
                    }
                }
            }
            Local::Close(_) | Local::Answer(_) => Ok(()),
        }
    }

    /// Writes a frame of the connection's own and the hub's queued frames
    /// after it, flushed once.
    async fn frame(&mut self, bytes: Bytes, rx: &mut mpsc::Receiver<Outbound>) -> WriteResult {
        self.put(text(bytes)).await?;
        self.drain(rx, COALESCE - 1).await?;
        self.flush().await
    }

    /// Feeds up to `most` frames already queued by the hub.
    async fn drain(&mut self, rx: &mut mpsc::Receiver<Outbound>, most: usize) -> WriteResult {
        for _ in 0..most {
            match rx.try_recv() {
                Ok(next) => self.feed(next).await?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    async fn outbound(
        &mut self,
        first: Outbound,
        rx: &mut mpsc::Receiver<Outbound>,
    ) -> WriteResult {
        self.feed(first).await?;
        self.drain(rx, COALESCE - 1).await?;
        self.flush().await
    }

    async fn feed(&mut self, out: Outbound) -> WriteResult {
        match out {
            Outbound::Frame(bytes) => self.put(text(Bytes::clone(&bytes))).await,
            Outbound::Message(delivery) => {
                let (chat_id, seq, frame) =
                    (&delivery.chat_id, delivery.seq, delivery.frame.clone());
                let cursor = self.cursors.get(chat_id.as_ref()).copied();
                match cursor {
                    None => {
                        self.cursors.insert(
                            chat_id.to_string(),
                            Cursor {
                                first_live: Some(seq),
                                last: seq,
                            },
                        );
                        self.put(text(frame)).await
                    }
                    Some(c) if seq <= c.last => Ok(()),
                    Some(c) => {
                        if seq > c.last + 1 {
                            Box::pin(self.fill(chat_id, c.last + 1, seq - 1)).await?;
                        }
                        if let Some(c) = self.cursors.get_mut(chat_id.as_ref()) {
                            c.last = seq;
                        }
                        self.put(text(frame)).await
                    }
                }
            }
        }
    }

    /// Writes `from..=to` of a chat from the store, advancing its cursor.
    async fn fill(&mut self, chat_id: &str, from: u64, to: u64) -> WriteResult {
        let mut next = from;
        while next <= to {
            let page = match reads::replay(
                self.state.chats.db(),
                &self.who.user_id,
                chat_id,
                next,
                to,
                PAGE,
            )
            .await
            {
                Ok(page) => page,
                Err(error) => {
                    self.note_unreadable(chat_id, &error);
                    return Ok(());
                }
            };
            let Some(last) = page.last().map(|m| m.seq) else {
                break;
            };
            for message in page {
                self.put(text(encode(&ServerFrame::Message(message))))
                    .await?;
            }
            if let Some(c) = self.cursors.get_mut(chat_id) {
                c.last = c.last.max(last);
            }
            next = last + 1;
            if next == 0 {
                break;
            }
        }
        Ok(())
    }

    fn note_unreadable(&self, chat_id: &str, error: &crate::chat::Error) {
        tracing::debug!(%chat_id, code = %error.code(), "chat not readable during replay");
    }

    async fn sync(&mut self, requested: BTreeMap<String, u64>) -> WriteResult {
        let chats = match reads::user_chat_ids(self.state.chats.db(), &self.who.user_id).await {
            Ok(chats) => chats,
            Err(error) => {
                let error = ApiError::from(error);
                let frame = ServerFrame::Error {
                    code: error.code,
                    message: error.message,
                    reference: Some("sync".into()),
                };
                return self.send(text(encode(&frame))).await;
            }
        };
        let mut done = BTreeMap::new();
        for chat_id in chats {
            let asked = requested.get(&chat_id).copied().unwrap_or(0);
            let before = self.cursors.get(&chat_id).copied();
            // Client cursor first; what this connection already wrote is skipped.
            let start = match before {
                Some(c) => {
                    if let Some(first) = c.first_live.filter(|f| asked + 1 < *f) {
                        self.fill_range(&chat_id, asked + 1, first - 1).await?;
                    }
                    asked.max(c.last)
                }
                None => asked,
            };
            self.cursors.insert(
                chat_id.clone(),
                Cursor {
                    first_live: None,
                    last: start,
                },
            );
            self.fill(&chat_id, start + 1, u64::MAX).await?;
            let last = self.cursors.get(&chat_id).map_or(start, |c| c.last);
            done.insert(chat_id, last);
            self.flush().await?;
        }
        self.send(text(encode(&ServerFrame::Synced { cursors: done })))
            .await
    }

    /// Writes `from..=to` without touching the cursor (the part below the
    /// first live message).
    async fn fill_range(&mut self, chat_id: &str, from: u64, to: u64) -> WriteResult {
        let saved = self.cursors.get(chat_id).copied();
        self.cursors.insert(
            chat_id.to_owned(),
            Cursor {
                first_live: None,
                last: 0,
            },
        );
        let result = self.fill(chat_id, from, to).await;
        if let Some(saved) = saved {
            self.cursors.insert(chat_id.to_owned(), saved);
        }
        result
    }
}
