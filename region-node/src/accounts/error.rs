//! [`Error`]: what the accounts domain answers when it cannot do what it
//! was asked — a refusal the caller may be told about (bad input, wrong
//! credentials, a taken name, too many failed logins, another region's
//! refusal), or a failure here (the store, a record, the link to another
//! region, hashing, signing), whose details belong in the log. The HTTP and
//! WebSocket edges turn it into the protocol's error body; a refusal's
//! `Display` is the message the client sees.

use protocol::ErrorCode;
use store::{AsStoreError, StoreError};
use sync::crdt::CrdtError;

use super::secret::TokenKeyError;
use crate::codec::CorruptRecord;
use crate::link::LinkError;

/// Why an accounts operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input breaks a rule: a field, a log id, a replicated log entry.
    #[error("{0}")]
    Invalid(String),
    /// The caller could not be authenticated: wrong password, a bad or
    /// expired access token, a revoked device, an unknown or reused
    /// refresh token.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this (a wrong password when
    /// deleting the account).
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked about does not exist (a device).
    #[error("{0}")]
    NotFound(String),
    /// The request collides with what is here: a taken username, a refresh
    /// token another region issued, a gap in a replicated account log.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed logins for the username or the address; retry after
    /// `retry_after` seconds.
    #[error("too many failed logins; retry after {retry_after} s")]
    RateLimited {
        /// Seconds until a login may be tried again.
        retry_after: u64,
    },
    /// Another region refused, with this code and message.
    #[error("{message}")]
    Refused {
        /// The code the region answered.
        code: ErrorCode,
        /// The message the region answered.
        message: String,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored record could not be read.
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    /// A stored key or id could not be read.
    #[error("corrupt key: {0}")]
    CorruptKey(String),
    /// A stored profile document could not be read or merged.
    #[error("profile document: {0}")]
    Document(#[source] Box<CrdtError>),
    /// Another region could not be asked.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Another region answered a request with a reply of the wrong kind.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(String),
    /// Hashing or verifying a password failed.
    #[error("password hashing: {0}")]
    Hashing(String),
    /// An access token could not be signed.
    #[error("sign token: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
    /// The mesh's token key file cannot be used.
    #[error("mesh token key: {0}")]
    TokenKey(#[from] TokenKeyError),
    /// A blocking task (hashing, the key file) panicked or was cancelled.
    #[error("blocking task: {0}")]
    Blocking(#[from] tokio::task::JoinError),
}

impl Error {
    /// The protocol error code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::BadRequest,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Refused { code, .. } => *code,
            Self::Link(LinkError::Unreachable { .. }) => ErrorCode::HomeUnreachable,
            Self::Link(LinkError::Garbled { .. })
            | Self::Store(_)
            | Self::Corrupt(_)
            | Self::CorruptKey(_)
            | Self::Document(_)
            | Self::UnexpectedReply(_)
            | Self::Hashing(_)
            | Self::Signing(_)
            | Self::TokenKey(_)
            | Self::Blocking(_) => ErrorCode::Internal,
        }
    }

    /// An invalid-input refusal.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// An authentication refusal.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(message.into())
    }

    /// A not-found refusal.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// A conflict refusal.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
}

impl From<CrdtError> for Error {
    fn from(error: CrdtError) -> Self {
        // Boxed: automerge's errors are large, and every result carries this.
        Self::Document(Box::new(error))
    }
}

impl AsStoreError for Error {
    fn as_store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store(error) => Some(error),
            _ => None,
        }
    }
}
