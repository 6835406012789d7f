//! What the handlers share: the topology, region health, the directory and
//! the admin token. Cloning shares them.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::auth::AdminToken;
use crate::directory::Directory;
use crate::health::{HealthTable, SharedHealth};
use crate::topology::Topology;

/// The chat directory behind a lock, announcing each change of its version
/// so persistence and replication can follow without polling.
#[derive(Debug, Clone)]
pub struct SharedDirectory {
    directory: Arc<Mutex<Directory>>,
    version: watch::Sender<u64>,
}

impl SharedDirectory {
    /// Shares `directory`.
    pub fn new(directory: Directory) -> Self {
        let (version, _) = watch::channel(directory.version());
        Self {
            directory: Arc::new(Mutex::new(directory)),
            version,
        }
    }

    /// Runs `f` on the directory.
    pub fn read<R>(&self, f: impl FnOnce(&Directory) -> R) -> R {
        f(&self.lock())
    }

    /// Runs `f` on the directory and announces the new version if it changed.
    pub fn update<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        let mut directory = self.lock();
        let result = f(&mut directory);
        let version = directory.version();
        drop(directory);
        self.version.send_if_modified(|announced| {
            // Two updaters can race to here; never announce an older version.
            let newer = version > *announced;
            if newer {
                *announced = version;
            }
            newer
        });
        result
    }

    /// A receiver that wakes when the directory's version changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Directory> {
        // Directory methods change one entry with one insert, so a panic in
        // a holder cannot leave it half-updated.
        self.directory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Everything the placement router needs.
#[derive(Debug, Clone)]
pub struct PlacementState {
    /// The validated topology.
    pub topology: Arc<Topology>,
    /// Region health, fed by polling and pushed heartbeats.
    pub health: SharedHealth,
    /// The chat directory.
    pub directory: SharedDirectory,
    /// The token state-changing requests must carry.
    pub admin_token: AdminToken,
}

impl PlacementState {
    /// State for `topology` with `directory` and no region heard from yet.
    pub fn new(topology: Arc<Topology>, directory: Directory, admin_token: AdminToken) -> Self {
        Self {
            health: SharedHealth::new(HealthTable::new(&topology)),
            directory: SharedDirectory::new(directory),
            topology,
            admin_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Placement;

    #[tokio::test]
    async fn updates_that_change_the_directory_are_announced() {
        let shared = SharedDirectory::new(Directory::new());
        let mut changes = shared.subscribe();
        let placement = Placement {
            epoch: 1,
            home: "eu-west".into(),
        };
        assert!(shared.update(|d| d.apply("c_1", &placement)));
        assert!(changes.has_changed().unwrap());
        assert_eq!(*changes.borrow_and_update(), 1);
        assert!(!shared.update(|d| d.apply("c_1", &placement)));
        assert!(!changes.has_changed().unwrap());
        assert_eq!(shared.read(|d| d.get("c_1").cloned()), Some(placement));
    }
}
