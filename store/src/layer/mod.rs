//! The engine-agnostic transaction layer: FoundationDB-style serializable transactions on
//! top of any [`Engine`] that can take consistent snapshots and apply a batch durably.
//!
//! - [`write_buffer`]: a transaction's buffered writes and read-your-writes merging.
//! - [`range_set`]: disjoint cleared ranges.
//! - [`conflicts`]: what transactions read, and recent batches' write sets, for optimistic
//!   conflict checks.
//! - [`committer`]: the group-commit thread (conflict checks, one engine write per batch).
//! - [`syncer`]: the sync thread (one fsync for all written batches, then acknowledgements).
//! - [`health`]: whether the engine takes work, after a failed write or sync.
//! - [`transaction`]: the [`BackendTransaction`](crate::BackendTransaction) implementation.
//! - [`engine`]: the interface engines implement (fjall, redb, memory).
//!
//! Versions count committed batches since the database was opened; they are not persisted.

mod committer;
mod conflicts;
pub(crate) mod engine;
mod health;
mod range_set;
mod syncer;
mod transaction;
mod write_buffer;

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::backend::{Backend, BackendTransaction};
use crate::error::StoreError;
use committer::{Committer, Message, Outlets};
use engine::{Engine, EngineSnapshot, Reopen};
use health::Health;
use transaction::LayerTransaction;

/// Largest key accepted, in bytes (FoundationDB's limit).
pub const MAX_KEY_BYTES: usize = 10_000;
/// Largest value accepted, in bytes (FoundationDB's limit).
pub const MAX_VALUE_BYTES: usize = 100_000;
/// Largest total of keys and values one transaction may write.
pub const MAX_TRANSACTION_BYTES: usize = 10_000_000;
/// How long a transaction may read, and how far back commits are checked for conflicts;
/// older transactions fail with [`StoreError::TransactionTooOld`].
pub const TRANSACTION_WINDOW: Duration = Duration::from_secs(5);

/// A published, immutable read view: the state after commit `version`.
pub(crate) struct View {
    pub version: u64,
    pub snapshot: Arc<dyn EngineSnapshot>,
}

/// State shared by the backend handle and its transactions.
pub(crate) struct Shared {
    /// Where new transactions start; `None` once closed.
    published: Arc<RwLock<Option<Arc<View>>>>,
    /// The committer's queue; `None` once closed.
    sender: Mutex<Option<Sender<Message>>>,
    /// How long a transaction may keep reading.
    window: Duration,
    /// Whether the engine takes work.
    health: Arc<Health>,
}

impl Shared {
    fn current_view(&self) -> Option<Arc<View>> {
        self.published.read().ok().and_then(|view| view.clone())
    }

    fn sender(&self) -> Option<Sender<Message>> {
        self.sender.lock().ok().and_then(|tx| tx.clone())
    }
}

/// A [`Backend`] made of the transaction layer over one engine.
pub(crate) struct LayeredBackend {
    shared: Arc<Shared>,
}

impl LayeredBackend {
    /// Starts the committer thread that owns `engine`; after a storage failure it replaces
    /// the engine with `reopen` (without one, the store stays unavailable).
    /// Transactions may read for `window`, and commits are checked against that much history.
    pub(crate) fn start(
        engine: Box<dyn Engine>,
        reopen: Option<Reopen>,
        name: &str,
        window: Duration,
    ) -> Result<Self, StoreError> {
        let view = Arc::new(View {
            version: 0,
            snapshot: engine.snapshot()?,
        });
        let published = Arc::new(RwLock::new(Some(Arc::clone(&view))));
        let health = Arc::new(Health::default());
        let outlets = Outlets {
            published: Arc::clone(&published),
            health: Arc::clone(&health),
        };
        let committer = Committer::new(engine, reopen, window, outlets, view, name)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("store-commit-{name}"))
            .spawn(move || committer.run(rx))?;
        Ok(LayeredBackend {
            shared: Arc::new(Shared {
                published,
                sender: Mutex::new(Some(tx)),
                window,
                health,
            }),
        })
    }
}

#[async_trait]
impl Backend for LayeredBackend {
    fn begin(&self) -> Arc<dyn BackendTransaction> {
        Arc::new(LayerTransaction::new(
            Arc::clone(&self.shared),
            self.shared.current_view(),
            self.shared.health.failure(),
        ))
    }

    fn health(&self) -> Result<(), StoreError> {
        match self.shared.health.failure() {
            Some(failure) => Err(StoreError::Unavailable(failure)),
            None => Ok(()),
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        let sender = self
            .shared
            .sender
            .lock()
            .map_err(|_| StoreError::Backend("committer queue lock poisoned".into()))?
            .take();
        let Some(sender) = sender else {
            return Ok(());
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        sender
            .send(Message::Close(reply_tx))
            .map_err(|_| StoreError::Closed)?;
        drop(sender);
        let result = reply_rx.await.map_err(|_| StoreError::Closed)?;
        if let Ok(mut published) = self.shared.published.write() {
            *published = None;
        }
        result
    }
}
