//! Messages between regions: log replication from a chat's home region to
//! its replicas, and sends forwarded to a chat's home on behalf of users
//! connected elsewhere.
//!
//! Every message is one JSON object tagged by `type`. The replication state
//! machines in the `sync` crate decide when each is sent; these types only
//! fix the names. Log entry bodies are typed ([`EntryBody`]): a chat's
//! message (with the chat's state after it, when it changed the chat) or an
//! account event; replication only reads their size.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ErrorCode;
use crate::chats::{Message, MessageKind};
use crate::hlc::Hlc;
use crate::records::{AccountEvent, ChatState};

/// One committed entry of a chat's log, as the home region sequenced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The chat.
    pub chat_id: String,
    /// Position in the chat's log: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// When the home region sequenced it.
    pub hlc: Hlc,
    /// The entry itself.
    pub body: EntryBody,
}

/// What a log entry holds.
// Nearly every entry is a chat message: boxing it to shrink the rare
// account entries would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryBody {
    /// A chat's message at this `seq`.
    Message {
        /// The message.
        message: Message,
        /// The chat after it, for the first entry and system messages: a
        /// replica learns the chat and its members from it without
        /// replaying the home's rules.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<ChatState>,
    },
    /// A change of a region's account log.
    Account {
        /// The change.
        event: AccountEvent,
    },
}

impl EntryBody {
    /// A rough size on the wire, in bytes, for filling messages.
    pub fn approx_size(&self) -> usize {
        match self {
            Self::Message { message, state } => {
                128 + message.text.len() + state.as_ref().map_or(0, |s| 128 + 96 * s.members.len())
            }
            Self::Account { .. } => 512,
        }
    }
}

/// A user's send that a non-home region forwards to the chat's home region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardSend {
    /// Unique per forwarded item (the forwarding region's outbox key); the
    /// result carries it back.
    pub id: String,
    /// The chat.
    pub chat_id: String,
    /// The sending user.
    pub sender_id: String,
    /// The sending device.
    pub device_id: String,
    /// The client's idempotency key; the home deduplicates on
    /// `(chat_id, sender_id, client_msg_id)`, so resending is safe.
    pub client_msg_id: String,
    /// The message text (for `edit`, the new text; empty for `delete` and
    /// `reaction`).
    pub text: String,
    /// When the forwarding region accepted the send.
    pub hlc: Hlc,
    /// The entry's kind: `text`, or an action on `target_seq`.
    #[serde(default)]
    pub kind: MessageKind,
    /// For `text`: the message answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// For `edit`, `delete`, `reaction`: the message acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seq: Option<u64>,
    /// For `reaction`: the emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// For `reaction`: added or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
}

/// The home region's answer to a [`ForwardSend`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardResult {
    /// The [`ForwardSend::id`] this answers.
    pub id: String,
    /// What became of it.
    pub outcome: ForwardOutcome,
}

/// What the home region did with a forwarded send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ForwardOutcome {
    /// Committed at `seq` (now, or earlier if this was a resend).
    Sequenced {
        /// The message's position in the chat's log.
        seq: u64,
        /// The message's timestamp.
        hlc: Hlc,
    },
    /// Refused for good (not a member, chat deleted, …); resending will not
    /// change the answer.
    Rejected {
        /// A stable error code, as in the client protocol's error body.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
    },
}

