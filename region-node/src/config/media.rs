//! `[media]`: where uploaded blobs are kept.
//!
//! Only a local directory works today (`backend = "local"`, the default, a
//! directory under the data directory); the setting is an enum so an
//! S3-compatible bucket can be added later without changing the code that
//! stores and serves blobs, which sees only an `object_store::ObjectStore`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[media]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMedia {
    /// `local` (default).
    pub backend: Option<String>,
    /// The blob directory of the `local` backend [default: `<data_dir>/media`].
    pub dir: Option<PathBuf>,
}

/// Where blobs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaBackend {
    /// A directory on this machine.
    Local {
        /// The directory blobs are stored under.
        dir: PathBuf,
    },
}

/// Validated `[media]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Where blobs live.
    pub backend: MediaBackend,
    /// Where uploads are spooled while they arrive (always local, in the
    /// data directory).
    pub spool_dir: PathBuf,
}

impl MediaConfig {
    pub(crate) fn from_raw(raw: RawMedia, data_dir: &Path) -> Result<Self, ConfigError> {
        let backend = match raw.backend.as_deref().unwrap_or("local") {
            "local" => MediaBackend::Local {
                dir: raw.dir.unwrap_or_else(|| data_dir.join("media")),
            },
            other => {
                return Err(invalid(
                    "media.backend",
                    format!("{other:?} is not a media backend this build supports (\"local\")"),
                ));
            }
        };
        Ok(Self {
            backend,
            spool_dir: data_dir.join("media-spool"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_under_the_data_dir_by_default() {
        let config = MediaConfig::from_raw(RawMedia::default(), Path::new("/d")).unwrap();
        assert_eq!(
            config.backend,
            MediaBackend::Local {
                dir: PathBuf::from("/d/media")
            }
        );
        assert_eq!(config.spool_dir, PathBuf::from("/d/media-spool"));
    }

    #[test]
    fn unknown_backends_are_refused() {
        let raw = RawMedia {
            backend: Some("ftp".into()),
            dir: None,
        };
        assert!(MediaConfig::from_raw(raw, Path::new("/d")).is_err());
    }
}
