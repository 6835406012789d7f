//! Opens the store backend the configuration names, in a data directory
//! private to the node's user: the directory and any below it 0700, every
//! file 0600 (the store holds the token signing key). Modes an older
//! version left looser are tightened at start.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use store::{Database, StoreError};

use crate::config::{Config, StoreBackend};

/// Opens the region's store.
pub fn open(config: &Config) -> Result<Database, StoreError> {
    match &config.store {
        StoreBackend::Embedded => {
            make_private(&config.data_dir).map_err(|e| {
                StoreError::Io(io::Error::new(
                    e.kind(),
                    format!("make {} private: {e}", config.data_dir.display()),
                ))
            })?;
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

/// Creates `dir` if needed and makes it and everything in it private.
pub fn make_private(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    tighten(dir)
}

fn tighten(dir: &Path) -> io::Result<()> {
    set_mode(dir, 0o700)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            tighten(&entry.path())?;
        } else if kind.is_file() {
            set_mode(&entry.path(), 0o600)?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let now = fs::metadata(path)?.permissions().mode() & 0o777;
    if now != mode {
        if now & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{now:o}"), "tightening the mode of a data file other users could read");
        }
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_modes_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir_all(data.join("sub")).unwrap();
        fs::write(data.join("sub/journal"), b"secret").unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(data.join("sub/journal"), fs::Permissions::from_mode(0o644)).unwrap();
        make_private(&data).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("sub")), 0o700);
        assert_eq!(mode(&data.join("sub/journal")), 0o600);
    }
}
