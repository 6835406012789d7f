//! Uploaded media of one region: images and files up to
//! [`MAX_MEDIA_BYTES`], stored once per distinct content.
//!
//! An upload is spooled to a temporary file in the data directory while it
//! arrives ([`spool`]: counted, hashed, never whole in memory), its
//! declared content type is checked against its first bytes ([`sniff`]),
//! then its bytes go to the blob store under their SHA-256 ([`blobs`]) and
//! its metadata to the region's store ([`records`]). Refused and
//! interrupted uploads leave nothing behind.
//!
//! Only the uploader may read a media for now; readers of messages that
//! reference it come with `send` of a `media_id`.
//!
//! - [`spool`]: the temporary file, its hash and its size limit.
//! - [`sniff`]: the declared content type against the bytes.
//! - [`blobs`]: the content-addressed blob store.
//! - [`records`]: media metadata in the store.
//! - [`Error`]: why an operation was refused or failed.

pub mod blobs;
mod error;
pub mod records;
pub mod sniff;
pub mod spool;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
pub use protocol::media::MAX_MEDIA_BYTES;
use protocol::media::MediaInfo;
use store::Database;
use tracing::Instrument as _;

pub use blobs::Blobs;
pub use error::Error;

use crate::config::MediaConfig;

/// Longest file name accepted, in bytes.
pub const MAX_FILENAME_BYTES: usize = 255;

/// A handle on the region's media; cheap to clone.
#[derive(Clone, Debug)]
pub struct Media(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Database,
    blobs: Blobs,
    spool_dir: PathBuf,
}

impl Media {
    /// Opens the blob store and the spool directory, removing spool files
    /// an earlier process left when it stopped mid-upload.
    pub fn open(config: &MediaConfig, db: Database) -> Result<Self, Error> {
        let blobs = Blobs::open(config)?;
        crate::storage::make_private(&config.spool_dir)?;
        for entry in std::fs::read_dir(&config.spool_dir)? {
            let path = entry?.path();
            if path.is_file() {
                tracing::info!(path = %path.display(), "removing an unfinished upload");
                std::fs::remove_file(&path)?;
            }
        }
        Ok(Self(Arc::new(Inner {
            db,
            blobs,
            spool_dir: config.spool_dir.clone(),
        })))
    }

    /// Stores an upload of `uploader`'s and records it.
    pub async fn upload<S, E>(
        &self,
        uploader: &str,
        filename: &str,
        declared_type: Option<&str>,
        body: S,
    ) -> Result<MediaInfo, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let span = tracing::info_span!("upload", user = %uploader);
        async move {
            check_filename(filename)?;
            let spooled = spool::spool(&self.0.spool_dir, body, MAX_MEDIA_BYTES).await?;
            let content_type = sniff::check(declared_type, &spooled.head)?;
            let written = self
                .0
                .blobs
                .put_file(&spooled.sha256, spooled.path())
                .await?;
            let info = MediaInfo {
                media_id: format!("m_{}", uuid::Uuid::now_v7().simple()),
                uploader: uploader.to_owned(),
                filename: filename.to_owned(),
                content_type,
                size: spooled.size,
                sha256: spooled.sha256.clone(),
                width: None,
                height: None,
            };
            // If this fails after a new blob was written, the blob stays
            // unreferenced: harmless, and the work on deleting unreferenced
            // blobs will collect it.
            records::put(&self.0.db, &info).await?;
            tracing::info!(
                media = %info.media_id,
                size = info.size,
                sha256 = %info.sha256,
                new_blob = written,
                "stored"
            );
            Ok(info)
        }
        .instrument(span)
        .await
    }

    /// The media `media_id` as `viewer` may see it: [`Error::NotFound`]
    /// both when it does not exist and when the viewer may not read it.
    pub async fn info(&self, viewer: &str, media_id: &str) -> Result<MediaInfo, Error> {
        match records::get(&self.0.db, media_id).await? {
            Some(info) if info.uploader == viewer => Ok(info),
            _ => Err(Error::NotFound),
        }
    }

    /// The bytes of `info` in `range` (all if `None`), as a stream.
    pub async fn read(
        &self,
        info: &MediaInfo,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, object_store::Result<Bytes>>, Error> {
        self.0.blobs.read(&info.sha256, range).await
    }
}

/// A file name is 1–255 bytes with no path separators or control characters.
fn check_filename(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_FILENAME_BYTES
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "filename must be 1-{MAX_FILENAME_BYTES} bytes without '/', '\\' or control characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert!(check_filename("photo.png").is_ok());
        assert!(check_filename("résumé 2026.pdf").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
    }
}
