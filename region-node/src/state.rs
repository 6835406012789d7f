//! [`AppState`]: the handles every request handler may use.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use store::Database;

use crate::accounts::Accounts;
use crate::config::Config;

/// A cheap-to-clone bundle of the node's services.
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The region's store.
    pub db: Database,
    /// Accounts and devices.
    pub accounts: Accounts,
    /// False while starting and once draining for shutdown.
    pub ready: Arc<AtomicBool>,
}

impl AppState {
    /// Whether the node takes new work.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
