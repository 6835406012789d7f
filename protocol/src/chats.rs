//! Chats, members, messages and history over HTTP.

use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;

/// Direct (two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    /// A 1:1 chat; exactly one per pair of users.
    Direct,
    /// A group of up to 1,000 members.
    Group,
}

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Plain member.
    Member,
    /// May rename, describe, add and remove members.
    Admin,
    /// The creator: an admin who may also delete the group and change roles.
    Owner,
}

/// `POST /v1/chats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CreateChatRequest {
    /// The direct chat with `peer`, created if it does not exist.
    Direct {
        /// The other user's id.
        peer: String,
    },
    /// A new group; the caller becomes its owner.
    Group {
        /// 1–256 characters.
        title: String,
        /// Initial members besides the caller.
        #[serde(default)]
        members: Vec<String>,
        /// Optional description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// The region that orders the group's messages; the region the
        /// request is made to when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        home_region: Option<String>,
    },
}

/// A member as `GET /v1/chats/{chat_id}` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The member.
    pub user_id: String,
    /// Their role.
    pub role: Role,
    /// The chat's `last_seq` when they joined (their `member_added` message).
    pub joined_seq: u64,
}

/// A chat with its members (`GET /v1/chats/{chat_id}`, `chat` frames).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    /// The chat's id.
    pub chat_id: String,
    /// Direct or group.
    pub kind: ChatKind,
    /// Group title; for direct chats, empty.
    pub title: String,
    /// Group description.
    pub description: String,
    /// The region that orders the chat's messages.
    pub home_region: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Highest `seq` in the chat.
    pub last_seq: u64,
    /// Current members.
    pub members: Vec<MemberInfo>,
    /// True once the owner deleted the group.
    #[serde(default)]
    pub deleted: bool,
    /// The caller's mute (ms since the Unix epoch, 0 = not muted): set in
    /// answers to `GET /v1/chats/{chat_id}`, absent from `chat` frames,
    /// which every member shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<u64>,
}

/// One entry of `GET /v1/chats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSummary {
    /// The chat's id.
    pub chat_id: String,
    /// Direct or group.
    pub kind: ChatKind,
    /// Group title; for direct chats, empty.
    pub title: String,
    /// The region that orders the chat's messages.
    pub home_region: String,
    /// Number of current members.
    pub members_count: u64,
    /// Highest `seq` in the chat.
    pub last_seq: u64,
    /// Highest `seq` the caller has read.
    pub read_seq: u64,
    /// Messages after `read_seq`.
    pub unread: u64,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// The caller's mute: no push before this time (ms since the Unix
    /// epoch); 0 = not muted.
    #[serde(default)]
    pub muted_until: u64,
}

/// `GET /v1/chats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatList {
    /// The caller's chats, most recently active first.
    pub chats: Vec<ChatSummary>,
}

/// `PATCH /v1/chats/{chat_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateChatRequest {
    /// New title, 1–256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description, up to 4,096 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /v1/chats/{chat_id}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMembersRequest {
    /// Users to add.
    pub user_ids: Vec<String>,
}

/// `PATCH /v1/chats/{chat_id}/members/{user_id}` (the owner only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    /// `admin` or `member` grants or revokes the admin role; `owner` hands
    /// the group to this member, and the old owner becomes an admin.
    pub role: Role,
}

/// `PUT /v1/chats/{chat_id}/settings`: the caller's own settings of a chat.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// No push for this chat before this time (ms since the Unix epoch);
    /// 0 = not muted.
    pub muted_until: u64,
}

/// Text or a system event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A user's text message.
    Text,
    /// An event in the chat's life, written by the server.
    System,
}

/// What a system message records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemEvent {
    /// The chat was created (first message of every group).
    ChatCreated,
    /// `user_ids` joined.
    MemberAdded,
    /// `user_ids` were removed (or left, when the actor is the user).
    MemberRemoved,
    /// The title changed to `title`.
    ChatRenamed,
    /// The description changed.
    ChatDescribed,
    /// The owner deleted the group.
    ChatDeleted,
    /// The owner made `user_ids[0]` an admin.
    AdminGranted,
    /// The owner made admin `user_ids[0]` a plain member again.
    AdminRevoked,
    /// The owner (the sender) handed the group to `user_ids[0]` and became
    /// an admin.
    OwnerChanged,
}

/// A message in a chat's log, as history and `message` frames carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The chat.
    pub chat_id: String,
    /// Position in the chat's gapless order, from 1.
    pub seq: u64,
    /// Hybrid logical clock of the send.
    pub hlc: Hlc,
    /// Author (the actor, for system messages).
    pub sender_id: String,
    /// The sender's idempotency key (generated by the server for system messages).
    pub client_msg_id: String,
    /// Text or system.
    pub kind: MessageKind,
    /// The text; for system messages a human-readable summary.
    pub text: String,
    /// For system messages: what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<SystemEvent>,
    /// For member events: who was added or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<String>>,
    /// For `chat_created` and `chat_renamed`: the new title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Milliseconds since the Unix epoch when the home region sequenced it.
    pub sent_at: u64,
}

/// `POST /v1/chats/{chat_id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// The sender's idempotency key, 1–128 characters.
    pub client_msg_id: String,
    /// UTF-8 text, 1 byte to 64 KiB.
    pub text: String,
}

/// Whether a send is sequenced or held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// Committed by the home region with its `seq`.
    Sent,
    /// Held durably by a non-home region while the home is unreachable.
    Accepted,
}

/// Answer to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageResponse {
    /// The chat.
    pub chat_id: String,
    /// Echo of the idempotency key.
    pub client_msg_id: String,
    /// The message's `seq` (0 while `accepted`).
    pub seq: u64,
    /// The message's HLC.
    pub hlc: Hlc,
    /// `sent` or `accepted`.
    pub status: SendStatus,
}

/// `GET /v1/chats/{chat_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Messages in ascending `seq` order.
    pub messages: Vec<Message>,
    /// True when more messages lie beyond this page in the direction read.
    pub has_more: bool,
}

/// `POST /v1/chats/{chat_id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// Everything up to this `seq` is read.
    pub seq: u64,
}
