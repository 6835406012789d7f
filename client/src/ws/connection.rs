//! [`Connection`]: one WebSocket connection to `/v1/ws`, opened with an
//! access token and ready once the server's `ready` frame has arrived.
//! Typed [`Connection::send`] and [`Connection::next`]; [`Connection::split`]
//! gives independent halves for a reader task and a writer task.

use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{Sink, SinkExt as _, Stream, StreamExt as _};
use protocol::frames::{ClientFrame, MAX_FRAME_BYTES, ServerFrame};
use protocol::{ErrorBody, Hlc};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite};

use super::error::WsError;
use crate::tls::Tls;
use crate::url::ws_url;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server's `ready` frame says about the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The authenticated user.
    pub user_id: String,
    /// The device the token belongs to.
    pub device_id: String,
    /// The region serving the connection.
    pub region: String,
    /// The server's clock at the upgrade.
    pub hlc: Hlc,
}

/// How a connection is opened.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Socket buffers and size limits.
    pub socket: WebSocketConfig,
    /// Time allowed for TCP, the upgrade and the `ready` frame together.
    pub timeout: Duration,
    /// The certificates trusted for `wss://` servers.
    pub tls: Tls,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            socket: socket_config(),
            timeout: Duration::from_secs(10),
            tls: Tls::system(),
        }
    }
}

/// Small buffers: tungstenite's defaults (128 KiB each, allocated per
/// connection) add up when one process holds thousands of connections, and
/// the protocol's frames are small. Incoming messages are capped at the
/// protocol's frame limit.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(2 * MAX_FRAME_BYTES)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// An open, ready connection.
pub struct Connection {
    socket: Socket,
    ready: Ready,
    pings: u64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to the server at `base` (`http(s)://host:port[/prefix]`)
    /// with default options and waits for `ready`.
    pub async fn connect(base: &str, access_token: &str) -> Result<Self, WsError> {
        Self::connect_with(base, access_token, ConnectOptions::default()).await
    }

    /// [`Connection::connect`] with explicit options.
    pub async fn connect_with(
        base: &str,
        access_token: &str,
        options: ConnectOptions,
    ) -> Result<Self, WsError> {
        let url = ws_url(base, access_token).map_err(|e| WsError::Url(e.to_string()))?;
        tokio::time::timeout(
            options.timeout,
            Self::open(url, options.socket, &options.tls),
        )
        .await
        .map_err(|_| WsError::Timeout("the connection to be ready"))?
    }

    async fn open(url: String, config: WebSocketConfig, tls: &Tls) -> Result<Self, WsError> {
        let connector = tokio_tungstenite::Connector::Rustls(tls.rustls());
        let (mut socket, _response) = tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(config),
            true,
            Some(connector),
        )
        .await
        .map_err(upgrade_error)?;
        let ready = match read_frame(&mut socket).await? {
            ServerFrame::Ready {
                user_id,
                device_id,
                region,
                hlc,
            } => Ready {
                user_id,
                device_id,
                region,
                hlc,
            },
            ServerFrame::Error { code, message, .. } => {
                return Err(WsError::Rejected {
                    status: None,
                    code: Some(code),
                    message,
                });
            }
            other => return Err(WsError::NoReady(frame_type(&other))),
        };
        Ok(Self {
            socket,
            ready,
            pings: 0,
        })
    }

    /// The server's `ready` frame.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), WsError> {
        write_frame(&mut self.socket, frame).await
    }

    /// The next server frame. Frames of types this client does not know are
    /// skipped, so servers may add frame types.
    pub async fn next(&mut self) -> Result<ServerFrame, WsError> {
        read_frame(&mut self.socket).await
    }

    /// Sends a `ping` and returns its nonce; the `pong` arrives through
    /// [`Connection::next`].
    pub async fn ping(&mut self) -> Result<serde_json::Value, WsError> {
        self.pings += 1;
        let nonce = serde_json::Value::from(self.pings);
        self.send(&ClientFrame::Ping {
            nonce: nonce.clone(),
        })
        .await?;
        Ok(nonce)
    }

    /// Closes the connection politely.
    pub async fn close(mut self) -> Result<(), WsError> {
        match self.socket.close(None).await {
            Ok(())
            | Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Splits the connection into a sending and a receiving half.
    pub fn split(self) -> (FrameSender, FrameReceiver) {
        let (sink, stream) = self.socket.split();
        (FrameSender { sink }, FrameReceiver { stream })
    }
}

/// The sending half of a split [`Connection`].
pub struct FrameSender {
    sink: SplitSink<Socket, WsMessage>,
}

impl FrameSender {
    /// Sends one frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), WsError> {
        write_frame(&mut self.sink, frame).await
    }

    /// Closes the connection politely.
    pub async fn close(mut self) -> Result<(), WsError> {
        self.sink.close().await.map_err(WsError::from)
    }
}

