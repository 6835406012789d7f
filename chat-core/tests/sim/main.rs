//! Deterministic simulation of several regions running the real chat
//! rules and the real replication machines together, in the manner of
//! quinn-proto's `Pair` and turmoil: every region has an in-memory store
//! and, rebuilt from it, one [`ChatCore`](chat_core::ChatCore) per chat
//! plus a `Shipper`, a `Receiver` and an `Outbox` per peer; the network
//! between regions delays, reorders, loses and duplicates messages from a
//! seeded generator, links are cut and healed, regions restart from their
//! store alone, and time only moves when the simulation says so.
//!
//! Why it lives here, in chat-core's tests: it needs both the chat's rules
//! (gapless sequencing, dedup by `(sender, client_msg_id)`, membership and
//! the fan-out rule) and the replication machines of `sync`, and chat-core
//! is the lowest crate that sees both (it sits above `sync`, which knows no
//! chat rules). It plays the shell itself, through public APIs only, so
//! region-node's async shells (tasks, store, QUIC) stay out of it; what it
//! checks is that the cores and the machines, wired as the design says,
//! keep the guarantees under faults.
//!
//! - `net`: links and what the network does to one message.
//! - `store`: what a region keeps on disk, and the core's writes applied.
//! - `region`: a region's store and the machines rebuilt from it.
//! - `world`: the event loop that plays the shell for every core and machine.
//! - `workload`: scenarios and the seeded schedule of sends, membership
//!   changes and faults.
//! - `check`: what must hold once everything is quiet.
//! - `scenarios`: the tests.

mod check;
mod net;
mod region;
mod scenarios;
mod store;
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
                 SIM_SCENARIO={} SIM_SEED={} cargo test -p chatmesh-chat-core --test sim replays_one_seed",
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
