//! Group commit: one thread owns the engine, takes every queued commit request, resolves
//! conflicts in arrival order (against the batches committed since each transaction's read
//! version, then against the winners before it in its own batch), and applies all winners
//! as one engine write. The sync thread ([`super::syncer`]) then makes the batch durable
//! with one fsync, publishes the new snapshot and answers the waiting commits, while this
//! thread moves on to the next batch.
//!
//! # Storage failures
//!
//! When a write or a sync fails (a full disk, an I/O error), the store becomes unavailable
//! ([`Health`]): new transactions fail with [`StoreError::Unavailable`], nothing more is
//! acknowledged, and the published view is dropped. An engine cannot be trusted after a
//! failed write or fsync (fjall refuses every later write, and after a failed fsync the
//! kernel may have dropped the dirty pages), so this thread does not retry on it: it drops
//! the engine and, with growing pauses, opens it again from its files ([`Reopen`]) and
//! probes whether the disk takes a write. Once one does, it publishes the reopened state
//! under a version above every earlier one, so transactions begun before the failure fail
//! with the retryable [`StoreError::TransactionTooOld`] instead of being checked against a
//! history that no longer matches the engine.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::View;
use super::conflicts::{ConflictHistory, ReadSet};
use super::engine::{Engine, EngineBatch, Reopen};
use super::health::Health;
use super::syncer::{self, SyncJob};
use super::write_buffer::{PointWrite, WriteBuffer};
use crate::error::{StorageFailure, StoreError};

/// Most transactions folded into one engine write.
const MAX_BATCH_TRANSACTIONS: usize = 4096;
/// Most buffered bytes folded into one engine write (a single transaction may exceed it).
const MAX_BATCH_BYTES: usize = 32 << 20;
/// How long the thread waits for work before it looks at the store's health again, so a
/// failure the sync thread found is recovered from even when no commit arrives.
const IDLE_CHECK: Duration = Duration::from_millis(500);
/// The pause before the first reopen after a failure; it doubles up to [`MAX_REOPEN_PAUSE`].
const FIRST_REOPEN_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two reopen attempts.
const MAX_REOPEN_PAUSE: Duration = Duration::from_secs(2);

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

/// Where the committer publishes views and reports failures.
pub(crate) struct Outlets {
    /// The view new transactions start from; `None` while unavailable or once closed.
    pub published: Arc<RwLock<Option<Arc<View>>>>,
    /// Whether the engine takes work.
    pub health: Arc<Health>,
}

/// An open engine and the sync thread serving it; replaced as a whole by a reopen.
struct Running {
    engine: Box<dyn Engine>,
    /// The state after the last written (not necessarily durable) batch.
    latest: Arc<View>,
    sync_tx: Sender<SyncJob>,
    sync_thread: JoinHandle<()>,
}

impl Running {
    /// Starts the sync thread for `engine`, whose current state is `latest`.
    fn start(
        engine: Box<dyn Engine>,
        latest: Arc<View>,
        outlets: &Outlets,
        name: &str,
    ) -> Result<Self, StoreError> {
        let (sync_tx, sync_rx) = mpsc::channel();
        let syncer = engine.syncer();
        let published = Arc::clone(&outlets.published);
        let health = Arc::clone(&outlets.health);
        let sync_thread = std::thread::Builder::new()
            .name(format!("store-sync-{name}"))
            .spawn(move || syncer::run(syncer, sync_rx, published, health))?;
        Ok(Running {
            engine,
            latest,
            sync_tx,
            sync_thread,
        })
    }

    /// Lets the sync thread finish (or refuse) every written batch; returns the engine.
    fn stop(self) -> Box<dyn Engine> {
        let Running {
            engine,
            latest,
            sync_tx,
            sync_thread,
        } = self;
        drop(sync_tx);
        if sync_thread.join().is_err() {
            tracing::error!("store sync thread panicked");
        }
        drop(latest);
        engine
    }
}

/// State owned by the committer thread.
pub(crate) struct Committer {
    /// `None` after a failure, until a reopen succeeds.
    running: Option<Running>,
    /// How to open the engine again; `None` for engines that cannot be reopened.
    reopen: Option<Reopen>,
    history: ConflictHistory,
    outlets: Outlets,
    /// The version of the last written batch; versions grow across reopens.
    version: u64,
    name: String,
    /// When to try the next reopen, and the pause after that one if it fails.
    next_reopen: Option<(Instant, Duration)>,
}

impl Committer {
    /// Starts the sync thread; `latest` is the engine's current state, already published.
    pub(crate) fn new(
        engine: Box<dyn Engine>,
        reopen: Option<Reopen>,
        window: Duration,
        outlets: Outlets,
        latest: Arc<View>,
        name: &str,
    ) -> Result<Self, StoreError> {
        let version = latest.version;
        let running = Running::start(engine, latest, &outlets, name)?;
        Ok(Committer {
            running: Some(running),
            reopen,
            history: ConflictHistory::new(window),
            outlets,
            version,
            name: name.to_owned(),
            next_reopen: None,
        })
    }

