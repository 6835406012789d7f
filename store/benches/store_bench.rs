//! Commit throughput and latency of the embedded engines under concurrent writers.
//!
//! Each transaction writes one 100-byte value under a fresh key and atomically adds 1 to a
//! shared counter. N writer tasks run in a closed loop (each starts its next transaction as
//! soon as the previous commit returned) for a fixed time; commit latency is recorded from
//! `begin` to the return of `commit` (so it includes waiting for the group fsync).
//!
//! With `--reads N` (N > 0) a transaction first reads, as a chat append does, so the
//! committer has read conflicts to check: one range read of the eight keys from the one it
//! is about to write (nothing there yet), and N - 1 point reads of dedup keys, one of which
//! it then writes. Writers keep to their own keys, so nothing conflicts, and the reads stay
//! small whatever the store holds, so the figures show the commit path, not scans.
//!
//! ```text
//! cargo bench -p chatmesh-store --bench store-bench -- [--secs 5] [--engines fjall,redb,memory]
//!     [--writers 1,16,256] [--reads 0] [--dir PATH]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use store::{Database, EmbeddedOptions, EngineKind, RangeOption, decode_counter, tuple};

struct Args {
    secs: f64,
    /// `None` is the in-memory engine (no disk, no fsync): the layer's own ceiling.
    engines: Vec<Option<EngineKind>>,
    writers: Vec<usize>,
    /// Reads per transaction before it writes (0: blind writes).
    reads: usize,
    dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        secs: 5.0,
        engines: vec![Some(EngineKind::Fjall), Some(EngineKind::Redb)],
        writers: vec![1, 16, 256],
        reads: 0,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--secs" => args.secs = value()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--engines" => {
                args.engines = value()?
                    .split(',')
                    .map(|name| match name {
                        "fjall" => Ok(Some(EngineKind::Fjall)),
                        "redb" => Ok(Some(EngineKind::Redb)),
                        "memory" => Ok(None),
                        other => Err(format!("unknown engine {other}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--writers" => {
                args.writers = value()?
                    .split(',')
                    .map(|n| n.parse().map_err(|e| format!("--writers: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--reads" => args.reads = value()?.parse().map_err(|e| format!("--reads: {e}"))?,
            "--dir" => args.dir = Some(PathBuf::from(value()?)),
            // `cargo bench` passes `--bench`; ignore harness flags.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

struct Outcome {
    commits: u64,
    elapsed: Duration,
    latency_us: Histogram<u64>,
}

async fn run_writers(db: &Database, writers: usize, reads: usize, duration: Duration) -> Outcome {
    let counter = tuple::pack(&("bench", "count"));
    let value = [0x5au8; 100];
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(writers);
    for writer in 0..writers {
        let db = db.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut seq = 0u64;
            while Instant::now() < deadline {
                let began = Instant::now();
                let tx = db.begin();
                if reads > 0 {
                    let ahead = tx
                        .get_range(RangeOption::between(
                            &tuple::pack(&("bench", writer as u64, seq)),
                            &tuple::pack(&("bench", writer as u64, seq + 8)),
                        ))
                        .await
                        .expect("read the keys ahead");
                    assert!(ahead.is_empty(), "nobody else writes this writer's keys");
                    for k in 1..reads as u64 {
                        let dedup = tuple::pack(&("dedup", writer as u64, seq + k - 1));
                        tx.get(&dedup).await.expect("read a dedup key");
                    }
                    if reads > 1 {
                        tx.set(&tuple::pack(&("dedup", writer as u64, seq)), b"");
                    }
                }
                tx.set(&tuple::pack(&("bench", writer as u64, seq)), &value);
                tx.atomic_add(&counter, 1);
                tx.commit().await.expect("commit");
                let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                hist.saturating_record(micros.max(1));
                seq += 1;
            }
            hist
        }));
    }
    let mut latency_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    for task in tasks {
        latency_us
            .add(task.await.expect("writer"))
            .expect("merge histograms");
    }
    let elapsed = start.elapsed();
    let stored = db
        .begin()
        .get(&counter)
        .await
        .expect("read counter")
        .map_or(0, |v| decode_counter(&v));
    assert_eq!(stored as u64, latency_us.len(), "counter matches commits");
    Outcome {
        commits: latency_us.len(),
        elapsed,
        latency_us,
    }
}

fn engine_name(engine: Option<EngineKind>) -> &'static str {
    engine.map_or("memory", EngineKind::name)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("store-bench: {err}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    println!(
        "store-bench: {}s per run, {} reads + 100-byte value + atomic add per transaction, data under {}",
        args.secs,
        args.reads,
        parent.display()
    );
    println!(
        "{:<6} {:>7} {:>10} {:>12} {:>9} {:>9} {:>9}",
        "engine", "writers", "commits", "commits/s", "p50 ms", "p99 ms", "max ms"
    );
    for &engine in &args.engines {
        for &writers in &args.writers {
            let dir = tempfile::tempdir_in(&parent).expect("temp dir");
            let outcome = runtime.block_on(async {
                let db = match engine {
                    Some(engine) => {
                        Database::open_embedded(dir.path(), EmbeddedOptions::with_engine(engine))
                    }
                    None => Database::in_memory(),
                }
                .expect("open store");
                let outcome =
                    run_writers(&db, writers, args.reads, Duration::from_secs_f64(args.secs)).await;
                db.close().await.expect("close store");
                outcome
            });
            let ms = |q: f64| outcome.latency_us.value_at_quantile(q) as f64 / 1000.0;
            println!(
                "{:<6} {:>7} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>9.2}",
                engine_name(engine),
                writers,
                outcome.commits,
                outcome.commits as f64 / outcome.elapsed.as_secs_f64(),
                ms(0.5),
                ms(0.99),
                outcome.latency_us.max() as f64 / 1000.0,
            );
        }
    }
}
