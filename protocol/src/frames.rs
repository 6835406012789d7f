//! WebSocket frames: one JSON object per text frame, tagged by `type`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chats::{Chat, Message, SendStatus};
use crate::error::ErrorCode;
use crate::hlc::Hlc;

/// Largest accepted text frame, in bytes.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Largest message text, in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Frames a client sends. Unknown fields are refused, as in HTTP bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Send a message; answered by `sent` or `error`.
    Send {
        /// The chat.
        chat_id: String,
        /// Idempotency key.
        client_msg_id: String,
        /// The text.
        text: String,
        /// The `seq` of the message this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Replace the text of one's own message; answered by `sent` or `error`.
    Edit {
        /// The chat.
        chat_id: String,
        /// Idempotency key.
        client_msg_id: String,
        /// The message edited.
        target_seq: u64,
        /// The new text.
        text: String,
    },
    /// Delete a message for everyone; answered by `sent` or `error`.
    Delete {
        /// The chat.
        chat_id: String,
        /// Idempotency key.
        client_msg_id: String,
        /// The message deleted.
        target_seq: u64,
    },
    /// Add or remove a reaction; answered by `sent` or `error`.
    React {
        /// The chat.
        chat_id: String,
        /// Idempotency key.
        client_msg_id: String,
        /// The message reacted to.
        target_seq: u64,
        /// One emoji.
        emoji: String,
        /// Add (`true`) or remove (`false`).
        on: bool,
    },
    /// This device has received everything up to `seq`.
    Ack {
        /// The chat.
        chat_id: String,
        /// Highest received `seq`.
        seq: u64,
    },
    /// The user has read everything up to `seq`.
    Read {
        /// The chat.
        chat_id: String,
        /// Highest read `seq`.
        seq: u64,
    },
    /// Typing started or stopped.
    Typing {
        /// The chat.
        chat_id: String,
        /// True while typing.
        active: bool,
    },
    /// Replay everything after each cursor (chats not listed: from the
    /// start), then `synced`.
    Sync {
        /// Last `seq` seen per chat.
        #[serde(default)]
        cursors: BTreeMap<String, u64>,
    },
    /// Receive `presence` for these users.
    PresenceSubscribe {
        /// Users to watch.
        user_ids: Vec<String>,
    },
    /// Answered by `pong` with the same nonce.
    Ping {
        /// Anything; echoed back.
        #[serde(default)]
        nonce: serde_json::Value,
    },
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame after the upgrade.
    Ready {
        /// The user.
        user_id: String,
        /// This device.
        device_id: String,
        /// The region serving the connection.
        region: String,
        /// The server's clock.
        hlc: Hlc,
    },
    /// A send was committed (`sent`) or held (`accepted`).
    Sent {
        /// Echo of the idempotency key.
        client_msg_id: String,
        /// The chat.
        chat_id: String,
        /// The assigned `seq`.
        seq: u64,
        /// The message's HLC.
        hlc: Hlc,
        /// `sent` or `accepted`.
        status: SendStatus,
    },
    /// A message of one of the user's chats.
    Message(Message),
    /// A message accepted by this region while the chat's home is
    /// unreachable: not yet sequenced (`seq` is 0). Show it after the last
    /// sequenced message, in `hlc` order; the `message` with its `seq`
    /// follows once the home has sequenced it (same `client_msg_id`).
    Pending(Message),
    /// A member's delivered/read marks moved.
    Receipt {
        /// The chat.
        chat_id: String,
        /// Whose marks.
        user_id: String,
        /// Highest `seq` delivered to any of their devices.
        delivered_seq: u64,
        /// Highest `seq` they have read.
        read_seq: u64,
    },
    /// A member started or stopped typing.
    Typing {
        /// The chat.
        chat_id: String,
        /// Who.
        user_id: String,
        /// True while typing.
        active: bool,
    },
    /// A watched user came online or went offline.
    Presence {
        /// Who.
        user_id: String,
        /// Whether any of their devices is connected.
        online: bool,
        /// Milliseconds since the Unix epoch when last online (0 if never).
        last_seen: u64,
    },
    /// A chat this user belongs to was created or changed.
    Chat {
        /// The chat as it is now.
        chat: Chat,
    },
    /// Replay done; live from here.
    Synced {
        /// Last `seq` sent per chat.
        cursors: BTreeMap<String, u64>,
    },
    /// A request failed.
    Error {
        /// Protocol error code.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
        /// The `client_msg_id` or request this answers, if any.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's nonce.
        nonce: serde_json::Value,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_use_the_documented_tags() {
        let frame: ClientFrame = serde_json::from_str(
            r#"{"type":"send","chat_id":"c","client_msg_id":"m","text":"hi"}"#,
        )
        .unwrap();
        assert!(matches!(frame, ClientFrame::Send { reply_to: None, .. }));
        let frame: ClientFrame = serde_json::from_str(
            r#"{"type":"react","chat_id":"c","client_msg_id":"m","target_seq":3,"emoji":"👍","on":true}"#,
        )
        .unwrap();
        assert!(matches!(
            frame,
            ClientFrame::React {
                target_seq: 3,
                on: true,
                ..
            }
        ));
        let frame: ClientFrame = serde_json::from_str(
            r#"{"type":"edit","chat_id":"c","client_msg_id":"m","target_seq":3,"text":"x"}"#,
        )
        .unwrap();
        assert!(matches!(frame, ClientFrame::Edit { target_seq: 3, .. }));
        let frame: ClientFrame = serde_json::from_str(
            r#"{"type":"delete","chat_id":"c","client_msg_id":"m","target_seq":3}"#,
        )
        .unwrap();
        assert!(matches!(frame, ClientFrame::Delete { target_seq: 3, .. }));
        let frame: ClientFrame =
            serde_json::from_str(r#"{"type":"presence_subscribe","user_ids":["u"]}"#).unwrap();
        assert!(matches!(frame, ClientFrame::PresenceSubscribe { .. }));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"explode"}"#).is_err());

        let error = ServerFrame::Error {
            code: ErrorCode::NotMember,
            message: "no".into(),
            reference: Some("m1".into()),
        };
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["code"], "not_member");
        assert_eq!(value["ref"], "m1");
    }
}
