//! `store`: chatmesh's ordered key-value layer with serializable transactions, shaped like
//! FoundationDB's API (get, set, clear, range reads, atomic add) so the chat logic is written
//! once and runs on the embedded engines here or on FoundationDB (`store-fdb`).
//!
//! Keys are tuple-encoded with [`tuple`](mod@crate::tuple)
//! (`tuple::pack(&("chat", id, "msg", seq))`), so both backends store the same bytes in the
//! same order.
//!
//! Semantics follow FoundationDB: a transaction reads one consistent snapshot (its read
//! version), sees its own buffered writes (point and range reads, cleared ranges, pending
//! atomic adds), and commits only if no transaction that committed after its read version
//! wrote into what it read (non-snapshot reads; a limited range read covers only the part it
//! returned). Otherwise commit fails with [`StoreError::Conflict`]; [`Database::run`] retries.
//! Write-only transactions never conflict, and atomic adds never read. A commit returns once
//! the data is durable. Transactions live at most [`TRANSACTION_WINDOW`] (5 s); older ones
//! fail with the retryable [`StoreError::TransactionTooOld`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), store::StoreError> {
//! use store::{Database, EmbeddedOptions, RangeOption, tuple};
//! let db = Database::open_embedded(std::path::Path::new("data"), EmbeddedOptions::default())?;
//! db.run(|tx| async move {
//!     tx.set(&tuple::pack(&("chat", 7, "msg", 1)), b"hello");
//!     tx.atomic_add(&tuple::pack(&("chat", 7, "count")), 1);
//!     Ok::<_, store::StoreError>(())
//! })
//! .await?;
//! let messages = db.begin().get_range(RangeOption::prefix(&tuple::pack(&("chat", 7, "msg")))).await?;
//! # let _ = messages;
//! db.close().await
//! # }
//! ```
//!
//! Module map:
//!
//! - [`database`]: [`Database`], [`Transaction`] and the retry loop [`Database::run`].
//! - [`backend`]: the object-safe [`Backend`] / [`BackendTransaction`] traits backends implement.
//! - [`error`]: [`StoreError`] (with [`StorageFailure`] for a full or failing disk) and
//!   [`AsStoreError`].
//! - [`range`]: [`RangeOption`] and key-range helpers.
//! - [`counter`]: little-endian counters ([`decode_counter`]).
//! - `layer` (private): the engine-agnostic transaction layer: write buffers, conflict
//!   checks, and group commit (a committer thread plus a sync thread, one fsync per batch).
//! - [`embedded`]: the on-disk engines (fjall, redb), an in-memory engine, and their options.
//! - `conformance` (feature `conformance`): the test suite every backend must pass.

pub mod backend;
pub mod counter;
pub mod database;
pub mod embedded;
pub mod error;
mod layer;
pub mod range;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use backend::{Backend, BackendTransaction, KeyValue};
pub use counter::{decode_counter, encode_counter};
pub use database::{Database, Transaction};
pub use embedded::{EmbeddedOptions, EngineKind};
pub use error::{AsStoreError, FailureCause, StorageFailure, StoreError};
pub use foundationdb_tuple as tuple;
pub use layer::{MAX_KEY_BYTES, MAX_TRANSACTION_BYTES, MAX_VALUE_BYTES, TRANSACTION_WINDOW};
pub use range::{RangeOption, prefix_end};
