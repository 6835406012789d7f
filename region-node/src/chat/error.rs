//! [`Error`]: what the chat domain answers when it cannot do what it was
//! asked — the chat's own refusal ([`ChatError`]), or a failure of the
//! store, a record, the link to another region or a chat's task. The
//! HTTP and WebSocket edges turn it into the protocol's error body.

use chat_core::ChatError;
use protocol::ErrorCode;
use store::{AsStoreError, StoreError};

use crate::codec::CorruptRecord;
use crate::link::LinkError;

/// Why a chat operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chat refused.
    #[error(transparent)]
    Refused(#[from] ChatError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored record could not be read.
    #[error(transparent)]
    Corrupt(#[from] CorruptRecord),
    /// Another region could not be asked.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// A chat's task stopped before answering.
    #[error("the task of chat {0} stopped")]
    TaskGone(String),
}

impl Error {
    /// The protocol error code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Refused(refusal) => refusal.code(),
            Self::Link(_) => ErrorCode::HomeUnreachable,
            Self::Store(_) | Self::Corrupt(_) | Self::TaskGone(_) => ErrorCode::Internal,
        }
    }

    /// A not-found refusal.
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::Refused(ChatError::NotFound(what.into()))
    }

    /// An invalid-input refusal.
    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Self::Refused(ChatError::Invalid(what.into()))
    }

    /// The same failure again, for a second waiter.
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::Refused(refusal) => Self::Refused(refusal.clone()),
            Self::Link(error) => Self::Link(error.clone()),
            Self::Store(StoreError::Conflict) => Self::Store(StoreError::Conflict),
            Self::Store(StoreError::Unavailable(failure)) => {
                Self::Store(StoreError::Unavailable(failure.clone()))
            }
            other => Self::Refused(ChatError::Storage(other.to_string())),
        }
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
