//! The sync thread: makes written batches durable with one fsync for everything queued,
//! then publishes the newest durable view and answers the waiting commits.
//!
//! Running it beside the committer lets the next batch be resolved and written while the
//! previous one is fsynced. After a failed sync nothing is acknowledged or published again
//! by this thread (later batches may build on data that never reached the disk); the
//! committer reopens the engine and starts a new sync thread.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, RwLock};

use tokio::sync::oneshot;

use super::View;
use super::engine::Syncer;
use super::health::Health;
use crate::error::{StorageFailure, StoreError};

/// A written, not yet durable batch.
pub(crate) struct SyncJob {
    /// The state after this batch, published once it is durable.
    pub view: Arc<View>,
    /// Commits waiting for this batch.
    pub winners: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// Serves sync jobs until the committer drops its sender.
pub(crate) fn run(
    mut syncer: Box<dyn Syncer>,
    rx: Receiver<SyncJob>,
    published: Arc<RwLock<Option<Arc<View>>>>,
    health: Arc<Health>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        let outcome = match health.failure() {
            Some(failure) => Err(StoreError::Unavailable(failure)),
            None => syncer.sync(),
        };
        match outcome {
            Ok(()) => {
                if let Some(last) = jobs.last()
                    && let Ok(mut current) = published.write()
                    && current.is_some()
                {
                    *current = Some(Arc::clone(&last.view));
                }
                let count: usize = jobs.iter().map(|j| j.winners.len()).sum();
                tracing::trace!(batches = jobs.len(), transactions = count, "synced");
                for reply in jobs.into_iter().flat_map(|j| j.winners) {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(err) => {
                let failure = StorageFailure::of(err);
                if health.fail(failure.clone()) {
                    tracing::error!(%failure, "store sync failed; the store refuses work until it reopens");
                }
                let failure = health.failure().unwrap_or(failure);
                for reply in jobs.into_iter().flat_map(|j| j.winners) {
                    let _ = reply.send(Err(StoreError::Unavailable(failure.clone())));
                }
            }
        }
    }
}
