//! Group commit: one thread owns the engine, takes every queued commit request, resolves
//! conflicts in arrival order (against the batches committed since each transaction's read
//! version, then against the winners before it in its own batch), and applies all winners
//! as one engine write. The sync thread ([`super::syncer`]) then makes the batch durable
//! with one fsync, publishes the new snapshot and answers the waiting commits, while this
//! thread moves on to the next batch.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::View;
use super::conflicts::{ConflictHistory, ReadSet};
use super::engine::{Engine, EngineBatch};
use super::syncer::{self, SyncJob};
use super::write_buffer::{PointWrite, WriteBuffer};
use crate::error::StoreError;

/// Most transactions folded into one engine write.
const MAX_BATCH_TRANSACTIONS: usize = 4096;
/// Most buffered bytes folded into one engine write (a single transaction may exceed it).
const MAX_BATCH_BYTES: usize = 32 << 20;

/// A transaction asking to commit.
pub(crate) struct CommitRequest {
    pub read_version: u64,
    pub reads: ReadSet,
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
    /// The state after the last written (not necessarily durable) batch.
    latest: Arc<View>,
    sync_tx: Sender<SyncJob>,
    sync_thread: JoinHandle<()>,
    /// Set once a write or sync failed; every later commit is refused.
    failed: Arc<RwLock<Option<String>>>,
}

impl Committer {
    /// Starts the sync thread; `latest` is the engine's current state, already published.
    pub(crate) fn new(
        engine: Box<dyn Engine>,
        window: Duration,
        published: Arc<RwLock<Option<Arc<View>>>>,
        latest: Arc<View>,
        name: &str,
    ) -> Result<Self, StoreError> {
        let (sync_tx, sync_rx) = mpsc::channel();
        let failed = Arc::new(RwLock::new(None));
        let syncer = engine.syncer();
        let sync_failed = Arc::clone(&failed);
        let sync_thread = std::thread::Builder::new()
            .name(format!("store-sync-{name}"))
            .spawn(move || syncer::run(syncer, sync_rx, published, sync_failed))?;
        Ok(Committer {
            engine,
            history: ConflictHistory::new(window),
            latest,
            sync_tx,
            sync_thread,
            failed,
        })
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
                Message::Close(reply) => {
                    let result = self.shut_down();
                    let _ = reply.send(result);
                    return;
                }
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
        if let Err(err) = self.shut_down() {
            tracing::error!(%err, "closing storage engine failed");
        }
    }

    /// Lets the sync thread finish every written batch, then closes the engine.
    fn shut_down(self) -> Result<(), StoreError> {
        let Committer {
            engine,
            latest,
            sync_tx,
            sync_thread,
            ..
        } = self;
        drop(sync_tx);
        if sync_thread.join().is_err() {
            tracing::error!("store sync thread panicked");
        }
        drop(latest);
        engine.close()
    }

    fn failure(&self) -> Option<String> {
        match self.failed.read() {
            Ok(failed) => failed.clone(),
            Err(_) => Some("store failure flag poisoned".into()),
        }
    }

    fn commit_batch(&mut self, batch: Vec<CommitRequest>) {
        if let Some(message) = self.failure() {
            for request in batch {
                let _ = request
                    .reply
                    .send(Err(StoreError::Backend(message.clone())));
            }
            return;
        }
        let now = Instant::now();
        self.history.prune(now);
        let version = self.latest.version + 1;
        let mut merged = WriteBuffer::default();
        let mut winners = Vec::with_capacity(batch.len());
        for request in batch {
            if !request.reads.is_empty() {
                // Earlier winners of this batch are in `merged`, so a later transaction of
                // the batch conflicts with them exactly as with an earlier batch.
                let verdict = if !self.history.can_check(request.read_version) {
                    Some(StoreError::TransactionTooOld)
                } else if self.history.conflicts(request.read_version, &request.reads)
                    || merged.touches(&request.reads)
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
            merged.absorb(request.writes);
            winners.push(request.reply);
        }
        if winners.is_empty() {
            return;
        }
        match self.write(merged, version, now) {
            Ok(view) => {
                if let Err(mpsc::SendError(job)) = self.sync_tx.send(SyncJob { view, winners }) {
                    for reply in job.winners {
                        let _ = reply.send(Err(StoreError::Closed));
                    }
                }
            }
            Err(err) => {
                tracing::error!(%err, version, "storage engine write failed; refusing commits");
                let message = err.to_string();
                if let Ok(mut failed) = self.failed.write() {
                    *failed = Some(message.clone());
                }
                for reply in winners {
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }

    /// Resolves pending adds against the latest written state, writes the batch, and hands
    /// its keys and cleared ranges to the conflict history (moved, not copied).
    fn write(
        &mut self,
        merged: WriteBuffer,
        version: u64,
        now: Instant,
    ) -> Result<Arc<View>, StoreError> {
        let mut batch = EngineBatch {
            clear_ranges: merged
                .cleared()
                .iter()
                .map(|(b, e)| (b.clone(), e.clone()))
                .collect(),
            points: Vec::with_capacity(merged.points().len()),
        };
        for (key, write) in merged.into_points() {
            let value = match write {
                PointWrite::Set(value) => Some(value),
                PointWrite::Clear => None,
                PointWrite::Add(_) => {
                    let below = self.latest.snapshot.get(&key)?;
                    write.resolve(below.as_deref())
                }
            };
            batch.points.push((key, value));
        }
        self.engine.write(&batch)?;
        let EngineBatch {
            clear_ranges,
            points,
        } = batch;
        let keys = points.into_iter().map(|(key, _)| key).collect();
        self.history.record(version, keys, clear_ranges, now);
        let view = Arc::new(View {
            version,
            snapshot: self.engine.snapshot()?,
        });
        self.latest = Arc::clone(&view);
        Ok(view)
    }
}