    /// Serves requests until the channel closes or a close request arrives.
    pub(crate) fn run(mut self, rx: Receiver<Message>) {
        let mut pending: Option<Message> = None;
        loop {
            if self.outlets.health.failure().is_some() {
                self.recover_if_due();
            }
            let first = match pending.take() {
                Some(message) => message,
                None => match rx.recv_timeout(self.wait()) {
                    Ok(message) => message,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
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

    /// How long to wait for the next request before looking at the health again.
    fn wait(&self) -> Duration {
        match self.next_reopen {
            Some((at, _)) => at.saturating_duration_since(Instant::now()).min(IDLE_CHECK),
            None => IDLE_CHECK,
        }
    }

    /// Lets the sync thread finish every written batch, then closes the engine.
    fn shut_down(self) -> Result<(), StoreError> {
        match self.running {
            Some(running) => running.stop().close(),
            None => Ok(()),
        }
    }

    /// Marks the store failed (unless it already is) and returns the failure to answer with.
    fn fail(&self, err: StoreError) -> StorageFailure {
        let failure = StorageFailure::of(err);
        if self.outlets.health.fail(failure.clone()) {
            tracing::error!(%failure, "storage engine write failed; the store refuses work until it reopens");
        }
        self.outlets.health.failure().unwrap_or(failure)
    }

    /// Drops a failed engine and, once the pause since the last attempt is over, opens it
    /// again and probes the disk; on success the store takes work again.
    fn recover_if_due(&mut self) {
        let Some(reopen) = self.reopen.as_mut() else {
            return;
        };
        let now = Instant::now();
        let pause = match self.next_reopen {
            Some((at, _)) if now < at => return,
            Some((_, pause)) => pause,
            None => FIRST_REOPEN_PAUSE,
        };
        if let Some(running) = self.running.take() {
            // No close: it would only fail the same way. Dropping releases the files once
            // the last transaction holding one of its snapshots is gone.
            drop(running.stop());
        }
        if let Ok(mut published) = self.outlets.published.write() {
            *published = None;
        }
        let reopened = reopen().and_then(|mut engine| {
            engine.probe()?;
            Ok(engine)
        });
        let engine = match reopened {
            Ok(engine) => engine,
            Err(err) => {
                tracing::warn!(%err, retry_in = ?pause, "storage still unavailable");
                self.next_reopen = Some((now + pause, (pause * 2).min(MAX_REOPEN_PAUSE)));
                return;
            }
        };
        // Versions stay above every earlier one; transactions that read before the failure
        // can no longer be checked and fail as too old.
        let version = self.version + 1;
        let started = engine.snapshot().and_then(|snapshot| {
            let view = Arc::new(View { version, snapshot });
            Running::start(engine, Arc::clone(&view), &self.outlets, &self.name)
                .map(|running| (running, view))
        });
        match started {
            Ok((running, view)) => {
                self.version = version;
                self.history.restart_at(version);
                self.running = Some(running);
                self.next_reopen = None;
                if let Ok(mut published) = self.outlets.published.write() {
                    *published = Some(view);
                }
                self.outlets.health.clear();
                tracing::info!(version, "storage reopened; the store takes work again");
            }
            Err(err) => {
                tracing::warn!(%err, retry_in = ?pause, "storage reopened but cannot start");
                self.next_reopen = Some((now + pause, (pause * 2).min(MAX_REOPEN_PAUSE)));
            }
        }
    }

    fn commit_batch(&mut self, batch: Vec<CommitRequest>) {
        let failure = self.outlets.health.failure();
        if failure.is_some() || self.running.is_none() {
            for request in batch {
                let err = match &failure {
                    Some(failure) => StoreError::Unavailable(failure.clone()),
                    None => StoreError::Closed,
                };
                let _ = request.reply.send(Err(err));
            }
            return;
        }
        let now = Instant::now();
        self.history.prune(now);
        let version = self.version + 1;
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
                let sent = match &self.running {
                    Some(running) => running.sync_tx.send(SyncJob { view, winners }),
                    None => Err(mpsc::SendError(SyncJob { view, winners })),
                };
                if let Err(mpsc::SendError(job)) = sent {
                    for reply in job.winners {
                        let _ = reply.send(Err(StoreError::Closed));
                    }
                }
            }
            Err(err) => {
                let failure = self.fail(err);
                for reply in winners {
                    let _ = reply.send(Err(StoreError::Unavailable(failure.clone())));
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
        let running = self.running.as_mut().ok_or(StoreError::Closed)?;
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
                    let below = running.latest.snapshot.get(&key)?;
                    write.resolve(below.as_deref())
                }
            };
            batch.points.push((key, value));
        }
        running.engine.write(&batch)?;
        let EngineBatch {
            clear_ranges,
            points,
        } = batch;
        let keys = points.into_iter().map(|(key, _)| key).collect();
        self.history.record(version, keys, clear_ranges, now);
        let view = Arc::new(View {
            version,
            snapshot: running.engine.snapshot()?,
        });
        running.latest = Arc::clone(&view);
        self.version = version;
        Ok(view)
    }
}
