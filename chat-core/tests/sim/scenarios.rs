//! The simulation tests: each scenario over many seeds, plus one fixed
//! seed to replay, and proof that the checks catch a broken run and every
//! sabotage mode of the core. To replay a failure, set `SIM_SCENARIO` (the
//! test's name) and `SIM_SEED` and run `replays_one_seed`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use chat_core::Sabotage;
use sync::replication::OutboxConfig;

use super::net::NetConfig;
use super::workload::Scenario;
use super::world::World;
use super::{check, run};

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
    ("membership_churn_under_faults", churn_scenario),
    ("retries_from_several_regions", retries_scenario),
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
        sends: 160,
        local_share: 0.5,
        retries: 20,
        changes: 20,
        strangers: 6,
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
        local_share: 0.8,
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
        strangers: 0,
        partitions: 0,
        restarts: 0,
        net: NetConfig::lossy(0.05, 0.05),
        ..mixed()
    }
}

fn outbox_partition_scenario() -> Scenario {
    Scenario {
        sends: 140,
        local_share: 0.3,
        strangers: 10,
        // Results (and sends) are lost often, so items are sent again.
        net: NetConfig::lossy(0.25, 0.1),
        // Late enough that the replica has learned the chat (until then
        // its users' sends are refused: not found).
        fixed_partitions: vec![(0, 1, 1_000, 2_800)],
        partition_max: 2_800,
        ..Scenario::base()
    }
}

