//! Group commit: one thread owns the engine, takes every queued commit request, resolves
//! conflicts in arrival order, applies all winners as one engine write with one fsync,
//! publishes the new snapshot and only then answers the waiting commits.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::View;
use super::conflicts::ConflictHistory;
use super::engine::{Engine, EngineBatch};
use super::write_buffer::{PointWrite, WriteBuffer};
use crate::error::StoreError;

/// Most transactions folded into one engine write.
const MAX_BATCH_TRANSACTIONS: usize = 4096;
/// Most buffered bytes folded into one engine write (a single transaction may exceed it).
const MAX_BATCH_BYTES: usize = 32 << 20;

/// A transaction asking to commit.
pub(crate) struct CommitRequest {
    pub read_version: u64,
    pub read_ranges: Vec<(Vec<u8>, Vec<u8>)>,
    pub writes: WriteBuffer,
    pub reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Messages to the committer thread.
pub(crate) enum Message {
    Commit(CommitRequest),
    /// Finish queued commits, close the engine, then answer.
    Close(oneshot::Sender<Result<(), StoreError>>),
}

/// State owned by the committer thread.
pub(crate) struct Committer {
    engine: Box<dyn Engine>,
    history: ConflictHistory,
    /// The view new transactions start from; shared with the backend handle.
    published: Arc<RwLock<Option<Arc<View>>>>,
    latest: Arc<View>,
}

impl Committer {
    pub(crate) fn new(
        engine: Box<dyn Engine>,
        window: Duration,
        published: Arc<RwLock<Option<Arc<View>>>>,
        latest: Arc<View>,
    ) -> Self {
        Committer {
            engine,
            history: ConflictHistory::new(window),
            published,
            latest,
        }
    }

    /// Serves requests until the channel closes or a close request arrives.
    pub(crate) fn run(mut self, rx: Receiver<Message>) {
        let mut pending: Option<Message> = None;
        loop {
            let first = match pending.take() {
                Some(message) => message,
                None => match rx.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                },
            };
            let mut batch = match first {
                Message::Commit(request) => vec![request],
                Message::Close(reply) => return self.close(reply),
            };
            let mut bytes = batch.iter().map(|r| r.writes.bytes()).sum::<usize>();
            while batch.len() < MAX_BATCH_TRANSACTIONS && bytes < MAX_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(Message::Commit(request)) => {
                        bytes += request.writes.bytes();
                        batch.push(request);
                    }
                    Ok(close @ Message::Close(_)) => {
                        pending = Some(close);
                        break;
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.commit_batch(batch);
        }
        tracing::debug!("store committer stopping: all handles dropped");
        if let Err(err) = self.engine.close() {
            tracing::error!(%err, "closing storage engine failed");
        }
    }

    fn close(self, reply: oneshot::Sender<Result<(), StoreError>>) {
        let Committer { engine, latest, .. } = self;
        drop(latest);
        let result = engine.close();
        let _ = reply.send(result);
    }

    fn commit_batch(&mut self, batch: Vec<CommitRequest>) {
        let now = Instant::now();
        self.history.prune(now);
        let version = self.latest.version + 1;
        let mut merged = WriteBuffer::default();
        let mut winners = Vec::with_capacity(batch.len());
        for request in batch {
            if !request.read_ranges.is_empty() {
                let verdict = if !self.history.can_check(request.read_version) {
                    Some(StoreError::TransactionTooOld)
                } else if self
                    .history
                    .conflicts(request.read_version, &request.read_ranges)
                {
                    Some(StoreError::Conflict)
                } else {
                    None
                };
                if let Some(err) = verdict {
                    let _ = request.reply.send(Err(err));
                    continue;
                }
            }
            // Recorded before the next request is checked, so later transactions of this
            // batch conflict with earlier winners exactly as with an earlier batch.
            self.history.record(version, &request.writes, now);
            merged.apply(&request.writes);
            winners.push(request.reply);
        }
        if winners.is_empty() {
            return;
        }
        let count = winners.len();
        let result = self.write(&merged, version);
        match result {
            Ok(()) => {
                tracing::trace!(version, transactions = count, "batch committed");
                for reply in winners {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(err) => {
                tracing::error!(%err, version, "storage engine write failed");
                let message = err.to_string();
                for reply in winners {
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }

    /// Resolves pending adds against the latest state, writes durably, publishes the result.
    fn write(&mut self, merged: &WriteBuffer, version: u64) -> Result<(), StoreError> {
        let mut batch = EngineBatch {
            clear_ranges: merged
                .cleared()
                .iter()
                .map(|(b, e)| (b.clone(), e.clone()))
                .collect(),
            points: Vec::with_capacity(merged.points().len()),
        };
        for (key, write) in merged.points() {
            let below = match write {
                PointWrite::Add(_) => self.latest.snapshot.get(key)?,
                PointWrite::Set(_) | PointWrite::Clear => None,
            };
            batch
                .points
                .push((key.clone(), write.resolve(below.as_deref())));
        }
        self.engine.apply(&batch)?;
        let view = Arc::new(View {
            version,
            snapshot: self.engine.snapshot()?,
        });
        self.latest = Arc::clone(&view);
        let mut published = self
            .published
            .write()
            .map_err(|_| StoreError::Backend("published view lock poisoned".into()))?;
        if published.is_some() {
            *published = Some(view);
        }
        Ok(())
    }
}
