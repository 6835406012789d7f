//! [`ClientError`]: transport failures and the server's protocol errors.

use protocol::ErrorCode;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a protocol error.
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Protocol error code.
        code: ErrorCode,
        /// The server's message.
        message: String,
        /// `Retry-After` seconds, when the server sent one.
        retry_after: Option<u64>,
    },
    /// The server answered with something that is not the protocol.
    #[error("unexpected answer {status}: {body}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// The request could not be sent or the answer not read.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The base URL is unusable.
    #[error("invalid server URL: {0}")]
    Url(String),
}

impl ClientError {
    /// The protocol error code, if the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}
