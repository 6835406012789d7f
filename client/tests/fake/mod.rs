//! A scripted stand-in for a region's WebSocket endpoint, so the SDK's
//! reconnect, resume and refresh logic can be driven frame by frame: each
//! accepted connection is handed to the test, which plays the server.
//! `POST /v1/auth/refresh` and upgrades with the token `expired` are
//! answered over plain HTTP.

#![allow(dead_code, clippy::result_large_err)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use protocol::Hlc;
use protocol::frames::{ClientFrame, ServerFrame};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The refresh token the fake accepts (once) and the tokens it hands out.
pub const REFRESH_TOKEN: &str = "refresh-1";
pub const NEW_ACCESS_TOKEN: &str = "access-2";
pub const NEW_REFRESH_TOKEN: &str = "refresh-2";

pub struct FakeServer {
    pub base: String,
    connections: mpsc::Receiver<FakeConnection>,
    pub refreshes: Arc<AtomicUsize>,
}

pub struct FakeConnection {
    ws: WebSocketStream<TcpStream>,
    /// The `token` query parameter of the upgrade.
    pub token: String,
}

impl FakeServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel(16);
        let refreshes = Arc::new(AtomicUsize::new(0));
        let counter = refreshes.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (tx, counter) = (tx.clone(), counter.clone());
                tokio::spawn(async move { route(stream, tx, counter).await });
            }
        });
        Self {
            base,
            connections: rx,
            refreshes,
        }
    }

    /// The next WebSocket connection a client opened.
    pub async fn accept(&mut self) -> FakeConnection {
        tokio::time::timeout(Duration::from_secs(10), self.connections.recv())
            .await
            .expect("a connection in time")
            .expect("server running")
    }
}

async fn route(stream: TcpStream, tx: mpsc::Sender<FakeConnection>, refreshes: Arc<AtomicUsize>) {
    let mut head = [0u8; 64];
    let mut seen = 0;
    while seen < 32 {
        seen = stream.peek(&mut head).await.unwrap();
        if seen == 0 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head[..seen]).into_owned();
    if head.starts_with("POST /v1/auth/refresh") {
        refreshes.fetch_add(1, Ordering::SeqCst);
        answer_refresh(stream).await;
    } else if head.starts_with("GET /v1/chats/") {
        answer_history(stream).await;
    } else if head.starts_with("GET /v1/ws?token=expired") {
        let mut stream = stream;
        read_http_request(&mut stream).await;
        let body = r#"{"error":{"code":"unauthorized","message":"access token expired"}}"#;
        write_http(&mut stream, "401 Unauthorized", body).await;
    } else {
        let mut token = String::new();
        let ws =
            tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response: Response| {
                let query = request.uri().query().unwrap_or_default();
                token = query.strip_prefix("token=").unwrap_or_default().to_owned();
                Ok(response)
            })
            .await
            .unwrap();
        let _ = tx.send(FakeConnection { ws, token }).await;
    }
}

async fn answer_refresh(mut stream: TcpStream) {
    let body = read_http_request(&mut stream).await;
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
    if request["refresh_token"] == REFRESH_TOKEN {
        let tokens = serde_json::json!({
            "user_id": "u_1", "device_id": "d_1",
            "access_token": NEW_ACCESS_TOKEN, "refresh_token": NEW_REFRESH_TOKEN,
            "expires_in": 900
        });
        write_http(&mut stream, "200 OK", &tokens.to_string()).await;
    } else {
        let body = r#"{"error":{"code":"unauthorized","message":"invalid refresh token"}}"#;
        write_http(&mut stream, "401 Unauthorized", body).await;
    }
}

/// `GET /v1/chats/{chat}/messages?after_seq=&limit=` over a chat whose
/// messages are 1..=[`HISTORY_LAST_SEQ`].
async fn answer_history(mut stream: TcpStream) {
    let mut head = [0u8; 512];
    let n = stream.peek(&mut head).await.unwrap();
    let line = String::from_utf8_lossy(&head[..n])
        .lines()
        .next()
        .unwrap()
        .to_owned();
    read_http_request(&mut stream).await;
    let target = line.split(' ').nth(1).unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let chat = path
        .trim_start_matches("/v1/chats/")
        .trim_end_matches("/messages");
    let param = |name: &str| -> Option<u64> {
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.parse().unwrap())
        })
    };
    let after = param("after_seq").unwrap_or(0);
    let last = (after + param("limit").unwrap_or(50)).min(HISTORY_LAST_SEQ);
    let messages: Vec<_> = (after + 1..=last)
        .map(|seq| history_message(chat, seq))
        .collect();
    let body = serde_json::json!({"messages": messages, "has_more": last < HISTORY_LAST_SEQ});
    write_http(&mut stream, "200 OK", &body.to_string()).await;
}

/// The last `seq` of every chat's history in the fake.
pub const HISTORY_LAST_SEQ: u64 = 1_000;

/// The message the fake's history holds at `seq`.
pub fn history_message(chat: &str, seq: u64) -> protocol::chats::Message {
    protocol::chats::Message {
        chat_id: chat.into(),
        seq,
        hlc: Hlc::new(1_700_000_000_000 + seq, 0),
        sender_id: "u_2".into(),
        client_msg_id: format!("m{seq}"),
        kind: protocol::chats::MessageKind::Text,
        text: format!("hello {seq}"),
        event: None,
        user_ids: None,
        title: None,
        sent_at: 1_700_000_000_000 + seq,
        ..Default::default()
    }
}

/// Reads one request and answers its body.
async fn read_http_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "request ended early");
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while data.len() < end + 4 + length {
                let n = stream.read(&mut buf).await.unwrap();
                data.extend_from_slice(&buf[..n]);
            }
            return data[end + 4..end + 4 + length].to_vec();
        }
    }
}

async fn write_http(stream: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl FakeConnection {
    pub async fn send(&mut self, frame: ServerFrame) {
        let text = serde_json::to_string(&frame).unwrap();
        self.ws.send(WsMessage::text(text)).await.unwrap();
    }

    pub async fn ready(&mut self) {
        self.send(ServerFrame::Ready {
            user_id: "u_1".into(),
            device_id: "d_1".into(),
            region: "local".into(),
            hlc: Hlc::new(1_700_000_000_000, 0),
        })
        .await;
    }

    /// The next client frame that is not an `ack` or a `ping`.
    pub async fn expect(&mut self) -> ClientFrame {
        loop {
            let frame = self.next_any().await;
            if !matches!(frame, ClientFrame::Ack { .. } | ClientFrame::Ping { .. }) {
                return frame;
            }
        }
    }

    /// The next client frame of any type.
    pub async fn next_any(&mut self) -> ClientFrame {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame in time")
                .expect("connection open")
                .unwrap();
            if let WsMessage::Text(text) = message {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    pub async fn close(mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }
}
