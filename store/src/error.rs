//! The store's error type and the helper trait that lets [`Database::run`]
//! recognise retryable store errors inside a caller's own error type.
//!
//! [`Database::run`]: crate::Database::run

/// Errors returned by the store layer.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    /// Another transaction committed a write into this transaction's read set after its read version; retry.
    #[error("transaction conflict: a concurrent commit wrote a key this transaction read")]
    Conflict,
    /// The transaction outlived the window in which its read version can be served or checked; retry.
    #[error("transaction is too old to read or commit; retry with a new transaction")]
    TransactionTooOld,
    /// The operating system reported an I/O error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The database was closed; no further transactions can run.
    #[error("the database is closed")]
    Closed,
    /// A key, value or whole transaction exceeded the size limits.
    #[error("key, value or transaction exceeds the size limits")]
    TooLarge,
    /// The transaction was already committed (or a commit of it is in flight).
    #[error("the transaction was already committed")]
    AlreadyCommitted,
    /// The storage engine reported an error.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether retrying the whole transaction may succeed (what FDB calls `on_error`-retryable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict | StoreError::TransactionTooOld)
    }

    /// Wraps any displayable engine error as [`StoreError::Backend`].
    pub(crate) fn backend(err: impl std::fmt::Display) -> Self {
        StoreError::Backend(err.to_string())
    }
}

/// Lets [`Database::run`](crate::Database::run) find the [`StoreError`] inside a caller's error
/// type, to decide whether the transaction should be retried.
pub trait AsStoreError {
    /// The store error this error wraps, if any.
    fn as_store_error(&self) -> Option<&StoreError>;
}

impl AsStoreError for StoreError {
    fn as_store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflict_and_too_old_are_retryable() {
        assert!(StoreError::Conflict.is_retryable());
        assert!(StoreError::TransactionTooOld.is_retryable());
        assert!(!StoreError::Closed.is_retryable());
        assert!(!StoreError::AlreadyCommitted.is_retryable());
        assert!(!StoreError::TooLarge.is_retryable());
        assert!(!StoreError::Backend("x".into()).is_retryable());
        assert!(!StoreError::Io(std::io::Error::other("x")).is_retryable());
    }
}
