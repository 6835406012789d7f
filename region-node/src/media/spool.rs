//! Spooling an upload to a temporary file while it arrives: the bytes are
//! counted against the limit and hashed with SHA-256 on the way, and the
//! first few KiB are kept for sniffing the content type. The file is
//! removed when the [`Spooled`] is dropped, so a refused or interrupted
//! upload leaves nothing behind.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::Error;

/// Bytes kept from the start of an upload for content-type sniffing: enough
/// for `infer` to look past the first entries of an OOXML zip.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Bytes of a refused over-limit body still read (and dropped) before
/// answering, so the client is more likely to read the answer than a reset.
const DRAIN_BYTES: u64 = 1024 * 1024;

/// A complete upload in a temporary file, removed on drop.
#[derive(Debug)]
pub struct Spooled {
    path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// The first bytes, up to [`SNIFF_BYTES`].
    pub head: Vec<u8>,
}

impl Spooled {
    /// The temporary file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        remove(&self.path);
    }
}

/// Removes a spool file; a file already gone is fine.
fn remove(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "could not remove a spool file");
    }
}

/// Removes the file unless disarmed: covers every early return and a
/// handler future dropped half-way (the client went away).
struct Guard(Option<PathBuf>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            remove(&path);
        }
    }
}

/// Writes `body` to a new file in `dir`, refusing it past `limit` bytes.
pub async fn spool<S, E>(dir: &Path, body: S, limit: u64) -> Result<Spooled, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let path = dir.join(format!("{}.part", uuid::Uuid::now_v7().simple()));
    let mut guard = Guard(Some(path.clone()));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await?;
    let mut body = body;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::Body(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            drain(&mut body).await;
            return Err(Error::TooLarge { limit });
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    drop(file);
    if size == 0 {
        return Err(Error::Empty);
    }
    guard.0 = None;
    Ok(Spooled {
        path,
        size,
        sha256: hex::encode(hasher.finalize()),
        head,
    })
}

/// Reads and drops what is left of a refused body, up to [`DRAIN_BYTES`].
async fn drain<S, E>(body: &mut S)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut drained = 0u64;
    while drained < DRAIN_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => drained += chunk.len() as u64,
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures::stream::iter(
            chunks
                .iter()
                .map(|c| Ok(Bytes::from_static(c)))
                .collect::<Vec<_>>(),
        )
    }

    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[tokio::test]
    async fn hashes_counts_and_removes_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let spooled = spool(dir.path(), body(&[b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(spooled.size, 11);
        assert_eq!(spooled.head, b"hello world");
        assert_eq!(
            spooled.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(std::fs::read(spooled.path()).unwrap(), b"hello world");
        drop(spooled);
        assert_eq!(files(dir.path()), 0);
    }

    #[tokio::test]
    async fn over_the_limit_and_empty_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let over = spool(dir.path(), body(&[b"12345", b"6"]), 5).await;
        assert!(matches!(over, Err(Error::TooLarge { limit: 5 })));
        let empty = spool(dir.path(), body(&[]), 5).await;
        assert!(matches!(empty, Err(Error::Empty)));
        assert_eq!(files(dir.path()), 0);
    }

    #[tokio::test]
    async fn a_failing_body_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let broken = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("connection reset".to_owned()),
        ]);
        let result = spool(dir.path(), broken, 100).await;
        assert!(matches!(result, Err(Error::Body(_))));
        assert_eq!(files(dir.path()), 0);
    }
}
