//! The sync thread: makes written batches durable with one fsync for everything queued,
//! then publishes the newest durable view and answers the waiting commits.
//!
//! Running it beside the committer lets the next batch be resolved and written while the
//! previous one is fsynced. After a failed sync nothing is acknowledged or published again:
//! later batches may build on data that never reached the disk.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, RwLock};

use tokio::sync::oneshot;

use super::View;
use super::engine::Syncer;
use crate::error::StoreError;

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
    failed: Arc<RwLock<Option<String>>>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        let already_failed = failed.read().map_or(true, |f| f.is_some());
        let outcome = if already_failed {
            Err(StoreError::Backend(
                "store failed earlier; refusing commits".into(),
            ))
        } else {
            syncer.sync()
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
                let message = err.to_string();
                if !already_failed {
                    tracing::error!(%err, "store sync failed; the store refuses further commits");
                    if let Ok(mut f) = failed.write() {
                        *f = Some(message.clone());
                    }
                }
                for reply in jobs.into_iter().flat_map(|j| j.winners) {
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }
}
