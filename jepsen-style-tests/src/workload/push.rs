//! A device's WebSocket: what the mesh pushes to it.
//!
//! One plain [`Connection`] at a time, reopened with backoff when it drops
//! and resumed with `sync` from the highest gapless `seq` seen per chat.
//! Unlike the SDK's resuming session it neither deduplicates nor reorders:
//! the history must show what the server actually delivered. Frames the
//! history cares about are handed to the device's process, which records
//! them between its own operations so each process's events stay
//! sequential.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use client::ws::{ConnectOptions, Connection};
use protocol::backoff::Backoff;
use protocol::chats::SendStatus;
use protocol::frames::{ClientFrame, ServerFrame};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::history::{MarksSeen, Msg};

use super::auth::DeviceAuth;
use super::convert;

/// A pushed frame worth recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A `message` frame.
    Message {
        /// The chat.
        chat: String,
        /// The message.
        message: Msg,
    },
    /// A `sent` frame with status `sent` (the final answer of an accepted send).
    Sent {
        /// The chat.
        chat: String,
        /// The send's key.
        client_msg_id: String,
        /// Its position.
        seq: u64,
        /// Its HLC.
        hlc: String,
    },
    /// A `receipt` frame.
    Marks(MarksSeen),
}

/// Per chat, the highest `seq` received with none missing below it: the
/// `sync` cursors after a reconnect.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cursors(BTreeMap<String, u64>);

impl Cursors {
    /// Notes a received message.
    pub fn saw(&mut self, chat: &str, seq: u64) {
        let cursor = self.0.entry(chat.to_owned()).or_insert(0);
        if seq == *cursor + 1 {
            *cursor = seq;
        }
    }

    /// The cursors to send in `sync`.
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        self.0.clone()
    }
}

/// Turns a server frame into what the history records, if anything.
pub fn observe(frame: ServerFrame) -> Option<Observation> {
    match frame {
        ServerFrame::Message(message) => Some(Observation::Message {
            chat: message.chat_id.clone(),
            message: convert::msg(&message),
        }),
        ServerFrame::Sent {
            client_msg_id,
            chat_id,
            seq,
            hlc,
            status: SendStatus::Sent,
        } => Some(Observation::Sent {
            chat: chat_id,
            client_msg_id,
            seq,
            hlc: hlc.to_string(),
        }),
        ServerFrame::Receipt {
            chat_id,
            user_id,
            delivered_seq,
            read_seq,
        } => Some(Observation::Marks(MarksSeen {
            chat: chat_id,
            user: user_id,
            delivered_seq,
            read_seq,
        })),
        _ => None,
    }
}

/// Keeps a WebSocket open to `base` as the device until `cancel`, handing
/// observations to `out`. Ends early if `out` is closed.
pub async fn watch(
    base: String,
    auth: Arc<DeviceAuth>,
    issuer: client::Client,
    out: mpsc::UnboundedSender<Observation>,
    cancel: CancellationToken,
) {
    let mut cursors = Cursors::default();
    // Whole steps (jitter 1.0): 200 ms, doubling up to 3 s.
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(3));
    let options = ConnectOptions {
        timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    };
    while !cancel.is_cancelled() {
        let token = auth.access();
        let connected = tokio::select! {
            c = Connection::connect_with(&base, &token, options.clone()) => c,
            () = cancel.cancelled() => return,
        };
        let connection = match connected {
            Ok(connection) => connection,
            Err(error) => {
                if error.is_unauthorized()
                    && let Err(error) = auth.refresh(&issuer, &token).await
                {
                    tracing::warn!(%error, "refresh the device's tokens");
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay(1.0)) => {}
                    () = cancel.cancelled() => return,
                }
                continue;
            }
        };
        backoff.reset();
        if !serve(connection, &mut cursors, &out, &cancel).await {
            return;
        }
    }
}

/// Reads one connection until it drops (answers true: reconnect) or the
/// run ends or nobody listens (false).
async fn serve(
    mut connection: Connection,
    cursors: &mut Cursors,
    out: &mpsc::UnboundedSender<Observation>,
    cancel: &CancellationToken,
) -> bool {
    let sync = ClientFrame::Sync {
        cursors: cursors.to_map(),
    };
    if connection.send(&sync).await.is_err() {
        return true;
    }
    // The server closes connections that stay silent for 60 s.
    let mut keepalive = tokio::time::interval(Duration::from_secs(15));
    keepalive.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                // Closing politely is a courtesy; the run is over either way.
                let _ = connection.close().await;
                return false;
            }
            _ = keepalive.tick() => {
                let ping = ClientFrame::Ping { nonce: serde_json::Value::Null };
                if connection.send(&ping).await.is_err() {
                    return true;
                }
            }
            frame = connection.next() => {
                let Ok(frame) = frame else { return true };
                let Some(observation) = observe(frame) else { continue };
                if let Observation::Message { chat, message } = &observation {
                    cursors.saw(chat, message.seq);
                }
                if out.send(observation).is_err() {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Hlc;

    #[test]
    fn cursors_move_only_without_gaps() {
        let mut cursors = Cursors::default();
        cursors.saw("c", 1);
        cursors.saw("c", 3);
        assert_eq!(cursors.to_map()["c"], 1);
        cursors.saw("c", 2);
        cursors.saw("c", 2);
        assert_eq!(cursors.to_map()["c"], 2);
        cursors.saw("d", 5);
        assert_eq!(cursors.to_map()["d"], 0);
    }

    #[test]
    fn only_final_sents_receipts_and_messages_are_observed() {
        let accepted = ServerFrame::Sent {
            client_msg_id: "m".into(),
            chat_id: "c".into(),
            seq: 0,
            hlc: Hlc(5),
            status: SendStatus::Accepted,
        };
        assert_eq!(observe(accepted), None);
        let sent = ServerFrame::Sent {
            client_msg_id: "m".into(),
            chat_id: "c".into(),
            seq: 7,
            hlc: Hlc(5),
            status: SendStatus::Sent,
        };
        assert_eq!(
            observe(sent),
            Some(Observation::Sent {
                chat: "c".into(),
                client_msg_id: "m".into(),
                seq: 7,
                hlc: Hlc(5).to_string(),
            })
        );
        let receipt = ServerFrame::Receipt {
            chat_id: "c".into(),
            user_id: "u".into(),
            delivered_seq: 4,
            read_seq: 2,
        };
        assert!(matches!(observe(receipt), Some(Observation::Marks(m)) if m.read_seq == 2));
        assert_eq!(
            observe(ServerFrame::Pong {
                nonce: serde_json::Value::Null
            }),
            None
        );
    }
}
