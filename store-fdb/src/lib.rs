//! `store-fdb`: the chatmesh store layer on FoundationDB.
//!
//! [`FdbBackend`] implements [`store::Backend`] on the `foundationdb` crate, so a region
//! whose history and sequence counters outgrow one machine keeps the same chat logic and the
//! same key bytes (tuple-encoded by the `store` layer) on a FoundationDB cluster:
//!
//! ```no_run
//! # async fn demo() -> Result<(), store::StoreError> {
//! use std::path::Path;
//! use store::tuple;
//! use store_fdb::FdbBackend;
//!
//! let db = FdbBackend::open(Some(Path::new("/etc/foundationdb/fdb.cluster")))?.into_database();
//! db.run(|tx| async move {
//!     tx.set(&tuple::pack(&("chat", 7, "msg", 1)), b"hello");
//!     tx.atomic_add(&tuple::pack(&("chat", 7, "count")), 1);
//!     Ok::<_, store::StoreError>(())
//! })
//! .await?;
//! db.close().await
//! # }
//! ```
//!
//! The crate compiles without FoundationDB installed (the C headers are embedded), but any
//! binary that uses it links `libfdb_c`, and running it needs a reachable cluster. That is
//! why it is not a default workspace member and its tests run only with the `integration`
//! feature; see the crate's README.
//!
//! Module map:
//!
//! - [`backend`]: [`FdbBackend`], opening a cluster and handing out transactions.
//! - [`transaction`]: [`FdbTransaction`], one FDB transaction behind the store's trait.
//! - [`network`]: the process-wide FDB client network, started once and stopped at exit.
//! - `error` (private): the mapping from FDB error codes to [`store::StoreError`].

pub mod backend;
mod error;
pub mod network;
pub mod transaction;

pub use backend::FdbBackend;
pub use transaction::FdbTransaction;
