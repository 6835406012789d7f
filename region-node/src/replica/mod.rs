//! This region's side of replication: the driver that feeds every peer's
//! replication machines (`sync::replication`) and carries out what they
//! return, the application of peers' logs (chat entries through each
//! chat's task, account entries into the accounts), the answers to peers'
//! requests, mergeable deltas in both directions, and the outcome of
//! forwarded sends. It is handed the [`Handles`] it needs, nothing more.
//!
//! - `driver`: the task that owns the machines.
//! - `logs`: listing, reading and applying replicated logs.
//! - `deltas`: receipts, typing, profiles, metadata and presence.
//! - `requests`: answering a peer's requests.
//! - `outbox`: telling a sender what became of an accepted send.

mod deltas;
mod driver;
mod logs;
mod outbox;
mod requests;

use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::chat::Chats;
use crate::hub::Hub;
use crate::link::{Link, LinkRunner};
use crate::metrics::Metrics;

/// What replication works with.
#[derive(Clone)]
pub struct Handles {
    /// This region's name.
    pub region: String,
    /// The region's store.
    pub db: store::Database,
    /// Chats: replicated entries and forwarded sends go through their tasks.
    pub chats: Chats,
    /// Accounts: refreshes and username claims peers ask for.
    pub accounts: Accounts,
    /// Connections: revoked devices, presence, answers to accepted sends.
    pub hub: Hub,
    /// Metrics.
    pub metrics: Metrics,
    /// The link to the other regions.
    pub link: Link,
}

/// Drives replication and forwarding until `shutdown`.
pub async fn run(handles: Handles, runner: LinkRunner, shutdown: CancellationToken) {
    driver::Driver::new(handles).run(runner, shutdown).await;
}
