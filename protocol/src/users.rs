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
    /// The region that holds the account.
    pub home_region: String,
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
    /// An avatar URL; empty if unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avatar: String,
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
    /// New avatar URL, at most 1,024 bytes.
    #[serde(default)]
    pub avatar: Option<String>,
}