/// Any message one region sends another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PeerMessage {
    /// Replica → home: the last `seq` I hold durably, per chat homed at you.
    Hello {
        /// Chat id → last durable `seq`; chats missing here count as 0.
        cursors: BTreeMap<String, u64>,
    },
    /// Home → replica: every chat I home and its last `seq`, so a replica
    /// learns of chats it has never heard of.
    Catalog {
        /// Chat id → last committed `seq`.
        chats: BTreeMap<String, u64>,
    },
    /// Home → replica: consecutive log entries of one chat, in `seq` order.
    Entries {
        /// The chat.
        chat_id: String,
        /// The entries.
        entries: Vec<LogEntry>,
    },
    /// Replica → home, cumulative: applied durably through `seq`.
    Ack {
        /// The chat.
        chat_id: String,
        /// Last durable `seq`.
        seq: u64,
    },
    /// Replica → home: I saw a gap; send again everything after `after_seq`.
    Resend {
        /// The chat.
        chat_id: String,
        /// Last `seq` held (or being applied) without a gap.
        after_seq: u64,
    },
    /// Forwarding region → home: sequence this send.
    ForwardSend(ForwardSend),
    /// Home → forwarding region: what became of a forwarded send.
    ForwardResult(ForwardResult),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(message: &PeerMessage) -> serde_json::Value {
        let text = serde_json::to_string(message).unwrap();
        let back: PeerMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, message);
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn replication_messages_are_tagged_by_type() {
        let entry = LogEntry {
            chat_id: "c1".into(),
            seq: 7,
            hlc: Hlc::new(1_700_000_000_000, 2),
            body: EntryBody::Account {
                event: AccountEvent::DeviceRevoked {
                    user_id: "u1".into(),
                    device_id: "d1".into(),
                    revoked_at: 5,
                },
            },
        };
        let json = roundtrip(&PeerMessage::Entries {
            chat_id: "c1".into(),
            entries: vec![entry],
        });
        assert_eq!(
            json,
            serde_json::json!({
                "type": "entries",
                "chat_id": "c1",
                "entries": [{
                    "chat_id": "c1",
                    "seq": 7,
                    "hlc": "018bcfe568000002",
                    "body": {"kind": "account", "event": {
                        "event": "device_revoked", "user_id": "u1", "device_id": "d1", "revoked_at": 5
                    }}
                }]
            })
        );
        let cursors = BTreeMap::from([("c1".to_string(), 3), ("c2".to_string(), 0)]);
        let json = roundtrip(&PeerMessage::Hello { cursors });
        assert_eq!(json["type"], "hello");
        assert_eq!(json["cursors"]["c1"], 3);
        let json = roundtrip(&PeerMessage::Catalog {
            chats: BTreeMap::from([("c9".to_string(), 12)]),
        });
        assert_eq!(
            json,
            serde_json::json!({"type": "catalog", "chats": {"c9": 12}})
        );
        let json = roundtrip(&PeerMessage::Ack {
            chat_id: "c1".into(),
            seq: 5,
        });
        assert_eq!(
            json,
            serde_json::json!({"type": "ack", "chat_id": "c1", "seq": 5})
        );
        let json = roundtrip(&PeerMessage::Resend {
            chat_id: "c1".into(),
            after_seq: 4,
        });
        assert_eq!(
            json,
            serde_json::json!({"type": "resend", "chat_id": "c1", "after_seq": 4})
        );
    }

    #[test]
    fn forwarding_messages_flatten_into_one_object() {
        let json = roundtrip(&PeerMessage::ForwardSend(ForwardSend {
            id: "ob-1".into(),
            chat_id: "c1".into(),
            sender_id: "u1".into(),
            device_id: "d1".into(),
            client_msg_id: "m1".into(),
            text: "hello".into(),
            hlc: Hlc::new(5, 0),
            kind: MessageKind::Text,
            reply_to: None,
            target_seq: None,
            emoji: None,
            on: None,
        }));
        assert_eq!(json["type"], "forward_send");
        assert_eq!(json["client_msg_id"], "m1");
        assert_eq!(json["hlc"], "0000000000050000");

        let json = roundtrip(&PeerMessage::ForwardResult(ForwardResult {
            id: "ob-1".into(),
            outcome: ForwardOutcome::Sequenced {
                seq: 9,
                hlc: Hlc::new(6, 1),
            },
        }));
        assert_eq!(
            json,
            serde_json::json!({
                "type": "forward_result",
                "id": "ob-1",
                "outcome": {"status": "sequenced", "seq": 9, "hlc": "0000000000060001"}
            })
        );
        let json = roundtrip(&PeerMessage::ForwardResult(ForwardResult {
            id: "ob-2".into(),
            outcome: ForwardOutcome::Rejected {
                code: ErrorCode::NotMember,
                message: "you are not a member of this chat".into(),
            },
        }));
        assert_eq!(json["outcome"]["status"], "rejected");
        assert_eq!(json["outcome"]["code"], "not_member");
    }

    #[test]
    fn unknown_types_and_bad_fields_are_refused() {
        for text in [
            r#"{"type":"gossip"}"#,
            r#"{"type":"ack","chat_id":"c1"}"#,
            r#"{"type":"ack","chat_id":"c1","seq":-1}"#,
            r#"{"type":"entries","chat_id":"c1","entries":[{"chat_id":"c1","seq":1,"hlc":"zz","body":{"kind":"nope"}}]}"#,
        ] {
            assert!(serde_json::from_str::<PeerMessage>(text).is_err(), "{text}");
        }
    }
}
