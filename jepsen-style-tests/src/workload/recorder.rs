//! The one writer of a run's history. Every client process, the nemesis and
//! the final reader hand their events to a [`Recorder`]; a single task
//! numbers them, stamps them with the time since the run started and
//! appends them to `history.jsonl`, so indices and times grow together.
//!
//! An observation (a pushed message, a receipt, a resolved send) is an
//! `invoke` and its `ok` sent as one batch, so nothing lands between them.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::history::{F, HistoryError, Op, OpType, Process, Writer};

/// How many client operations completed, by type; observations (pushed
/// messages, receipts, resolved sends) are not operations and not counted.
#[derive(Debug, Default)]
pub struct Counts {
    ok: AtomicU64,
    fail: AtomicU64,
    info: AtomicU64,
}

impl Counts {
    /// (ok, fail, info) so far.
    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.fail.load(Ordering::Relaxed),
            self.info.load(Ordering::Relaxed),
        )
    }

    fn count(&self, op: &Op) {
        if !matches!(op.process, Process::Client(_))
            || matches!(op.f, F::Recv | F::Marks | F::Resolve)
        {
            return;
        }
        let counter = match op.kind {
            OpType::Ok => &self.ok,
            OpType::Fail => &self.fail,
            OpType::Info => &self.info,
            OpType::Invoke => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A handle to the history writer; cheap to clone. The writer finishes
/// when every handle is dropped.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Vec<Op>>,
    counts: Arc<Counts>,
}

/// Who records: a process and, for clients, its region, device and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The process.
    pub process: Process,
    /// The region it talks to.
    pub region: Option<String>,
    /// Its device.
    pub device: Option<String>,
    /// The device's user.
    pub user: Option<String>,
}

impl Actor {
    /// An actor with no region, device or user (the nemesis).
    pub fn named(process: Process) -> Self {
        Self {
            process,
            region: None,
            device: None,
            user: None,
        }
    }
}

/// The writer task: answers how many events it wrote.
pub type WriterTask = JoinHandle<Result<u64, HistoryError>>;

impl Recorder {
    /// Creates `path` and starts the writer; times count from `start`;
    /// client completions are counted in `counts`.
    pub fn start(
        path: &Path,
        start: Instant,
        counts: Arc<Counts>,
    ) -> Result<(Self, WriterTask), HistoryError> {
        let file = File::create(path)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::task::spawn_blocking(move || write_all(rx, BufWriter::new(file), start));
        let recorder = Self { tx, counts };
        Ok((recorder, task))
    }

    /// The completion counts.
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }

    fn op(
        actor: &Actor,
        kind: OpType,
        f: F,
        value: serde_json::Value,
        error: Option<String>,
    ) -> Op {
        Op {
            index: 0,
            time: 0,
            process: actor.process.clone(),
            kind,
            f,
            value,
            region: actor.region.clone(),
            device: actor.device.clone(),
            user: actor.user.clone(),
            error,
        }
    }

    fn send(&self, ops: Vec<Op>) {
        for op in &ops {
            self.counts.count(op);
        }
        // The writer only stops once every handle is gone, so a failed send
        // means it died on an I/O error, which its join result reports.
        let _ = self.tx.send(ops);
    }

    /// Records one event.
    pub fn record(
        &self,
        actor: &Actor,
        kind: OpType,
        f: F,
        value: &impl Serialize,
        error: Option<String>,
    ) {
        let value = to_value(value);
        self.send(vec![Self::op(actor, kind, f, value, error)]);
    }

    /// Records an observation: its invoke and its ok, together.
    pub fn observe(&self, actor: &Actor, f: F, value: &impl Serialize) {
        let value = to_value(value);
        self.send(vec![
            Self::op(actor, OpType::Invoke, f, value.clone(), None),
            Self::op(actor, OpType::Ok, f, value, None),
        ]);
    }
}

fn to_value(value: &impl Serialize) -> serde_json::Value {
    // The history's value types are plain structs of strings and numbers.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn write_all(
    mut rx: mpsc::UnboundedReceiver<Vec<Op>>,
    out: BufWriter<File>,
    start: Instant,
) -> Result<u64, HistoryError> {
    let mut writer = Writer::new(out);
    let mut written = 0;
    while let Some(batch) = rx.blocking_recv() {
        let time = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        for mut op in batch {
            op.time = time;
            writer.append(op)?;
            written += 1;
        }
        if rx.is_empty() {
            writer.flush()?;
        }
    }
    writer.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{MarkRead, read};

    #[tokio::test]
    async fn events_are_numbered_timed_and_counted_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.jsonl");
        let (recorder, task) =
            Recorder::start(&path, Instant::now(), Arc::default()).expect("start");
        let client = Actor {
            process: Process::Client(1),
            region: Some("eu-west".into()),
            device: Some("d_1".into()),
            user: Some("u_1".into()),
        };
        let mark = MarkRead {
            chat: "c_1".into(),
            seq: 3,
        };
        recorder.record(&client, OpType::Invoke, F::MarkRead, &mark, None);
        recorder.record(
            &client,
            OpType::Fail,
            F::MarkRead,
            &mark,
            Some("not_member".into()),
        );
        recorder.observe(&client, F::Recv, &serde_json::json!({"chat": "c_1"}));
        let nemesis = Actor::named(Process::nemesis());
        recorder.record(
            &nemesis,
            OpType::Info,
            F::Nemesis,
            &serde_json::json!({}),
            None,
        );
        assert_eq!(
            recorder.counts().get(),
            (0, 1, 0),
            "observations and nemesis events are not client operations"
        );
        drop(recorder);
        assert_eq!(task.await.expect("join").expect("write"), 5);

        let ops = read(&path).expect("read");
        let kinds: Vec<(u64, OpType, F)> = ops.iter().map(|o| (o.index, o.kind, o.f)).collect();
        assert_eq!(
            kinds,
            [
                (0, OpType::Invoke, F::MarkRead),
                (1, OpType::Fail, F::MarkRead),
                (2, OpType::Invoke, F::Recv),
                (3, OpType::Ok, F::Recv),
                (4, OpType::Info, F::Nemesis),
            ]
        );
        assert!(ops.windows(2).all(|w| w[0].time <= w[1].time));
        assert_eq!(ops[1].error.as_deref(), Some("not_member"));
        assert_eq!(ops[0].user.as_deref(), Some("u_1"));
        assert_eq!(ops[4].region, None);
    }
}
