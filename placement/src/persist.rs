//! Loading and saving the standalone service's directory as a JSON file.
//!
//! Saves write a temporary file next to the target, sync it, and rename it
//! over the target, so a crash leaves either the old or the new directory,
//! never a torn one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::directory::Directory;

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Reading, writing or renaming failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a directory in JSON.
    #[error("parse {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The directory could not be encoded as JSON.
    #[error("encode directory: {0}")]
    Encode(serde_json::Error),
}

/// Reads the directory at `path`; a missing file is an empty directory.
pub fn load(path: &Path) -> Result<Directory, StateFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Directory::new()),
        Err(source) => return Err(io_error("read", path, source)),
    };
    serde_json::from_slice(&bytes).map_err(|source| StateFileError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Writes `directory` to `path` atomically.
pub fn save(path: &Path, directory: &Directory) -> Result<(), StateFileError> {
    let bytes = serde_json::to_vec_pretty(directory).map_err(StateFileError::Encode)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()
    };
    write().map_err(|source| io_error("write", &temporary, source))?;
    std::fs::rename(&temporary, path).map_err(|source| io_error("rename", path, source))
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> StateFileError {
    StateFileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Placement;

    #[test]
    fn a_missing_file_is_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("state.json")).unwrap().is_empty());
    }

    #[test]
    fn saves_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut directory = Directory::new();
        directory.apply(
            "c_1",
            &Placement {
                epoch: 3,
                home: "us-east".into(),
            },
        );
        save(&path, &directory).unwrap();
        directory.apply(
            "c_2",
            &Placement {
                epoch: 1,
                home: "eu-west".into(),
            },
        );
        save(&path, &directory).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back, directory);
        assert_eq!(back.version(), directory.version());
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").unwrap();
        let error = load(&path).unwrap_err();
        assert!(matches!(error, StateFileError::Parse { .. }));
        assert!(error.to_string().contains("state.json"), "{error}");
    }
}
