//! The error body every failed HTTP request returns, and its codes.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or a field fails validation.
    BadRequest,
    /// No credentials, or credentials that are wrong, expired or revoked.
    Unauthorized,
    /// The caller is known but may not do this.
    Forbidden,
    /// The named resource does not exist.
    NotFound,
    /// The caller is not a member of the chat.
    NotMember,
    /// The request clashes with existing state (e.g. a taken username).
    Conflict,
    /// A body, frame or field is over its size limit.
    TooLarge,
    /// Too many requests; retry after the advertised delay.
    RateLimited,
    /// The chat's home region cannot be reached for an operation that needs it.
    HomeUnreachable,
    /// The other user of a direct chat has blocked the caller.
    Blocked,
    /// An upload's bytes are not of the content type it declares, or of
    /// no type the server accepts.
    UnsupportedMedia,
    /// The server failed; details are in its logs, not in the answer.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::NotMember => "not_member",
            Self::Conflict => "conflict",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::HomeUnreachable => "home_unreachable",
            Self::Blocked => "blocked",
            Self::UnsupportedMedia => "unsupported_media",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// The stable code clients branch on.
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
}

impl ErrorBody {
    /// An error body with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_wire_names() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::NotMember,
            ErrorCode::Conflict,
            ErrorCode::TooLarge,
            ErrorCode::RateLimited,
            ErrorCode::HomeUnreachable,
            ErrorCode::Blocked,
            ErrorCode::UnsupportedMedia,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody::new(ErrorCode::Conflict, "username taken");
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": {"code": "conflict", "message": "username taken"}})
        );
    }
}
