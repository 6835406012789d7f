//! Deterministic simulation of several regions replicating to each other,
//! in the manner of quinn-proto's `Pair` and turmoil: every region has an
//! in-memory store and the real state machines, the network between them
//! delays, reorders, loses and duplicates messages from a seeded generator,
//! links are cut and healed, regions restart from their store alone, and
//! time only moves when the simulation says so.
//!
//! - `net`: links and what the network does to one message.
//! - `region`: a region's store and its sequencer.
//! - `world`: the event loop that plays the shell for every machine.
//! - `workload`: scenarios and the seeded schedule of sends and faults.
//! - `check`: what must hold once everything is quiet.
//! - `scenarios`: the tests.

mod check;
mod net;
mod region;
mod scenarios;
mod workload;
mod world;

/// Prints the seed of a failing run, so it can be replayed.
struct SeedGuard {
    scenario: &'static str,
    seed: u64,
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "simulation `{}` failed with seed {}; replay it with \
                 SIM_SCENARIO={} SIM_SEED={} cargo test -p chatmesh-sync replays_one_seed",
                self.scenario, self.seed, self.scenario, self.seed
            );
        }
    }
}

/// Runs one scenario with one seed to quiescence and checks the outcome,
/// naming the seed if anything fails.
fn run(
    name: &'static str,
    scenario: &workload::Scenario,
    seed: u64,
) -> (world::World, check::Summary) {
    let _guard = SeedGuard {
        scenario: name,
        seed,
    };
    let mut world = world::World::new(scenario, seed);
    world.run_to_quiescence();
    let summary = check::converged(&world);
    (world, summary)
}
