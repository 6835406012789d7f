//! The chatmesh consistency harness. It runs a seeded workload of client
//! processes against a live mesh (one it starts on this machine, or a
//! deployment described by a `regions.yaml`), injects faults, records every
//! operation as a history of `invoke` / `ok` / `fail` / `info` events, and
//! checks the history against the guarantees chatmesh makes: nothing
//! acknowledged is lost, one gapless order per chat in every region, reads
//! are prefixes of that order, causality, convergence of metadata, and
//! membership.

pub mod checker;
pub mod edn;
pub mod history;
pub mod report;
