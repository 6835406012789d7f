//! The chatmesh consistency harness. It runs a seeded workload of client
//! processes against a live mesh (one it starts on this machine, or a
//! deployment described by a `regions.yaml`), injects faults, records every
//! operation as a history of `invoke` / `ok` / `fail` / `info` events, and
//! checks the history against the guarantees chatmesh makes: nothing
//! acknowledged is lost, one gapless order per chat in every region, reads
//! are prefixes of that order, causality, convergence of metadata, and
//! membership.
//!
//! - [`history`]: the recorded events and their on-disk format.
//! - [`cluster`]: the mesh under test: region processes, link proxies, or
//!   an existing deployment.
//! - [`nemesis`]: the seeded schedule of faults and its execution.
//! - [`workload`]: users, groups and client processes that record what they
//!   did and saw.
//! - [`run`]: one whole run: cluster, workload, nemesis, heal, final reads.
//! - [`checker`]: the guarantees, checked over a history.
//! - [`report`]: `results.json`, a readable summary and a timeline chart.
//! - [`edn`]: the history in Elle's list-append form.
//! - [`verdict`]: check a history file and write the report beside it.

pub mod checker;
pub mod cluster;
pub mod edn;
pub mod history;
pub mod nemesis;
pub mod report;
pub mod run;
pub mod verdict;
pub mod workload;
