//! A saved login: the tokens the CLI keeps between runs, in
//! `$XDG_CONFIG_HOME/chatmesh/session.json` (or the platform's config dir).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::http::Client;

/// A device's tokens and the server they belong to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Base URL of the server.
    pub server: String,
    /// The account.
    pub user_id: String,
    /// The device.
    pub device_id: String,
    /// Current access token.
    pub access_token: String,
    /// Current refresh token.
    pub refresh_token: String,
}

/// Why a session could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No saved session: log in first.
    #[error("not logged in (no session at {0}); run `chatmesh login` first")]
    Missing(PathBuf),
    /// Reading or writing the file failed.
    #[error("session file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a session.
    #[error("session file {path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// Refreshing the tokens failed.
    #[error("refresh the session: {0}")]
    Refresh(#[from] ClientError),
}

/// The default directory for the CLI's files.
pub fn default_dir() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("chatmesh")
}

impl Session {
    /// The session file inside `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("session.json")
    }

    /// Loads the session saved in `dir`.
    pub fn load(dir: &Path) -> Result<Self, SessionError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SessionError::Missing(path));
            }
            Err(source) => return Err(SessionError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| SessionError::Corrupt { path, source })
    }

    /// Saves the session in `dir`, readable by its owner only.
    pub fn save(&self, dir: &Path) -> Result<(), SessionError> {
        let path = Self::path(dir);
        let io = |source| SessionError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let text = serde_json::to_string_pretty(self).map_err(|source| SessionError::Corrupt {
            path: path.clone(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// An authenticated client for this session's server.
    pub fn client(&self) -> Result<Client, ClientError> {
        Ok(Client::new(&self.server)?.with_token(&self.access_token))
    }

    /// Rotates the tokens with the refresh token and saves the result in `dir`.
    pub async fn refresh(&mut self, dir: &Path) -> Result<(), SessionError> {
        let tokens = Client::new(&self.server)?
            .refresh(&self.refresh_token)
            .await?;
        self.access_token = tokens.access_token;
        self.refresh_token = tokens.refresh_token;
        self.save(dir)
    }
}
