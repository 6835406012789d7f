//! Accounts, logins, tokens and devices.

use serde::{Deserialize, Serialize};

/// `POST /v1/auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 characters of `a-z 0-9 _ . -`, unique across the mesh.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9_.-]{3,32}$"))]
    pub username: String,
    /// At least 8 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 8))]
    pub password: String,
    /// Shown to other users; defaults to the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Answer to a successful registration (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    /// The new user's id.
    pub user_id: String,
}

/// `POST /v1/auth/login`; every login creates a new device.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's username.
    pub username: String,
    /// The account's password.
    pub password: String,
    /// A label for the new device ("Alice's phone").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// Tokens handed out by login and refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// The account.
    pub user_id: String,
    /// The device these tokens belong to.
    pub device_id: String,
    /// Short-lived bearer token for the API and the WebSocket.
    pub access_token: String,
    /// Single-use token that buys a new pair; reusing an old one revokes the device.
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
}

/// `POST /v1/auth/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The most recent refresh token of the device.
    pub refresh_token: String,
}

/// One device of the caller, as `GET /v1/devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    /// The device's id.
    pub device_id: String,
    /// The name given at login.
    pub name: String,
    /// Milliseconds since the Unix epoch when the device logged in.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch of the device's last token refresh or login.
    pub last_active_at: u64,
    /// True for the device making the request.
    pub current: bool,
}

/// `GET /v1/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicesResponse {
    /// The caller's devices that are not revoked, oldest first.
    pub devices: Vec<DeviceInfo>,
}
