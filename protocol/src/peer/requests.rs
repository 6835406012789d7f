//! Requests one region makes of another over the mesh, for operations only
//! a particular region may decide: a username's claim, a refresh token's
//! rotation at its issuer, a direct chat at the region owning the pair, a
//! group created at a named home, a change to a chat at its home.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;
use crate::auth::TokenResponse;
use crate::chats::{Chat, Role};

/// A request to a peer region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A chat change as it travels between regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Give a member a role (the owner only).
    SetRole {
        /// The member.
        user_id: String,
        /// The role.
        role: Role,
    },
    /// Delete the group.
    Delete,
}

/// A peer's answer to a [`PeerRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PeerReply {
    /// Done, nothing to answer (a claimed username).
    Done,
    /// The chat afterwards (a created group, a changed chat).
    Chat {
        /// The chat.
        chat: Chat,
    },
    /// A pair's direct chat.
    Direct {
        /// The chat.
        chat: Chat,
        /// Whether the request created it.
        created: bool,
    },
    /// A rotated refresh token's new tokens.
    Tokens {
        /// The tokens.
        tokens: TokenResponse,
    },
    /// Refused.
    Err {
        /// Protocol error code.
        code: ErrorCode,
        /// Why.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_tagged() {
        let request = PeerRequest::ChangeChat {
            chat_id: "c1".into(),
            actor: "u1".into(),
            change: ChatChange::Remove {
                user_id: "u2".into(),
            },
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["op"], "change_chat");
        assert_eq!(json["change"]["kind"], "remove");
        let back: PeerRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
        let reply = PeerReply::Err {
            code: ErrorCode::NotMember,
            message: "no".into(),
        };
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"result": "err", "code": "not_member", "message": "no"})
        );
        assert!(
            serde_json::from_str::<PeerReply>(r#"{"result":"err","code":"nope","message":""}"#)
                .is_err()
        );
    }
}
