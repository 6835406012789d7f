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

pub mod directory;
pub mod health;
pub mod route;
pub mod topology;
