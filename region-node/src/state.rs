//! [`AppState`]: the handles every request handler may use.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use store::Database;

use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::chat::Chats;
use crate::config::Config;
use crate::hlc::HlcClock;
use crate::hub::Hub;
use crate::limits::Limits;
use crate::link::Link;
use crate::media::Media;

/// A cheap-to-clone handle on the node's services: one pointer, because a
/// copy sits in every connection's tasks and idle connections must stay
/// small.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// Wraps the services.
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The node's services.
pub struct Services {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The region's store.
    pub db: Database,
    /// Accounts and devices.
    pub accounts: Accounts,
    /// False while starting and once draining for shutdown.
    pub ready: Arc<AtomicBool>,
    /// Connections and presence.
    pub hub: Hub,
    /// Chats and messages.
    pub chats: Chats,
    /// Uploaded media.
    pub media: Media,
    /// The node's hybrid logical clock.
    pub hlc: Arc<HlcClock>,
    /// Rate limits.
    pub limits: Limits,
    /// Cancelled when the node shuts down; sessions close on it.
    pub shutdown: CancellationToken,
    /// This region's place in a mesh, if it is in one.
    pub mesh: Option<Link>,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
}

impl Services {
    /// Whether the node takes new work.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
