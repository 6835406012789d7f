//! [`ChatError`]: why a chat refused an input. The HTTP and WebSocket edges
//! turn it into the protocol's error body; a peer region receives its code.

use protocol::ErrorCode;

/// Why a chat refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// The chat, a user or a message does not exist (or the chat was deleted).
    #[error("{0}")]
    NotFound(String),
    /// The caller is not a member of the chat.
    #[error("not a member of this chat")]
    NotMember,
    /// The caller is a member but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A field fails validation.
    #[error("{0}")]
    Invalid(String),
    /// A field is over its size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The input clashes with what the chat holds (a gap in replicated
    /// entries, a pair that already has a direct chat).
    #[error("{0}")]
    Conflict(String),
    /// The other user of this direct chat has blocked the sender.
    #[error("{0}")]
    Blocked(String),
    /// The chat's home region cannot be reached.
    #[error("{0}")]
    HomeUnreachable(String),
    /// The store failed; the shell logs the detail.
    #[error("{0}")]
    Storage(String),
}

impl ChatError {
    /// The protocol error code clients and peers see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::NotMember => ErrorCode::NotMember,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Invalid(_) => ErrorCode::BadRequest,
            Self::TooLarge(_) => ErrorCode::TooLarge,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::HomeUnreachable(_) => ErrorCode::HomeUnreachable,
            Self::Blocked(_) => ErrorCode::Blocked,
            Self::Storage(_) => ErrorCode::Internal,
        }
    }

    /// The error a peer region answered with `code`.
    pub fn from_code(code: ErrorCode, message: String) -> Self {
        match code {
            ErrorCode::NotFound => Self::NotFound(message),
            ErrorCode::NotMember => Self::NotMember,
            ErrorCode::Forbidden | ErrorCode::Unauthorized => Self::Forbidden(message),
            ErrorCode::BadRequest | ErrorCode::RateLimited | ErrorCode::UnsupportedMedia => {
                Self::Invalid(message)
            }
            ErrorCode::TooLarge => Self::TooLarge(message),
            ErrorCode::Conflict => Self::Conflict(message),
            ErrorCode::HomeUnreachable => Self::HomeUnreachable(message),
            ErrorCode::Blocked => Self::Blocked(message),
            ErrorCode::Internal => Self::Storage(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_a_trip_to_a_peer_and_back() {
        for error in [
            ChatError::NotFound("x".into()),
            ChatError::NotMember,
            ChatError::Forbidden("x".into()),
            ChatError::Invalid("x".into()),
            ChatError::TooLarge("x".into()),
            ChatError::Conflict("x".into()),
            ChatError::HomeUnreachable("x".into()),
            ChatError::Blocked("x".into()),
            ChatError::Storage("x".into()),
        ] {
            let back = ChatError::from_code(error.code(), error.to_string());
            assert_eq!(back.code(), error.code());
        }
    }
}
