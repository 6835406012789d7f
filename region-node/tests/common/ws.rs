//! A raw WebSocket test client: JSON frames in and out, with timeouts.

#![allow(dead_code)]

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub ready: Value,
    /// Frames read while waiting for something else, returned first by `next`.
    backlog: std::collections::VecDeque<Value>,
}

pub const WAIT: Duration = Duration::from_secs(20);

impl Ws {
    /// Connects with `token` and waits for `ready`.
    pub async fn connect(base: &str, token: &str) -> Self {
        let url = format!("{}/v1/ws?token={token}", base.replacen("http", "ws", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        let mut ws = Self {
            stream,
            ready: Value::Null,
            backlog: Default::default(),
        };
        let ready = ws.next().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        ws.ready = ready;
        ws
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(WsMessage::Text(frame.to_string().into()))
            .await
            .expect("ws send");
    }

    pub async fn send_raw(&mut self, text: String) {
        self.stream
            .send(WsMessage::Text(text.into()))
            .await
            .expect("ws send");
    }

    /// The next JSON frame; panics on close or timeout.
    pub async fn next(&mut self) -> Value {
        self.try_next(WAIT)
            .await
            .expect("a frame before the timeout")
    }

    /// The next JSON frame within `wait`, or None on timeout.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        if let Some(frame) = self.backlog.pop_front() {
            return Some(frame);
        }
        loop {
            let message = tokio::time::timeout(wait, self.stream.next()).await.ok()?;
            match message {
                Some(Ok(WsMessage::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("json frame"));
                }
                Some(Ok(WsMessage::Close(frame))) => panic!("closed: {frame:?}"),
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    }

    /// Frames until one of type `kind` arrives; returns it and the ones before.
    pub async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return (frame, before);
            }
            before.push(frame);
        }
    }

    /// `message` frames of `chat` until `count` have arrived (other frames skipped).
    pub async fn messages(&mut self, chat: &str, count: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < count {
            let frame = self.next().await;
            if frame["type"] == "message" && frame["chat_id"] == chat {
                out.push(frame);
            }
        }
        out
    }

    /// The next text frame, or None once the socket ends (for any reason).
    pub async fn stream_next_text(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await.ok()? {
                Some(Ok(WsMessage::Text(text))) => return serde_json::from_str(&text).ok(),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Waits for the server to close; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await.ok()? {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    }

    /// Sends a text message and waits for its `sent` (or `error`).
    pub async fn send_text(&mut self, chat: &str, client_msg_id: &str, text: &str) -> Value {
        self.send(
            json!({"type": "send", "chat_id": chat, "client_msg_id": client_msg_id, "text": text}),
        )
        .await;
        self.answer_for(client_msg_id).await
    }

    /// Sends a frame answered by `sent` or `error` (a send, edit, delete or
    /// react) and waits for that answer.
    pub async fn answered(&mut self, frame: Value) -> Value {
        let key = frame["client_msg_id"]
            .as_str()
            .expect("a client_msg_id")
            .to_owned();
        self.send(frame).await;
        self.answer_for(&key).await
    }

    /// The `sent` or `error` answering `client_msg_id`; frames before it
    /// stay for `next`.
    pub async fn answer_for(&mut self, client_msg_id: &str) -> Value {
        let mut skipped = Vec::new();
        loop {
            let frame = self.next().await;
            if (frame["type"] == "sent" || frame["type"] == "error")
                && (frame["client_msg_id"] == client_msg_id || frame["ref"] == client_msg_id)
            {
                self.backlog.extend(skipped);
                return frame;
            }
            skipped.push(frame);
        }
    }
}

/// Registers `name` and logs in one device; returns (user_id, access token).
pub async fn user(client: &client::Client, name: &str) -> (String, String) {
    let id = client
        .register(name, "test password", None)
        .await
        .expect("register");
    let tokens = client
        .login(name, "test password", None)
        .await
        .expect("login");
    (id, tokens.access_token)
}

/// Another device of an existing user.
pub async fn device(client: &client::Client, name: &str) -> String {
    client
        .login(name, "test password", None)
        .await
        .expect("login")
        .access_token
}
