//! [`Blobs`]: the region's blob store, content-addressed by SHA-256,
//! behind the `object_store` crate (a local directory today; an
//! S3-compatible bucket is a configuration away, see
//! [`MediaBackend`](crate::config::MediaBackend)).
//!
//! A blob lives at `sha256/<first two hex digits>/<sha256>`, so the same
//! bytes are stored once however often they are uploaded. Blobs are
//! written from the spooled upload in parts and read back as a stream:
//! neither side holds a whole blob in memory.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, WriteMultipart};
use tokio::io::AsyncReadExt as _;

use super::Error;
use crate::config::{MediaBackend, MediaConfig};

/// Bytes per part written to the store: small, since a local directory
/// takes any part size and memory per upload is about two parts. (S3 will
/// need 5 MiB.)
const LOCAL_PART_BYTES: usize = 256 * 1024;

/// Bytes read from the spool file at a time.
const READ_BYTES: usize = 64 * 1024;

/// A handle on the blob store; cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    part_bytes: usize,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("store", &self.store.to_string())
            .finish()
    }
}

impl Blobs {
    /// Opens the configured store, creating a local directory if needed.
    pub fn open(config: &MediaConfig) -> Result<Self, Error> {
        match &config.backend {
            MediaBackend::Local { dir } => {
                crate::storage::make_private(dir)?;
                let store = LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
                Ok(Self {
                    store: Arc::new(store),
                    part_bytes: LOCAL_PART_BYTES,
                })
            }
        }
    }

    /// Where the blob with this SHA-256 (lowercase hex) lives.
    fn location(sha256: &str) -> Path {
        let fan = sha256.get(..2).unwrap_or("00");
        Path::from(format!("sha256/{fan}/{sha256}"))
    }

    /// Stores the file's bytes as the blob `sha256`, unless that blob is
    /// already there. Answers whether it was written.
    pub async fn put_file(&self, sha256: &str, file: &FsPath) -> Result<bool, Error> {
        let location = Self::location(sha256);
        match self.store.head(&location).await {
            Ok(_) => return Ok(false),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_bytes);
        match copy(file, &mut writer).await {
            Ok(()) => {
                writer.finish().await?;
                Ok(true)
            }
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(%abort, "could not abort a blob upload");
                }
                Err(error)
            }
        }
    }

    /// The blob's bytes in `range` (all of them if `None`), as a stream.
    pub async fn read(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, object_store::Result<Bytes>>, Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&Self::location(sha256), options)
            .await?;
        Ok(result.into_stream())
    }
}

/// Feeds the file to the writer, keeping at most one part in flight.
async fn copy(file: &FsPath, writer: &mut WriteMultipart) -> Result<(), Error> {
    let mut file = tokio::fs::File::open(file).await?;
    let mut buf = vec![0u8; READ_BYTES];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(1).await?;
        writer.write(&buf[..n]);
    }
}
