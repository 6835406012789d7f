//! One short run against real `region-node` processes: a three-region mesh
//! on loopback, ~40 s of workload with partitions, kills, pauses, slow
//! links and clock skew, then the heal and the final reads. The history
//! must be well formed, and the checker must find the mesh kept every
//! guarantee.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use jepsen::history::{self, F, Fault, OpType, Process, ReadOk, SendOk};
use jepsen::nemesis::{Kind, Kinds};
use jepsen::run::{RunOptions, Status};

mod common;
use common::region_node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_faults_keeps_every_guarantee() {
    let out = tempfile::tempdir().expect("tempdir");
    let kinds = vec![
        Kind::Partition,
        Kind::Slow,
        Kind::Kill,
        Kind::Pause,
        Kind::Skew,
    ];
    let options = RunOptions {
        regions_file: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../regions.yaml")),
        existing: false,
        time: Duration::from_secs(40),
        nemesis: Kinds(kinds.clone()),
        seed: 42,
        rate: 25.0,
        users: 6,
        out: out.path().to_owned(),
        region_node: region_node(),
        sabotage: None,
        converge_within: Duration::from_secs(60),
    };
    let summary = jepsen::run::run(options, Status::default())
        .await
        .expect("run");
    assert_eq!(summary.history, out.path().join("history.jsonl"));
    let ops = history::read(&summary.history).expect("read the history");
    assert_eq!(ops.len() as u64, summary.events);
    assert!(ops.iter().enumerate().all(|(i, op)| op.index == i as u64));
    assert!(ops.windows(2).all(|w| w[0].time <= w[1].time));

    // Every client and final-read invoke is followed by exactly one
    // completion of the same operation by the same process, before that
    // process invokes anything else.
    let mut open: BTreeMap<Process, F> = BTreeMap::new();
    for op in &ops {
        if matches!(op.f, F::Nemesis | F::Converged) {
            assert_eq!(op.kind, OpType::Info, "{op:?}");
            continue;
        }
        match op.kind {
            OpType::Invoke => {
                let earlier = open.insert(op.process.clone(), op.f);
                assert_eq!(earlier, None, "second invoke before a completion: {op:?}");
            }
            _ => {
                let invoked = open.remove(&op.process);
                assert_eq!(invoked, Some(op.f), "completion without its invoke: {op:?}");
                if op.kind != OpType::Ok {
                    assert!(op.error.is_some(), "fail/info without a reason: {op:?}");
                }
            }
        }
        if let Process::Client(_) = op.process {
            assert!(op.region.is_some() && op.device.is_some() && op.user.is_some());
        }
    }
    assert!(open.is_empty(), "invokes never completed: {open:?}");

    let ok_sends: Vec<SendOk> = ops
        .iter()
        .filter(|op| op.f == F::Send && op.kind == OpType::Ok)
        .map(|op| op.value_as().expect("send ok value"))
        .collect();
    assert!(
        ok_sends.len() >= 10,
        "only {} sends succeeded",
        ok_sends.len()
    );
    assert!(
        ok_sends
            .iter()
            .any(|s| s.status == "sent" && s.seq.is_some())
    );

    // A final read of every chat in every region.
    let finals: BTreeSet<(String, String)> = ops
        .iter()
        .filter(|op| op.f == F::FinalRead && op.kind == OpType::Ok)
        .map(|op| {
            let read: ReadOk = op.value_as().expect("final read value");
            assert_eq!(read.after, 0);
            (read.chat, op.region.clone().expect("final read region"))
        })
        .collect();
    assert_eq!(summary.chats, 3);
    assert_eq!(finals.len(), summary.chats * 3, "{finals:?}");
    let final_metas = ops
        .iter()
        .filter(|op| op.f == F::FinalMeta && op.kind == OpType::Ok)
        .count();
    assert_eq!(final_metas, summary.chats * 3);

    // A start and a stop for every fault, of every kind asked for.
    let faults: Vec<Fault> = ops
        .iter()
        .filter(|op| op.f == F::Nemesis)
        .map(|op| op.value_as().expect("fault value"))
        .collect();
    for kind in kinds {
        let starts = faults
            .iter()
            .filter(|f| f.fault == kind.name() && f.action == "start")
            .count();
        let stops = faults
            .iter()
            .filter(|f| f.fault == kind.name() && f.action == "stop")
            .count();
        assert!(starts >= 1, "no {} fault in {faults:?}", kind.name());
        assert_eq!(starts, stops, "{} faults not all stopped", kind.name());
    }
    assert!(out.path().join("logs/eu-west.log").exists());
    assert!(out.path().join("nemesis-plan.txt").exists());

    // The guarantees held, and the report says so.
    let report = jepsen::verdict::check_file(&summary.history, out.path()).expect("check");
    let text = jepsen::report::summary(&report);
    assert!(report.is_valid(), "{text}");
    assert!(text.trim_end().ends_with("VALID"), "{text}");
    for file in ["results.json", "summary.txt", "timeline.png", "history.edn"] {
        assert!(out.path().join(file).exists(), "{file}");
    }
}
