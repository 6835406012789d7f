//! Requests one region makes of another over the mesh (one QUIC
//! bidirectional stream each), for operations only a particular region may
//! decide: a username's claim, a group created at a named home, a change
//! to a chat at its home.

use serde::{Deserialize, Serialize};

use protocol::ErrorCode;

use crate::chat::sequencer::Change;

/// A request to a peer region.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PeerRequest {
    /// Claim `username` for `user_id` at the region that owns the name.
    ClaimUsername {
        /// The name.
        username: String,
        /// The user it is for.
        user_id: String,
    },
    /// Rotate a refresh token the receiving region issued.
    Refresh {
        /// The token.
        refresh_token: String,
    },
    /// The direct chat of `user` and `peer`, created if need be at the
    /// receiving region, which owns the pair.
    CreateDirect {
        /// Who asks.
        user: String,
        /// The other user.
        peer: String,
    },
    /// Create a group homed at the receiving region, owned by `owner`.
    CreateGroup {
        /// The owner.
        owner: String,
        /// Its title.
        title: String,
        /// Initial members besides the owner.
        members: Vec<String>,
        /// Its description.
        description: Option<String>,
    },
    /// Change a chat at its home region on behalf of `actor`.
    ChangeChat {
        /// The chat.
        chat_id: String,
        /// Who asks.
        actor: String,
        /// What.
        change: ChatChange,
    },
}

/// State other regions merge as they arrive: receipt marks (max-registers,
/// over a reliable stream) and typing (over unreliable datagrams).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "delta", rename_all = "snake_case")]
pub enum MeshDelta {
    /// A member's delivered/read marks.
    Marks {
        /// The chat.
        chat_id: String,
        /// The member.
        user_id: String,
        /// Delivered up to.
        delivered: u64,
        /// Read up to.
        read: u64,
    },
    /// Typing started or stopped.
    Typing {
        /// The chat.
        chat_id: String,
        /// Who.
        user_id: String,
        /// Started or stopped.
        active: bool,
    },
    /// A user's profile document (automerge), to merge.
    Profile {
        /// Whose.
        user_id: String,
        /// The whole document, base64.
        doc: String,
    },
    /// A group's metadata document (automerge), to merge.
    ChatMeta {
        /// The chat.
        chat_id: String,
        /// The whole document, base64.
        doc: String,
        /// Who edited it last.
        editor: String,
    },
    /// A user went online or offline in the sending region.
    Presence {
        /// Who.
        user_id: String,
        /// Online there.
        online: bool,
        /// Last seen there, ms.
        last_seen: u64,
        /// When the sending region saw the change.
        hlc: protocol::Hlc,
    },
}

/// A chat change as it travels between regions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatChange {
    /// Add members.
    AddMembers {
        /// The users.
        user_ids: Vec<String>,
    },
    /// Remove a member (or leave).
    Remove {
        /// The user.
        user_id: String,
    },
    /// Delete the group.
    Delete,
}

/// A peer's answer: a JSON value, or the API error it would have given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PeerReply {
    /// Done; the value depends on the request.
    Ok {
        /// The answer.
        value: serde_json::Value,
    },
    /// Refused.
    Err {
        /// Protocol error code.
        code: ErrorCode,
        /// Why.
        message: String,
    },
}

impl From<Change> for ChatChange {
    fn from(change: Change) -> Self {
        match change {
            Change::AddMembers(user_ids) => Self::AddMembers { user_ids },
            Change::Remove(user_id) => Self::Remove { user_id },
            Change::Delete => Self::Delete,
        }
    }
}

impl From<ChatChange> for Change {
    fn from(change: ChatChange) -> Self {
        match change {
            ChatChange::AddMembers { user_ids } => Self::AddMembers(user_ids),
            ChatChange::Remove { user_id } => Self::Remove(user_id),
            ChatChange::Delete => Self::Delete,
        }
    }
}
