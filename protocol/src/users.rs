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
}
