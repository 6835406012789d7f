//! chatmesh placement: where users and chats live.
//!
//! Placement reads the region topology (`regions.yaml`), sends each client to
//! the nearest healthy region, and keeps the chat directory (chat → home
//! region, with an epoch that fences moves). The pure parts are usable on
//! their own; [`service`] wraps them in an axum router that region-node can
//! embed, and [`run`] serves that router standalone (the `placement` binary).
//!
//! - [`topology`]: the `regions.yaml` types, loaded and validated once.
//! - [`route`]: ranking regions for a client by health, RTT and distance.
//! - [`health`]: region health from heartbeats, with time passed in.
//! - [`directory`]: the chat directory as a state-based CRDT.
//! - [`service`]: the HTTP API as an embeddable axum router.
//! - [`poller`]: polls each region's `/readyz` into the health table.
//! - [`persist`]: the standalone service's directory file.
//! - [`server`]: [`run`], the standalone service.

pub mod directory;
pub mod health;
pub mod persist;
pub mod poller;
pub mod route;
pub mod server;
pub mod service;
pub mod topology;

pub use server::{Config, RunError, run};