/// The receiving half of a split [`Connection`].
pub struct FrameReceiver {
    stream: SplitStream<Socket>,
}

impl FrameReceiver {
    /// The next server frame (unknown frame types are skipped).
    pub async fn next(&mut self) -> Result<ServerFrame, WsError> {
        read_frame(&mut self.stream).await
    }

    /// The next server frame as its JSON text, unparsed: for load generators
    /// that read only a field or two of many frames.
    pub async fn next_text(&mut self) -> Result<String, WsError> {
        read_text(&mut self.stream).await
    }
}

/// Encodes and sends a frame, refusing frames over the protocol's limit
/// (the server would close the connection with 1009).
async fn write_frame<S>(sink: &mut S, frame: &ClientFrame) -> Result<(), WsError>
where
    S: Sink<WsMessage, Error = tungstenite::Error> + Unpin,
{
    let text = serde_json::to_string(frame)?;
    if text.len() > MAX_FRAME_BYTES {
        return Err(WsError::TooLarge(text.len()));
    }
    sink.send(WsMessage::text(text))
        .await
        .map_err(WsError::from)
}

/// Reads until a server frame arrives. Cancel-safe: nothing is held across
/// an await but the stream itself.
async fn read_frame<S>(stream: &mut S) -> Result<ServerFrame, WsError>
where
    S: Stream<Item = Result<WsMessage, tungstenite::Error>> + Unpin,
{
    loop {
        let text = read_text(stream).await?;
        match serde_json::from_str::<ServerFrame>(&text) {
            Ok(frame) => return Ok(frame),
            Err(error) => {
                tracing::debug!(%error, "skipping a frame this client does not understand");
            }
        }
    }
}

/// Reads until a text frame arrives; answers its text. Cancel-safe.
async fn read_text<S>(stream: &mut S) -> Result<String, WsError>
where
    S: Stream<Item = Result<WsMessage, tungstenite::Error>> + Unpin,
{
    loop {
        let message = match stream.next().await {
            Some(message) => message?,
            None => {
                return Err(WsError::Closed {
                    code: None,
                    reason: "connection ended".into(),
                });
            }
        };
        match message {
            WsMessage::Text(text) => return Ok(text.as_str().to_owned()),
            WsMessage::Close(frame) => {
                return Err(WsError::Closed {
                    code: frame.as_ref().map(|f| u16::from(f.code)),
                    reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                });
            }
            // Control frames are answered by tungstenite; the protocol sends
            // no binary frames.
            WsMessage::Binary(_)
            | WsMessage::Ping(_)
            | WsMessage::Pong(_)
            | WsMessage::Frame(_) => {}
        }
    }
}

/// Turns a failed upgrade into [`WsError::Rejected`] when the server
/// answered with an HTTP error (and the protocol's error body).
fn upgrade_error(error: tungstenite::Error) -> WsError {
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            match serde_json::from_slice::<ErrorBody>(body) {
                Ok(body) => WsError::Rejected {
                    status: Some(status),
                    code: Some(body.error.code),
                    message: body.error.message,
                },
                Err(_) => WsError::Rejected {
                    status: Some(status),
                    code: None,
                    message: String::from_utf8_lossy(body).into_owned(),
                },
            }
        }
        other => WsError::Socket(other),
    }
}

/// The `type` of a server frame, for messages.
pub(crate) fn frame_type(frame: &ServerFrame) -> String {
    serde_json::to_value(frame)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "an unknown frame".into())
}
