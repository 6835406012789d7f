//! SIGKILL durability: a child process commits concurrently and reports each key only after
//! its commit returned; the parent kills it mid-stream with SIGKILL, reopens the store and
//! checks that every reported commit survived and the counter matches the stored keys.
//!
//! The child is this test binary re-executed on the ignored test `crash_writer_child`, with
//! the engine and directory passed through the environment.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use store::{Database, EmbeddedOptions, EngineKind, RangeOption, decode_counter, tuple};

/// Set in the child's environment to `<engine>:<dir>`.
const CHILD_ENV: &str = "CHATMESH_STORE_CRASH_CHILD";
/// Concurrent writer tasks in the child.
const WRITERS: u64 = 32;
/// Reported commits after which the parent kills the child.
const KILL_AFTER: usize = 600;

fn value_for(writer: u64, seq: u64) -> Vec<u8> {
    format!("value-{writer}-{seq}").into_bytes()
}

fn parse_engine(name: &str) -> EngineKind {
    match name {
        "fjall" => EngineKind::Fjall,
        "redb" => EngineKind::Redb,
        other => panic!("unknown engine {other}"),
    }
}

#[test]
#[ignore = "runs only as the child process of the SIGKILL durability tests"]
fn crash_writer_child() {
    let spec = std::env::var(CHILD_ENV).expect("started by a sigkill test");
    let (engine, dir) = spec.split_once(':').expect("<engine>:<dir>");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = Database::open_embedded(
            Path::new(dir),
            EmbeddedOptions::with_engine(parse_engine(engine)),
        )
        .unwrap();
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for seq in 0.. {
                    let tx = db.begin();
                    tx.set(&tuple::pack(&("k", writer, seq)), &value_for(writer, seq));
                    tx.atomic_add(&tuple::pack(&("count",)), 1);
                    tx.commit().await.unwrap();
                    println!("committed {writer} {seq}");
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// Kills the child if the parent fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigkill_mid_stream_keeps_reported_commits(engine: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "crash_writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{engine}:{}", dir.path().display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn writer child");
    let mut child = KillOnDrop(child);
    let stdout = BufReader::new(child.0.stdout.take().expect("piped stdout"));
    let mut reported = Vec::new();
    let mut killed = false;
    // Keeps reading after the kill: lines already in the pipe were committed too.
    for line in stdout.lines() {
        let line = line.expect("read child stdout");
        let Some(rest) = line.strip_prefix("committed ") else {
            continue;
        };
        let (writer, seq) = rest.split_once(' ').expect("writer and seq");
        reported.push((
            writer.parse::<u64>().expect("writer"),
            seq.parse::<u64>().expect("seq"),
        ));
        if reported.len() == KILL_AFTER && !killed {
            child.0.kill().expect("SIGKILL child");
            killed = true;
        }
    }
    let status = child.0.wait().expect("reap child");
    assert!(
        killed,
        "child exited before {KILL_AFTER} commits: {status:?}"
    );
    assert_eq!(
        status.signal(),
        Some(9),
        "child died of SIGKILL: {status:?}"
    );
    assert!(reported.len() >= KILL_AFTER);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let db = Database::open_embedded(
            dir.path(),
            EmbeddedOptions::with_engine(parse_engine(engine)),
        )
        .expect("reopen after SIGKILL");
        let tx = db.begin();
        for &(writer, seq) in &reported {
            let value = tx
                .get(&tuple::pack(&("k", writer, seq)))
                .await
                .expect("get");
            assert_eq!(
                value,
                Some(value_for(writer, seq)),
                "reported commit ({writer}, {seq}) lost"
            );
        }
        let stored = tx
            .get_range(RangeOption::prefix(&tuple::pack(&("k",))))
            .await
            .expect("range");
        let count = tx
            .get(&tuple::pack(&("count",)))
            .await
            .expect("get counter");
        let count = decode_counter(&count.expect("counter present"));
        // Commits that finished but were not yet reported may exist; never half of one.
        assert_eq!(count, stored.len() as i64, "counter matches stored keys");
        assert!(stored.len() >= reported.len());
        db.close().await.expect("close");
    });
}

#[test]
fn sigkill_fjall() {
    sigkill_mid_stream_keeps_reported_commits("fjall");
}

#[test]
fn sigkill_redb() {
    sigkill_mid_stream_keeps_reported_commits("redb");
}
