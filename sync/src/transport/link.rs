//! One admitted connection at work: a writer per channel feeding its
//! long-lived unidirectional stream, readers for the peer's channel streams,
//! a handler per incoming request stream, the datagram reader, and the
//! watcher that announces the link's end.

use std::sync::Arc;

use bytes::Bytes;
use quinn::{Connection, RecvStream, SendStream, VarInt};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, warn};

use super::error::FrameError;
use super::events::{Channel, TransportEvent};
use super::framing::{read_frame, write_frame};
use super::shared::{Shared, close};

/// Stream reset code when the caller dropped a request without answering.
const REQUEST_DROPPED: VarInt = VarInt::from_u32(1);

/// Runs an admitted connection until it ends, then announces PeerDown.
pub(crate) async fn run(shared: Arc<Shared>, peer: String, conn: Connection) {
    let id = shared.register(&peer, &conn).await;
    shared
        .tasks
        .spawn(accept_channels(shared.clone(), peer.clone(), conn.clone()).in_current_span());
    shared
        .tasks
        .spawn(accept_requests(shared.clone(), peer.clone(), conn.clone()).in_current_span());
    shared
        .tasks
        .spawn(read_datagrams(shared.clone(), peer.clone(), conn.clone()).in_current_span());
    let reason = conn.closed().await;
    debug!(%reason, "link ended");
    shared.unregister(&peer, id, reason.to_string()).await;
}

/// Feeds one channel's queue into its stream. The stream opens with the
/// channel's tag so the peer knows what it carries.
pub(crate) async fn write_channel(
    shared: Arc<Shared>,
    conn: Connection,
    channel: Channel,
    mut queue: mpsc::Receiver<Bytes>,
) {
    let result = async {
        let mut stream = conn.open_uni().await.map_err(|e| e.to_string())?;
        stream
            .write_all(&[channel.tag()])
            .await
            .map_err(|e| e.to_string())?;
        while let Some(body) = queue.recv().await {
            write_frame(&mut stream, &body, shared.config.max_frame)
                .await
                .map_err(|e| e.to_string())?;
        }
        // The link was dropped from the table: end the stream cleanly.
        let _ = stream.finish();
        Ok::<(), String>(())
    }
    .await;
    if let Err(error) = result {
        debug!(?channel, %error, "channel writer stopped");
    }
}

async fn accept_channels(shared: Arc<Shared>, peer: String, conn: Connection) {
    while let Ok(stream) = conn.accept_uni().await {
        let reader = read_channel(shared.clone(), peer.clone(), conn.clone(), stream);
        shared.tasks.spawn(reader.in_current_span());
    }
}

async fn read_channel(shared: Arc<Shared>, peer: String, conn: Connection, mut stream: RecvStream) {
    let mut tag = [0u8; 1];
    if stream.read_exact(&mut tag).await.is_err() {
        return;
    }
    let Some(channel) = Channel::from_tag(tag[0]) else {
        protocol_violation(&conn, &format!("unknown channel tag {}", tag[0]));
        return;
    };
    loop {
        match read_frame(&mut stream, shared.config.max_frame).await {
            Ok(Some(body)) => {
                let peer = peer.clone();
                shared
                    .emit(TransportEvent::Message {
                        peer,
                        channel,
                        body,
                    })
                    .await;
            }
            Ok(None) => return,
            Err(FrameError::Io(error)) => {
                debug!(?channel, %error, "channel stream ended");
                return;
            }
            Err(error) => {
                protocol_violation(&conn, &format!("{channel:?}: {error}"));
                return;
            }
        }
    }
}

async fn accept_requests(shared: Arc<Shared>, peer: String, conn: Connection) {
    while let Ok((send, recv)) = conn.accept_bi().await {
        let handler = answer_request(shared.clone(), peer.clone(), conn.clone(), send, recv);
        shared.tasks.spawn(handler.in_current_span());
    }
}

async fn answer_request(
    shared: Arc<Shared>,
    peer: String,
    conn: Connection,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let max = shared.config.max_frame;
    let body = match read_frame(&mut recv, max).await {
        Ok(Some(body)) => body,
        Ok(None) | Err(FrameError::Io(_)) => return,
        Err(error) => {
            protocol_violation(&conn, &format!("request: {error}"));
            return;
        }
    };
    let (reply, answer) = oneshot::channel();
    shared
        .emit(TransportEvent::Request { peer, body, reply })
        .await;
    match answer.await {
        Ok(answer) => {
            if let Err(error) = write_frame(&mut send, &answer, max).await {
                warn!(%error, "could not send a reply");
                let _ = send.reset(REQUEST_DROPPED);
                return;
            }
            let _ = send.finish();
        }
        Err(_) => {
            let _ = send.reset(REQUEST_DROPPED);
        }
    }
}

async fn read_datagrams(shared: Arc<Shared>, peer: String, conn: Connection) {
    while let Ok(body) = conn.read_datagram().await {
        shared
            .emit(TransportEvent::Datagram {
                peer: peer.clone(),
                body,
            })
            .await;
    }
}

/// Sends a request on a fresh bidirectional stream and reads the answer.
pub(crate) async fn request(
    conn: &Connection,
    body: &[u8],
    max: usize,
) -> Result<Option<Bytes>, RequestFailure> {
    let (mut send, mut recv) = conn.open_bi().await?;
    write_frame(&mut send, body, max).await?;
    // The stream ending tells the peer the request is complete.
    let _ = send.finish();
    Ok(read_frame(&mut recv, max).await?)
}

/// Why a request stream failed.
#[derive(Debug)]
pub(crate) enum RequestFailure {
    Connection(quinn::ConnectionError),
    Frame(FrameError),
}

impl From<quinn::ConnectionError> for RequestFailure {
    fn from(e: quinn::ConnectionError) -> Self {
        Self::Connection(e)
    }
}

impl From<FrameError> for RequestFailure {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

fn protocol_violation(conn: &Connection, reason: &str) {
    warn!(%reason, "peer broke the framing rules; closing the link");
    conn.close(close::PROTOCOL, reason.as_bytes());
}
