//! The simulation tests: each scenario over many seeds, plus one fixed
//! seed to replay. To replay a failure, set `SIM_SCENARIO` (the test's
//! name) and `SIM_SEED` and run `replays_one_seed`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::net::NetConfig;
use super::workload::Scenario;
use super::world::World;
use super::{check, run};
use crate::replication::OutboxConfig;

/// Builds a scenario.
type Builder = fn() -> Scenario;

/// Every scenario by the name of the test that runs it.
const SCENARIOS: &[(&str, Builder)] = &[
    ("steady_stream", Scenario::base),
    ("loss_and_reorder", loss_and_reorder_scenario),
    (
        "replica_disconnected_then_catches_up",
        disconnected_scenario,
    ),
    ("replica_restarts", restarts_scenario),
    ("chats_homed_in_different_regions", homed_apart_scenario),
    (
        "outbox_forwards_through_a_partition",
        outbox_partition_scenario,
    ),
    (
        "outbox_window_over_ordered_connections",
        outbox_window_scenario,
    ),
    ("many_seeds_of_everything", mixed),
];

/// Three regions, chats homed in each, every fault at once.
fn mixed() -> Scenario {
    Scenario {
        regions: 3,
        chats: vec![
            ("c0".into(), 0),
            ("c1".into(), 1),
            ("c2".into(), 2),
            ("c3".into(), 0),
        ],
        local_sends: 120,
        forwards: 60,
        rejects: true,
        net: NetConfig::lossy(0.1, 0.05),
        partitions: 4,
        partition_max: 1_500,
        restarts: 3,
        ..Scenario::base()
    }
}

fn loss_and_reorder_scenario() -> Scenario {
    Scenario {
        chats: vec![("c0".into(), 0), ("c1".into(), 0)],
        net: NetConfig::lossy(0.2, 0.1),
        ..Scenario::base()
    }
}

fn disconnected_scenario() -> Scenario {
    Scenario {
        net: NetConfig::lossy(0.05, 0.05),
        fixed_partitions: vec![(0, 1, 300, 2_700)],
        partition_max: 2_700,
        ..Scenario::base()
    }
}

fn restarts_scenario() -> Scenario {
    Scenario {
        chats: vec![("c0".into(), 0), ("c1".into(), 0)],
        net: NetConfig::lossy(0.1, 0.05),
        restarts: 5,
        ..Scenario::base()
    }
}

fn homed_apart_scenario() -> Scenario {
    Scenario {
        rejects: false,
        partitions: 0,
        restarts: 0,
        net: NetConfig::lossy(0.05, 0.05),
        ..mixed()
    }
}

fn outbox_partition_scenario() -> Scenario {
    Scenario {
        local_sends: 40,
        forwards: 100,
        rejects: true,
        // Results (and sends) are lost often, so items are sent again.
        net: NetConfig::lossy(0.25, 0.1),
        fixed_partitions: vec![(0, 1, 200, 2_500)],
        partition_max: 2_500,
        ..Scenario::base()
    }
}

/// Several items per chat in flight: safe only over ordered connections,
/// which lose nothing but what a dropped connection had in flight.
fn outbox_window_scenario() -> Scenario {
    Scenario {
        chats: vec![("c0".into(), 0), ("c1".into(), 1)],
        local_sends: 60,
        forwards: 120,
        partitions: 3,
        partition_max: 800,
        restarts: 2,
        outbox: OutboxConfig {
            max_in_flight_per_chat: 8,
            ..Scenario::base().outbox
        },
        ..Scenario::base()
    }
}

#[test]
fn steady_stream() {
    for seed in 0..10 {
        let (_, summary) = run("steady_stream", &Scenario::base(), seed);
        assert_eq!(summary.entries, 150);
    }
}

#[test]
fn loss_and_reorder() {
    for seed in 0..40 {
        let (_, summary) = run("loss_and_reorder", &loss_and_reorder_scenario(), seed);
        assert_eq!(summary.entries, 150);
    }
}

#[test]
fn replica_disconnected_then_catches_up() {
    let scenario = disconnected_scenario();
    for seed in 0..20 {
        let (world, _) = run("replica_disconnected_then_catches_up", &scenario, seed);
        // Most of the stream was committed while the replica was away.
        assert!(
            world.max_lag > 60,
            "seed {seed}: lag peaked at {}",
            world.max_lag
        );
    }
}

