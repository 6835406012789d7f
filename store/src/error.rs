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
    /// The disk is full or failing: an engine write or sync failed, so the store refuses
    /// reads and writes until it has reopened the engine. A commit answered with this was
    /// not acknowledged; it may or may not reappear after the reopen (an unknown result).
    #[error("storage unavailable: {0}")]
    Unavailable(StorageFailure),
}

/// What kind of storage failure made the store unavailable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCause {
    /// The filesystem has no space (or quota) left.
    DiskFull,
    /// The operating system reported another I/O error.
    Io,
    /// The engine refuses all writes after an earlier failure (fjall "poisons" itself).
    Poisoned,
}

impl std::fmt::Display for FailureCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureCause::DiskFull => "disk full",
            FailureCause::Io => "i/o error",
            FailureCause::Poisoned => "engine poisoned",
        })
    }
}

/// A failed engine write or sync: its kind, and the engine's own words for operators' logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{cause} ({detail})")]
pub struct StorageFailure {
    /// The kind of failure.
    pub cause: FailureCause,
    /// The engine's description of it.
    pub detail: String,
}

impl StorageFailure {
    /// A failure of `cause` described by `detail`.
    pub fn new(cause: FailureCause, detail: impl std::fmt::Display) -> Self {
        StorageFailure {
            cause,
            detail: detail.to_string(),
        }
    }

    /// Classifies an I/O error: `ENOSPC` and `EDQUOT` are a full disk, anything else is
    /// [`FailureCause::Io`].
    pub fn from_io(err: &std::io::Error) -> Self {
        let full = err.kind() == std::io::ErrorKind::StorageFull
            || err.kind() == std::io::ErrorKind::QuotaExceeded
            || matches!(err.raw_os_error(), Some(ENOSPC | EDQUOT));
        let cause = if full {
            FailureCause::DiskFull
        } else {
            FailureCause::Io
        };
        StorageFailure::new(cause, err)
    }

    /// The failure a failed engine write or sync reported as `err`, keeping its kind when it
    /// already has one.
    pub(crate) fn of(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(failure) => failure,
            StoreError::Io(err) => StorageFailure::from_io(&err),
            other => StorageFailure::new(FailureCause::Io, other),
        }
    }
}

/// Linux's "no space left on device".
const ENOSPC: i32 = 28;
/// Linux's "disk quota exceeded".
const EDQUOT: i32 = 122;

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
        let full = StorageFailure::new(FailureCause::DiskFull, "x");
        assert!(!StoreError::Unavailable(full).is_retryable());
    }

    #[test]
    fn enospc_is_a_full_disk() {
        let full = std::io::Error::from_raw_os_error(ENOSPC);
        assert_eq!(StorageFailure::from_io(&full).cause, FailureCause::DiskFull);
        let quota = std::io::Error::from_raw_os_error(EDQUOT);
        assert_eq!(
            StorageFailure::from_io(&quota).cause,
            FailureCause::DiskFull
        );
        let other = std::io::Error::from_raw_os_error(5);
        assert_eq!(StorageFailure::from_io(&other).cause, FailureCause::Io);
    }
}
