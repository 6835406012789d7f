//! Where the access-token signing secret comes from. A region on its own
//! keeps it in its store. In a mesh every region must sign with the same
//! secret, so a token issued in one region is good in all: it lives in the
//! mesh's shared secrets directory as `token.key` (hex), which production
//! operators provide like the region certificates, and which the first
//! region of a dev mesh creates.
//!
//! Regions of a local mesh may start at the same moment, so creation
//! publishes the file with a hard link from a fully written temp file: the
//! link fails if the file exists, exactly one key wins, and nobody ever
//! reads a half-written one.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use store::Database;

use super::Error;
use super::{records, tokens};
use crate::link::Link;

/// The file name of the mesh's token key in its secrets directory.
pub const TOKEN_KEY_FILE: &str = "token.key";

/// Shortest secret accepted from a file, in bytes (HS256 wants 256 bits).
const MIN_SECRET_BYTES: usize = 32;

/// Why the token key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    /// Reading, writing or linking failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file holds no usable key.
    #[error("{path}: expected at least {MIN_SECRET_BYTES} bytes as hex")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
}

/// The secret `db`'s region signs access tokens with: the mesh's shared
/// key when it is in a mesh, else its own.
pub(crate) async fn for_region(db: &Database, mesh: Option<&Link>) -> Result<Vec<u8>, Error> {
    let Some(mesh) = mesh else {
        return from_store(db).await;
    };
    let dir = mesh.config().certs_dir.clone();
    Ok(tokio::task::spawn_blocking(move || load_or_create(&dir)).await??)
}

/// The region's own secret, kept in its store (created on first start).
pub(crate) async fn from_store(db: &Database) -> Result<Vec<u8>, Error> {
    db.run(|tx| async move {
        let key = records::token_secret_key();
        if let Some(secret) = tx.get(&key).await? {
            return Ok::<_, Error>(secret);
        }
        let secret = tokens::new_secret();
        tx.set(&key, &secret);
        Ok(secret)
    })
    .await
}

/// Replaces the signing key `config`'s region uses with a fresh one: in a
/// mesh the shared `token.key` (every region must then restart), else the
/// secret in the region's store (the node must be stopped). Refresh tokens
/// are random and stored hashed, independent of the key, so nobody is
/// logged out: access tokens signed with the old key answer `401`, and
/// clients refresh them.
pub async fn rotate(config: &crate::config::Config) -> Result<(), Error> {
    if let Some(mesh) = &config.mesh {
        let dir = mesh.certs_dir.clone();
        return Ok(tokio::task::spawn_blocking(move || replace_file(&dir)).await??);
    }
    let db = crate::storage::open(config)?;
    rotate_in_store(&db).await?;
    db.close().await?;
    Ok(())
}

/// Replaces the secret kept in a lone region's store.
pub(crate) async fn rotate_in_store(db: &Database) -> Result<(), Error> {
    db.run(|tx| async move {
        tx.set(&records::token_secret_key(), &tokens::new_secret());
        Ok::<_, Error>(())
    })
    .await
}

/// Replaces `<dir>/token.key` with a fresh key, atomically (a temp file
/// renamed over it).
fn replace_file(dir: &Path) -> Result<(), TokenKeyError> {
    let path = dir.join(TOKEN_KEY_FILE);
    let tmp = dir.join(format!("{TOKEN_KEY_FILE}.rotate-{}", std::process::id()));
    let text = format!("{}\n", hex::encode(tokens::new_secret()));
    write_private(&tmp, text.as_bytes())?;
    fs::rename(&tmp, &path).map_err(|source| io_error(&path, source))
}

/// The mesh's secret from `<dir>/token.key`, creating the directory and the
/// key if absent; every racing caller ends up with the same key.
pub fn load_or_create(dir: &Path) -> Result<Vec<u8>, TokenKeyError> {
    let path = dir.join(TOKEN_KEY_FILE);
    if !path.exists() {
        fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
        let text = format!("{}\n", hex::encode(tokens::new_secret()));
        publish(&path, text.as_bytes())?;
    }
    keep_private(&path)?;
    let text = fs::read_to_string(&path).map_err(|source| io_error(&path, source))?;
    match hex::decode(text.trim()) {
        Ok(secret) if secret.len() >= MIN_SECRET_BYTES => Ok(secret),
        _ => Err(TokenKeyError::Malformed { path }),
    }
}

/// Writes `bytes` to a private temp file beside `path` and links it there;
/// an existing `path` (another region won) is left as it is.
fn publish(path: &Path, bytes: &[u8]) -> Result<(), TokenKeyError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_file_name(format!(
        "{TOKEN_KEY_FILE}.tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    write_private(&tmp, bytes)?;
    let linked = fs::hard_link(&tmp, path);
    // The temp name is ours alone; failing to remove it leaves litter, not harm.
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(io_error(path, source)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TokenKeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|source| io_error(path, source))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| io_error(path, source))
}

/// Makes a key file other users could read 0600.
fn keep_private(path: &Path) -> Result<(), TokenKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path)
        .map_err(|source| io_error(path, source))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "token key was readable by other users; made 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|source| io_error(path, source))?;
    }
    Ok(())
}

fn io_error(path: &Path, source: io::Error) -> TokenKeyError {
    TokenKeyError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        let first = load_or_create(&certs).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create(&certs).unwrap(), first);
        let leftovers: Vec<_> = fs::read_dir(&certs).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only token.key remains");
    }

    #[test]
    fn racing_regions_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| load_or_create(dir.path()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn a_key_readable_by_others_is_made_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let path = dir.path().join(TOKEN_KEY_FILE);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_short_or_garbled_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(TOKEN_KEY_FILE), "abcd\n").unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(TokenKeyError::Malformed { .. })
        ));
        fs::write(dir.path().join(TOKEN_KEY_FILE), "not hex at all").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }

    #[tokio::test]
    async fn a_lone_region_keeps_its_secret_in_the_store() {
        let db = Database::in_memory().unwrap();
        let first = from_store(&db).await.unwrap();
        assert_eq!(from_store(&db).await.unwrap(), first);
        rotate_in_store(&db).await.unwrap();
        let second = from_store(&db).await.unwrap();
        assert_ne!(second, first);
        assert_eq!(second.len(), first.len());
    }

    #[test]
    fn a_mesh_key_file_is_replaced_privately() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        replace_file(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_ne!(second, first);
        let path = dir.path().join(TOKEN_KEY_FILE);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
