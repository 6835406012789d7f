//! Opens the store backend the configuration names.

use store::{Database, StoreError};

use crate::config::{Config, StoreBackend};

/// Opens the region's store.
pub fn open(config: &Config) -> Result<Database, StoreError> {
    match &config.store {
        StoreBackend::Embedded => {
            std::fs::create_dir_all(&config.data_dir).map_err(StoreError::Io)?;
            let options = store::EmbeddedOptions {
                skip_sync_for_tests: chat_core::Sabotage::skips_fsync(config.sabotage),
                ..store::EmbeddedOptions::default()
            };
            Database::open_embedded(&config.data_dir, options)
        }
        StoreBackend::Fdb { cluster_file } => open_fdb(cluster_file.as_deref()),
    }
}

#[cfg(feature = "fdb")]
fn open_fdb(cluster_file: Option<&std::path::Path>) -> Result<Database, StoreError> {
    let backend = store_fdb::FdbBackend::open(cluster_file)?;
    Ok(Database::from_backend(std::sync::Arc::new(backend)))
}

#[cfg(not(feature = "fdb"))]
fn open_fdb(_cluster_file: Option<&std::path::Path>) -> Result<Database, StoreError> {
    Err(StoreError::Backend(
        "this region-node was built without FoundationDB support; rebuild with --features fdb"
            .to_owned(),
    ))
}
