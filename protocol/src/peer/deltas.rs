//! State other regions merge as it arrives: receipt marks (max-registers,
//! over a reliable stream), typing (over unreliable datagrams), profile and
//! group metadata documents (automerge), and presence.

use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;

/// One piece of mergeable state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        hlc: Hlc,
    },
}