#[test]
fn replica_restarts() {
    let scenario = restarts_scenario();
    for seed in 0..40 {
        let (world, _) = run("replica_restarts", &scenario, seed);
        assert_eq!(world.restarts, 5);
    }
}

#[test]
fn chats_homed_in_different_regions() {
    let scenario = homed_apart_scenario();
    for seed in 0..30 {
        let (_, summary) = run("chats_homed_in_different_regions", &scenario, seed);
        assert_eq!(summary.entries, 180);
        assert_eq!(summary.forwarded, 60);
    }
}

#[test]
fn outbox_forwards_through_a_partition() {
    let scenario = outbox_partition_scenario();
    for seed in 0..30 {
        let (_, summary) = run("outbox_forwards_through_a_partition", &scenario, seed);
        assert_eq!((summary.forwarded, summary.rejected), (90, 10));
        assert_eq!(summary.entries, 130);
    }
}

#[test]
fn outbox_window_over_ordered_connections() {
    let scenario = outbox_window_scenario();
    for seed in 0..30 {
        let (world, summary) = run("outbox_window_over_ordered_connections", &scenario, seed);
        assert!(summary.forwarded > 0);
        assert_eq!(world.restarts, 2);
    }
}

#[test]
fn many_seeds_of_everything() {
    let scenario = mixed();
    let mut totals = Totals::default();
    for seed in 0..200 {
        let (world, _) = run("many_seeds_of_everything", &scenario, seed);
        totals.add(&world);
    }
    println!("{totals:#?}");
    // The faults did happen, and every recovery path was taken.
    assert!(totals.lost > 1_000 && totals.duplicated > 500, "{totals:?}");
    assert!(totals.resends > 100, "gaps were asked for: {totals:?}");
    // Each connection opens with one catalog per side; more were repeats.
    assert!(
        totals.catalogs > 2 * totals.connections,
        "catalogs were repeated: {totals:?}"
    );
    assert!(
        totals.forward_sends > totals.forwards,
        "items were sent again: {totals:?}"
    );
    assert!(totals.rejected > 0 && totals.restarts > 0, "{totals:?}");
}

/// Counters summed over many runs.
#[derive(Debug, Default)]
struct Totals {
    lost: u64,
    duplicated: u64,
    resends: u64,
    catalogs: u64,
    connections: u64,
    forwards: u64,
    forward_sends: u64,
    rejected: usize,
    restarts: usize,
}

impl Totals {
    fn add(&mut self, world: &World) {
        let sent = |kind| world.sent.get(kind).copied().unwrap_or_default();
        self.lost += world.lost;
        self.duplicated += world.duplicated;
        self.resends += sent("resend");
        self.catalogs += sent("catalog");
        self.connections += world.connections;
        self.forwards += world.forwarded.len() as u64;
        self.forward_sends += sent("forward_send");
        self.rejected += world.forwarded.iter().filter(|f| f.reject).count();
        self.restarts += world.restarts;
    }
}

#[test]
fn replays_one_seed() {
    let name = std::env::var("SIM_SCENARIO").unwrap_or_else(|_| "many_seeds_of_everything".into());
    let seed = std::env::var("SIM_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0x5EED_2024);
    let (name, scenario) = SCENARIOS
        .iter()
        .find(|(known, _)| *known == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let (_, summary) = run(name, &scenario(), seed);
    assert!(summary.entries > 0);
}

#[test]
fn the_checks_notice_a_missing_replica_entry() {
    let mut world = World::new(&Scenario::base(), 1);
    world.run_to_quiescence();
    check::converged(&world);
    let replica = &mut world.regions[1].store.log;
    let some_key = replica
        .keys()
        .nth(40)
        .cloned()
        .expect("entries were replicated");
    replica.remove(&some_key);
    let failed = catch_unwind(AssertUnwindSafe(|| check::converged(&world)));
    assert!(failed.is_err(), "a hole in a replica must fail the checks");
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let steps = |seed| {
        let mut world = World::new(&mixed(), seed);
        world.run_to_quiescence();
        (world.steps, world.now)
    };
    assert_eq!(steps(7), steps(7));
}
