//! Uploaded media: what `POST /v1/media` answers.

use serde::{Deserialize, Serialize};

/// The largest upload, in bytes: 100 MiB.
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;

/// `POST /v1/media` → 201: an upload as the server stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaInfo {
    /// The media's id, for `GET /v1/media/{media_id}` and (later) `send`.
    pub media_id: String,
    /// The uploader's user id.
    pub uploader: String,
    /// The file name the uploader gave.
    pub filename: String,
    /// The content type, checked against the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, 64 lowercase hex digits.
    pub sha256: String,
    /// Width in pixels, for images (not computed yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels, for images (not computed yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// `POST /v1/media?filename=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as the uploader knows it (1–255 bytes, no `/`).
    pub filename: String,
}
