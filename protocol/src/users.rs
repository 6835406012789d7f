//! Public profiles and the caller's own account.

use serde::{Deserialize, Serialize};

/// `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The caller's user id.
    pub user_id: String,
    /// The caller's username.
    pub username: String,
    /// The caller's display name.
    pub display_name: String,
    /// The region the account was registered in.
    pub home_region: String,
    /// A short status line; empty if unset.
    #[serde(default)]
    pub status_text: String,
    /// The avatar's media id; empty if unset.
    #[serde(default)]
    pub avatar_media_id: String,
}

/// `GET /v1/users/{user_id}` and `GET /v1/users?username=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// The user's id.
    pub user_id: String,
    /// The user's username.
    pub username: String,
    /// The user's display name.
    pub display_name: String,
    /// A short status line ("in a meeting"); empty if unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_text: String,
    /// The avatar's media id; empty if unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avatar_media_id: String,
    /// True for a deleted account: no name, no profile; its messages stay.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// `PATCH /v1/me`: fields to change; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// New display name, 1–64 characters.
    #[serde(default)]
    pub display_name: Option<String>,
    /// New status line, at most 140 characters.
    #[serde(default)]
    pub status_text: Option<String>,
    /// New avatar: the id of uploaded media, 1–128 of `A-Z a-z 0-9 _ -`;
    /// empty removes it.
    #[serde(default)]
    pub avatar_media_id: Option<String>,
}

/// A user with their presence, as `GET /v1/contacts` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The profile.
    #[serde(flatten)]
    pub profile: UserProfile,
    /// Whether the user has a connection in some region now.
    pub online: bool,
    /// When they were last seen online (ms since the Unix epoch; 0 if
    /// never seen by this region).
    pub last_seen: u64,
}

/// `GET /v1/contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactList {
    /// The caller's contacts, by user id.
    pub contacts: Vec<Contact>,
}

/// `GET /v1/blocks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockList {
    /// The users the caller has blocked, by user id.
    pub blocks: Vec<UserProfile>,
}

/// `DELETE /v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The account's password, asked again.
    pub password: String,
}
