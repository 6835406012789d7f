//! The harness must catch every deliberate defect region-node can run
//! with: each test starts a real mesh in one sabotage mode, runs a short
//! workload (with the fault the defect needs to show, if any), and expects
//! the checker to report the anomaly classes the defect breaks.

use std::path::PathBuf;
use std::time::Duration;

use jepsen::checker::Class;
use jepsen::nemesis::{Kind, Kinds};
use jepsen::run::{RunOptions, Status};

mod common;

/// One mesh at a time: several at once on a small machine only measure
/// the machine.
static ONE_MESH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `mode` for `secs` with `faults`; panics unless the checker reports
/// at least one of `expected`.
async fn caught(mode: &str, faults: Vec<Kind>, secs: u64, expected: &[Class]) {
    let _one = ONE_MESH.lock().await;
    let out = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        regions_file: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../regions.yaml")),
        existing: false,
        time: Duration::from_secs(secs),
        nemesis: Kinds(faults),
        seed: 11,
        rate: 30.0,
        users: 6,
        out: out.path().to_owned(),
        region_node: common::region_node(),
        sabotage: Some(mode.to_owned()),
        converge_within: Duration::from_secs(30),
    };
    let summary = jepsen::run::run(options, Status::default())
        .await
        .expect("run");
    let report = jepsen::verdict::check_file(&summary.history, out.path()).expect("check");
    let text = jepsen::report::summary(&report);
    assert!(!report.is_valid(), "{mode} went unnoticed:\n{text}");
    let found = report.failing_classes();
    assert!(
        expected.iter().any(|class| found.contains(class)),
        "{mode}: expected one of {expected:?}, found {found:?}\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_message_dropped_is_caught() {
    caught("drop-acked", vec![], 15, &[Class::LostWrite]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_twice_is_caught() {
    caught("duplicate", vec![], 15, &[Class::Duplicate]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_storing_out_of_order_are_caught() {
    caught(
        "reorder",
        vec![],
        15,
        &[Class::FinalDivergence, Class::NotPrefix, Class::SeqMismatch],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_never_made_durable_are_caught_by_a_crash() {
    caught(
        "skip-fsync",
        vec![Kind::Kill],
        20,
        &[Class::LostWrite, Class::SeqMismatch, Class::FinalDivergence],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_members_still_receiving_are_caught() {
    caught("ignore-removal", vec![], 20, &[Class::MembershipViolation]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hlc_going_backwards_is_caught() {
    caught(
        "hlc-backwards",
        vec![],
        15,
        &[Class::HlcOrder, Class::Causality],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_keeping_deleted_text_are_caught() {
    caught("keep-deleted", vec![], 20, &[Class::DeletedReadable]).await;
}
