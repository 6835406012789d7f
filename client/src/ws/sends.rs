//! [`PendingSends`]: `send` frames waiting for their `sent` (or `error`),
//! keyed by `client_msg_id`. They are sent again after every reconnect;
//! the server deduplicates on `(chat, sender, client_msg_id)`, so a resend
//! answers the original `seq`.

use std::collections::BTreeMap;

use protocol::chats::SendMessageResponse;
use protocol::frames::{ClientFrame, ServerFrame};
use tokio::sync::oneshot;

use super::error::SessionError;

/// The answer a waiting send gets.
pub type SendResult = Result<SendMessageResponse, SessionError>;

struct Pending {
    frame: ClientFrame,
    waiters: Vec<oneshot::Sender<SendResult>>,
}

/// Sends in flight.
#[derive(Default)]
pub struct PendingSends {
    by_id: BTreeMap<String, Pending>,
}

impl PendingSends {
    /// Registers a send; a second send with the same `client_msg_id` joins
    /// the first and gets the same answer.
    pub fn insert(
        &mut self,
        client_msg_id: String,
        frame: ClientFrame,
        waiter: oneshot::Sender<SendResult>,
    ) {
        self.by_id
            .entry(client_msg_id)
            .or_insert_with(|| Pending {
                frame,
                waiters: Vec::new(),
            })
            .waiters
            .push(waiter);
    }

    /// Answers the waiters a frame is for; returns the frame back when it is
    /// not the answer to a pending send (so it can be passed on).
    pub fn resolve(&mut self, frame: ServerFrame) -> Option<ServerFrame> {
        let (client_msg_id, result) = match &frame {
            ServerFrame::Sent {
                client_msg_id,
                chat_id,
                seq,
                hlc,
                status,
            } if self.by_id.contains_key(client_msg_id) => (
                client_msg_id.clone(),
                Ok(SendMessageResponse {
                    chat_id: chat_id.clone(),
                    client_msg_id: client_msg_id.clone(),
                    seq: *seq,
                    hlc: *hlc,
                    status: *status,
                }),
            ),
            ServerFrame::Error {
                code,
                message,
                reference: Some(reference),
            } if self.by_id.contains_key(reference) => (
                reference.clone(),
                Err(SessionError::Api {
                    code: *code,
                    message: message.clone(),
                }),
            ),
            _ => return Some(frame),
        };
        if let Some(pending) = self.by_id.remove(&client_msg_id) {
            for waiter in pending.waiters {
                // A waiter that gave up no longer listens; nothing to do.
                let _ = waiter.send(result.clone());
            }
        }
        None
    }

    /// The frames to send again on a new connection, forgetting sends whose
    /// callers stopped waiting.
    pub fn to_resend(&mut self) -> Vec<ClientFrame> {
        self.by_id.retain(|_, pending| {
            pending.waiters.retain(|w| !w.is_closed());
            !pending.waiters.is_empty()
        });
        self.by_id.values().map(|p| p.frame.clone()).collect()
    }

    /// Fails every waiting send with `error`.
    pub fn fail_all(&mut self, error: &SessionError) {
        for (_, pending) in std::mem::take(&mut self.by_id) {
            for waiter in pending.waiters {
                let _ = waiter.send(Err(error.clone()));
            }
        }
    }

    /// Number of sends in flight.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no send is in flight.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use protocol::chats::SendStatus;
    use protocol::{ErrorCode, Hlc};

    use super::*;

    fn send_frame(id: &str) -> ClientFrame {
        ClientFrame::Send {
            chat_id: "c".into(),
            client_msg_id: id.into(),
            text: "hi".into(),
            reply_to: None,
        }
    }

    fn sent(id: &str, seq: u64) -> ServerFrame {
        ServerFrame::Sent {
            client_msg_id: id.into(),
            chat_id: "c".into(),
            seq,
            hlc: Hlc::new(1, 0),
            status: SendStatus::Sent,
        }
    }

    #[tokio::test]
    async fn sent_answers_every_waiter_of_its_id() {
        let mut pending = PendingSends::default();
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        pending.insert("m1".into(), send_frame("m1"), tx1);
        pending.insert("m1".into(), send_frame("m1"), tx2);
        assert_eq!(pending.len(), 1);
        assert!(pending.resolve(sent("other", 3)).is_some());
        assert!(pending.resolve(sent("m1", 7)).is_none());
        assert_eq!(rx1.await.unwrap().unwrap().seq, 7);
        assert_eq!(rx2.await.unwrap().unwrap().seq, 7);
        assert!(pending.is_empty());
        // A second `sent` for the same id (e.g. after `accepted`) passes on.
        assert!(pending.resolve(sent("m1", 7)).is_some());
    }

    #[tokio::test]
    async fn an_error_with_the_ref_answers_the_send() {
        let mut pending = PendingSends::default();
        let (tx, rx) = oneshot::channel();
        pending.insert("m1".into(), send_frame("m1"), tx);
        let unrelated = ServerFrame::Error {
            code: ErrorCode::BadRequest,
            message: "bad frame".into(),
            reference: None,
        };
        assert!(pending.resolve(unrelated).is_some());
        let error = ServerFrame::Error {
            code: ErrorCode::NotMember,
            message: "not a member".into(),
            reference: Some("m1".into()),
        };
        assert!(pending.resolve(error).is_none());
        let answer = rx.await.unwrap().unwrap_err();
        assert_eq!(answer.code(), Some(ErrorCode::NotMember));
    }

    #[tokio::test]
    async fn resends_skip_callers_that_gave_up_and_failures_reach_all() {
        let mut pending = PendingSends::default();
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        pending.insert("gone".into(), send_frame("gone"), tx1);
        pending.insert("m2".into(), send_frame("m2"), tx2);
        drop(rx1);
        assert_eq!(pending.to_resend(), [send_frame("m2")]);
        pending.fail_all(&SessionError::Closed);
        assert!(matches!(rx2.await.unwrap(), Err(SessionError::Closed)));
        assert!(pending.is_empty());
    }
}
