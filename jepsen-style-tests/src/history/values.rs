//! The operations a history holds and the shapes of their values.
//!
//! Client operations (each recorded as `invoke`, then `ok` / `fail` /
//! `info`):
//!
//! | `f` | invoke value | ok value |
//! |---|---|---|
//! | `send` | [`SendInvoke`] | [`SendOk`] (`status` `sent` with `seq`, or `accepted`); a send is a text message, a reply, or an edit, delete or reaction (`kind`, `target_seq`) |
//! | `resolve` | [`Resolve`] | [`Resolve`]: the later final `sent` of an accepted send |
//! | `read` | [`ReadInvoke`] | [`ReadOk`]: every message after `after` the region had |
//! | `recv` | [`Recv`] | [`Recv`]: a message pushed to the device |
//! | `mark_read` | [`MarkRead`] | [`MarkRead`] |
//! | `marks` | [`MarksSeen`] | [`MarksSeen`]: a user's marks as the device saw them |
//! | `set_meta` | [`MetaSet`] | [`Meta`]: the chat's metadata as the region answered |
//! | `get_meta` | [`ChatRef`] | [`Meta`] |
//! | `add_member` | [`Membership`] | [`Membership`] |
//! | `remove_member` | [`Membership`] | [`Membership`] |
//!
//! After the faults heal and the mesh is quiet, the `final` process reads
//! every chat in every region: `final_read` ([`ReadOk`] with `after` 0) and
//! `final_meta` ([`Meta`]), one `ok` per chat and region, then `converged`
//! ([`Converged`], `info`).
//!
//! The nemesis records `nemesis` events ([`Fault`], `info`), one when a fault
//! starts and one when it stops.

use serde::{Deserialize, Serialize};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum F {
    /// Send a text message.
    Send,
    /// The final `sent` of a send first answered `accepted`.
    Resolve,
    /// Read history over HTTP.
    Read,
    /// A message pushed over the WebSocket.
    Recv,
    /// Move the read mark.
    MarkRead,
    /// An observation of a user's delivered/read marks.
    Marks,
    /// Change title and/or description.
    SetMeta,
    /// Read title and description.
    GetMeta,
    /// Add a member to a group.
    AddMember,
    /// Remove a member from a group.
    RemoveMember,
    /// After the run: a whole chat read from one region.
    FinalRead,
    /// After the run: a chat's metadata read from one region.
    FinalMeta,
    /// After the run: how long the mesh took to agree.
    Converged,
    /// A fault started or stopped.
    Nemesis,
}

/// A message as a read or a push showed it: an entry of the chat's log,
/// with its folded state (a text message after the edits, deletes and
/// reactions that target it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    /// Position in the chat's order.
    pub seq: u64,
    /// Hybrid logical clock, 16 lowercase hex digits.
    pub hlc: String,
    /// Author (the actor, for system messages).
    pub sender: String,
    /// The sender's idempotency key.
    pub client_msg_id: String,
    /// `text`, `edit`, `delete`, `reaction` or `system`.
    pub kind: String,
    /// For system messages: what happened (`member_added`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// For member events: who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<String>>,
    /// The text (for `edit`, the new text); empty once deleted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// For `edit`, `delete`, `reaction`: the message acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seq: Option<u64>,
    /// For `reaction`: the emoji and whether it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// For `reaction`: added (`true`) or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
    /// Folded: earlier texts, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<String>,
    /// Folded: deleted for everyone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Folded: reactions, emoji → users in the order they reacted.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub reactions: std::collections::BTreeMap<String, Vec<String>>,
}

impl Msg {
    /// The HLC as a number, if it is well formed.
    pub fn hlc_value(&self) -> Option<u64> {
        parse_hlc(&self.hlc)
    }
}

/// Parses an HLC's hex form.
pub fn parse_hlc(hex: &str) -> Option<u64> {
    u64::from_str_radix(hex, 16).ok()
}

/// A chat, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRef {
    /// The chat.
    pub chat: String,
}

/// `send` invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendInvoke {
    /// The chat.
    pub chat: String,
    /// Idempotency key; a retry reuses it.
    pub client_msg_id: String,
    /// The text (for an edit, the new text; empty for deletes and
    /// reactions).
    pub text: String,
    /// `edit`, `delete` or `reaction` for an action on `target_seq`;
    /// absent for a text message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The message a text message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// The message an action acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_seq: Option<u64>,
    /// A reaction's emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// A reaction added or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
}

/// `send` ok.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOk {
    /// The chat.
    pub chat: String,
    /// Idempotency key.
    pub client_msg_id: String,
    /// `sent` (sequenced) or `accepted` (held by a non-home region).
    pub status: String,
    /// The position, when sequenced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The HLC the answer carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hlc: Option<String>,
}

/// `resolve`: an accepted send's final answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolve {
    /// The chat.
    pub chat: String,
    /// Idempotency key.
    pub client_msg_id: String,
    /// Its position.
    pub seq: u64,
    /// Its HLC.
    pub hlc: String,
}

/// `read` invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadInvoke {
    /// The chat.
    pub chat: String,
    /// Read messages with `seq` greater than this.
    pub after: u64,
}

/// `read` / `final_read` ok: every message after `after` the region held,
/// in the order it answered them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOk {
    /// The chat.
    pub chat: String,
    /// Messages with `seq` greater than this were asked for.
    pub after: u64,
    /// What the region answered.
    pub messages: Vec<Msg>,
}

/// `recv`: a message pushed to the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recv {
    /// The chat.
    pub chat: String,
    /// The message.
    pub message: Msg,
}

/// `mark_read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// The chat.
    pub chat: String,
    /// Read up to this `seq`.
    pub seq: u64,
}

/// `marks`: a user's marks in a chat, as one device saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarksSeen {
    /// The chat.
    pub chat: String,
    /// Whose marks.
    pub user: String,
    /// Highest `seq` delivered to any of their devices.
    pub delivered_seq: u64,
    /// Highest `seq` they read.
    pub read_seq: u64,
}

/// `set_meta` invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaSet {
    /// The chat.
    pub chat: String,
    /// New title, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A chat's metadata as a region showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The chat.
    pub chat: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The chat's home region, as the region answered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
}

/// `add_member` / `remove_member`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The chat.
    pub chat: String,
    /// Who is added or removed.
    pub member: String,
}

/// `converged`: how long after the last heal every region agreed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converged {
    /// Milliseconds from the last fault's end until the final reads agreed.
    pub after_heal_ms: u64,
}

/// `nemesis`: a fault starting or stopping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// `partition`, `slow`, `kill`, `pause`, `skew`, …
    pub fault: String,
    /// `start` or `stop`.
    pub action: String,
    /// The regions it touches.
    #[serde(default)]
    pub regions: Vec<String>,
    /// A readable description (`isolate eu-west`, `+2000ms`, …).
    #[serde(default)]
    pub detail: String,
}
