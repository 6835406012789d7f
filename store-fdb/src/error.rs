//! How FoundationDB errors become [`StoreError`]s.
//!
//! [`StoreError::is_retryable`] is the store's "the transaction did not commit; run it again"
//! signal, and [`store::Database::run`] retries exactly those errors. The mapping keeps that
//! meaning:
//!
//! | FDB error | [`StoreError`] |
//! |---|---|
//! | 1020 `not_committed` | [`Conflict`](StoreError::Conflict) |
//! | 1007 `transaction_too_old` | [`TransactionTooOld`](StoreError::TransactionTooOld) |
//! | 2101 `transaction_too_large`, 2102 `key_too_large`, 2103 `value_too_large` | [`TooLarge`](StoreError::TooLarge) |
//! | 2017 `used_during_commit` | [`AlreadyCommitted`](StoreError::AlreadyCommitted) |
//! | any other error FDB classes as *retryable, not committed* (`future_version`, `process_behind`, `tag_throttled`, proxy memory limits, …) | [`Conflict`](StoreError::Conflict) |
//! | everything else, including *maybe committed* errors such as 1021 `commit_unknown_result` | [`Backend`](StoreError::Backend) with FDB's code and message |
//!
//! Errors whose commit outcome is unknown are deliberately not retryable: FDB's own retry
//! loop would run the transaction again, but the store promises that a retried transaction
//! never committed, and an `atomic_add` applied twice cannot be undone. Such an error reaches
//! the caller, who retries at a level that deduplicates (for example by `client_msg_id`).

use foundationdb::FdbError;
use store::StoreError;

/// `not_committed`: a read of the transaction conflicted with a concurrent commit.
pub(crate) const NOT_COMMITTED: i32 = 1020;
/// `transaction_too_old`: the read version is older than the cluster keeps (about 5 s).
pub(crate) const TRANSACTION_TOO_OLD: i32 = 1007;
/// `used_during_commit`: an operation raced with the transaction's commit.
pub(crate) const USED_DURING_COMMIT: i32 = 2017;
/// `transaction_too_large`: the transaction's mutations and conflict ranges exceed 10 MB.
pub(crate) const TRANSACTION_TOO_LARGE: i32 = 2101;
/// `key_too_large`: a key is longer than 10,000 bytes.
pub(crate) const KEY_TOO_LARGE: i32 = 2102;
/// `value_too_large`: a value is longer than 100,000 bytes.
pub(crate) const VALUE_TOO_LARGE: i32 = 2103;

/// Converts an FDB error into the store's error (see the module docs for the table).
pub(crate) fn store_error(err: FdbError) -> StoreError {
    match err.code() {
        NOT_COMMITTED => StoreError::Conflict,
        TRANSACTION_TOO_OLD => StoreError::TransactionTooOld,
        TRANSACTION_TOO_LARGE | KEY_TOO_LARGE | VALUE_TOO_LARGE => StoreError::TooLarge,
        USED_DURING_COMMIT => StoreError::AlreadyCommitted,
        _ if err.is_retryable_not_committed() => StoreError::Conflict,
        _ => backend_error(err),
    }
}

/// Wraps an FDB error as [`StoreError::Backend`], keeping its code and FDB's message.
pub(crate) fn backend_error(err: FdbError) -> StoreError {
    let outcome = if err.is_maybe_committed() {
        "; the transaction may or may not have committed"
    } else {
        ""
    };
    StoreError::Backend(format!(
        "FoundationDB error {}: {}{outcome}",
        err.code(),
        err.message()
    ))
}
