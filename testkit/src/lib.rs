//! Tools for running a whole chatmesh mesh on one machine, shared by
//! `region-node mesh` (a demo mesh with slow, lossy links) and the
//! consistency harness (a mesh under faults).
//!
//! A mesh on loopback is planned first ([`layout`], [`plan`]), so the plan
//! can be tested without sockets; then its links start as fault-injecting
//! UDP proxies ([`links`], [`proxy`]), and its regions as `region-node`
//! child processes ([`process`], [`children`]). This crate starts the
//! region node as an executable and never links it: the node depends on
//! nothing here at run time.
//!
//! - [`layout`]: a topology moved onto fresh loopback ports.
//! - [`plan`]: the links of a mesh and how each region is told about them.
//! - [`proxy`]: a fault-injecting UDP proxy for one link.
//! - [`links`]: every link's proxy, and faults named by traffic direction.
//! - [`process`]: one region process: start, stop, kill, pause, restart.
//! - [`children`]: region processes supervised together.
//! - [`flags`]: parsing durations and probabilities given on command lines.
//! - [`error`]: the crate's error, [`MeshError`].

pub mod children;
pub mod error;
pub mod flags;
pub mod layout;
pub mod links;
pub mod plan;
pub mod process;
pub mod proxy;

mod rng;

pub use error::MeshError;