/// Several items per chat in flight: safe only over ordered connections,
/// which lose nothing but what a dropped connection had in flight.
fn outbox_window_scenario() -> Scenario {
    Scenario {
        chats: vec![("c0".into(), 0), ("c1".into(), 1)],
        sends: 180,
        local_share: 0.3,
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

/// Members come and go all the time while sends cross partitions and
/// restarts: the fan-out must follow every spell of membership.
fn churn_scenario() -> Scenario {
    Scenario {
        regions: 3,
        chats: vec![("c0".into(), 0), ("c1".into(), 2)],
        local_share: 0.4,
        changes: 80,
        net: NetConfig::lossy(0.1, 0.05),
        partitions: 3,
        partition_max: 800,
        restarts: 2,
        ..Scenario::base()
    }
}

/// Many sends repeated with the same key, from the region they were first
/// sent from and from others, while results are lost.
fn retries_scenario() -> Scenario {
    Scenario {
        regions: 3,
        sends: 80,
        local_share: 0.4,
        retries: 80,
        net: NetConfig::lossy(0.2, 0.1),
        partitions: 2,
        partition_max: 600,
        ..Scenario::base()
    }
}

#[test]
fn steady_stream() {
    for seed in 0..10 {
        let (world, summary) = run("steady_stream", &Scenario::base(), seed);
        assert!(summary.texts > 30 && summary.system > 1, "{summary:?}");
        assert!(
            summary.edited > 0 && summary.deleted > 0 && summary.reactions > 0,
            "edits, deletes and reactions were folded: {summary:?}"
        );
        assert!(world.changes.0 > 0, "membership changed");
    }
}

#[test]
fn loss_and_reorder() {
    for seed in 0..20 {
        let (world, summary) = run("loss_and_reorder", &loss_and_reorder_scenario(), seed);
        assert!(summary.texts > 30, "{summary:?}");
        assert!(world.lost > 0 && world.duplicated > 0);
    }
}

#[test]
fn replica_disconnected_then_catches_up() {
    let scenario = disconnected_scenario();
    for seed in 0..10 {
        let (world, _) = run("replica_disconnected_then_catches_up", &scenario, seed);
        // Much of the stream was committed while the replica was away, and
        // catching up read the log back from the store.
        assert!(
            world.max_lag > 40,
            "seed {seed}: lag peaked at {}",
            world.max_lag
        );
        assert!(world.reads.1 > 0, "seed {seed}: reads {:?}", world.reads);
    }
}

#[test]
fn replica_restarts() {
    let scenario = restarts_scenario();
    for seed in 0..20 {
        let (world, _) = run("replica_restarts", &scenario, seed);
        assert_eq!(world.restarts, 5);
    }
}

#[test]
fn chats_homed_in_different_regions() {
    let scenario = homed_apart_scenario();
    for seed in 0..10 {
        let (_, summary) = run("chats_homed_in_different_regions", &scenario, seed);
        assert!(summary.forwarded > 30, "{summary:?}");
    }
}

#[test]
fn outbox_forwards_through_a_partition() {
    let scenario = outbox_partition_scenario();
    let mut forwarded = 0;
    for seed in 0..10 {
        let (world, summary) = run("outbox_forwards_through_a_partition", &scenario, seed);
        // A seed whose replica learns the chat late forwards little.
        forwarded += summary.forwarded;
        let strangers = world
            .attempts
            .iter()
            .filter(|a| a.sender.starts_with("stranger"))
            .count();
        assert!(strangers > 0, "strangers tried");
    }
    assert!(forwarded > 300, "forwarded {forwarded}");
}

#[test]
fn outbox_window_over_ordered_connections() {
    let scenario = outbox_window_scenario();
    for seed in 0..10 {
        let (world, summary) = run("outbox_window_over_ordered_connections", &scenario, seed);
        assert!(summary.forwarded > 0);
        assert_eq!(world.restarts, 2);
    }
}

#[test]
fn membership_churn_under_faults() {
    let scenario = churn_scenario();
    for seed in 0..10 {
        let (world, summary) = run("membership_churn_under_faults", &scenario, seed);
        assert!(world.changes.0 > 20, "seed {seed}: {:?}", world.changes);
        assert!(summary.refused > 0, "non-members were refused");
    }
}

#[test]
fn retries_from_several_regions() {
    let scenario = retries_scenario();
    let mut retried = 0;
    for seed in 0..10 {
        let (_, summary) = run("retries_from_several_regions", &scenario, seed);
        retried += summary.retried;
    }
    assert!(
        retried > 100,
        "retries answered with the first seq: {retried}"
    );
}

#[test]
fn many_seeds_of_everything() {
    let scenario = mixed();
    let mut totals = Totals::default();
    for seed in 0..40 {
        let (world, summary) = run("many_seeds_of_everything", &scenario, seed);
        totals.add(&world, &summary);
    }
    println!("{totals:#?}");
    // The faults did happen, and every recovery path was taken.
    assert!(totals.lost > 200 && totals.duplicated > 100, "{totals:?}");
    assert!(totals.resends > 20, "gaps were asked for: {totals:?}");
    // Each connection opens with one catalog per side; more were repeats.
    assert!(
        totals.catalogs > 2 * totals.connections,
        "catalogs were repeated: {totals:?}"
    );
    assert!(
        totals.forward_sends > totals.forwarded as u64,
        "items were sent again: {totals:?}"
    );
    assert!(
        totals.store_reads > 0 && totals.memory_reads > 0,
        "{totals:?}"
    );
    assert!(
        totals.refused > 0 && totals.retried > 0 && totals.restarts > 0,
        "{totals:?}"
    );
    assert!(totals.changes > 100, "{totals:?}");
}

/// Counters summed over many runs.
#[derive(Debug, Default)]
struct Totals {
    lost: u64,
    duplicated: u64,
    resends: u64,
    catalogs: u64,
    connections: u64,
    forwarded: usize,
    forward_sends: u64,
    refused: usize,
    retried: usize,
    restarts: usize,
    changes: usize,
    memory_reads: u64,
    store_reads: u64,
}

impl Totals {
    fn add(&mut self, world: &World, summary: &check::Summary) {
        let sent = |kind| world.sent.get(kind).copied().unwrap_or_default();
        self.lost += world.lost;
        self.duplicated += world.duplicated;
        self.resends += sent("resend");
        self.catalogs += sent("catalog");
        self.connections += world.connections;
        self.forwarded += summary.forwarded;
        self.forward_sends += sent("forward_send");
        self.refused += summary.refused;
        self.retried += summary.retried;
        self.restarts += world.restarts;
        self.changes += world.changes.0;
        self.memory_reads += world.reads.0;
        self.store_reads += world.reads.1;
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

/// A converged run of the mixed scenario, checked.
fn converged_world(seed: u64) -> World {
    let mut world = World::new(&mixed(), seed);
    world.run_to_quiescence();
    check::converged(&world);
    world
}

/// Whether the checks fail on `world`.
fn checks_fail(world: &World) -> bool {
    catch_unwind(AssertUnwindSafe(|| check::converged(world))).is_err()
}

#[test]
fn the_checks_notice_a_missing_replica_entry() {
    let mut world = converged_world(1);
    let rows = world.regions[1]
        .store
        .chats
        .get_mut("c0")
        .expect("c0 is replicated");
    let seq = *rows
        .messages
        .keys()
        .nth(20)
        .expect("entries were replicated");
    rows.messages.remove(&seq);
    assert!(
        checks_fail(&world),
        "a hole in a replica must fail the checks"
    );
}

#[test]
fn the_checks_notice_a_delivery_to_a_removed_member() {
    let mut world = converged_world(2);
    // The last delivery of c0 at a replica goes to one more user.
    let key = world
        .delivered
        .keys()
        .rfind(|(region, chat, _)| *region == 1 && chat == "c0")
        .cloned()
        .expect("c0 was delivered at region 1");
    world
        .delivered
        .get_mut(&key)
        .and_then(|all| all.first_mut())
        .expect("delivered once")
        .push("u9".into());
    assert!(
        checks_fail(&world),
        "a stray recipient must fail the checks"
    );
}

#[test]
fn the_checks_catch_every_sabotage_of_the_core() {
    for mode in [
        Sabotage::DropAcked,
        Sabotage::Duplicate,
        Sabotage::Reorder,
        Sabotage::IgnoreRemoval,
        Sabotage::HlcBackwards,
        Sabotage::KeepDeleted,
    ] {
        let scenario = Scenario {
            sabotage: Some(mode),
            changes: 30,
            ..Scenario::base()
        };
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let mut world = World::new(&scenario, 3);
            world.run_to_quiescence();
            check::converged(&world);
        }));
        assert!(caught.is_err(), "sabotage {mode:?} went unnoticed");
    }
}

/// The owner removes `u2` (seq 2) and adds them back (seq 3); a replica
/// that catches up afterwards from the store (whose entries carry the
/// chat's state after the re-add) still delivers seqs 1 and 2 to `u2`,
/// a member at both: member records keep every earlier spell.
#[test]
fn a_re_added_member_keeps_their_first_spell() {
    let scenario = Scenario {
        sends: 0,
        retries: 0,
        changes: 0,
        fixed_partitions: vec![(0, 1, 0, 500)],
        partition_max: 500,
        // Catching up reads the store, as after a restart.
        recent: 0,
        ..Scenario::base()
    };
    let mut world = World::new(&scenario, 0);
    world.change(0, 2, false);
    world.change(0, 2, true);
    world.run_to_quiescence();
    check::converged(&world);
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let steps = |seed| {
        let mut world = World::new(&mixed(), seed);
        world.run_to_quiescence();
        (world.steps, world.now, world.delivered.len())
    };
    assert_eq!(steps(7), steps(7));
}
