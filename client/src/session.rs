//! A saved login: the tokens the CLI keeps between runs, in
//! `$XDG_CONFIG_HOME/chatmesh/session.json` (or the platform's config dir).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::http::Client;
use crate::tls::{Tls, TlsError};
use crate::ws::Credentials;

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
    /// A CA file trusted for this server besides the system's roots (given
    /// at login with `--ca-cert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
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
    /// The saved CA file cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
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

    /// The certificates trusted for this session's server.
    pub fn tls(&self) -> Result<Tls, TlsError> {
        match &self.ca_cert {
            Some(path) => Tls::with_ca_file(path),
            None => Ok(Tls::system()),
        }
    }

    /// An authenticated client for this session's server.
    pub fn client(&self) -> Result<Client, SessionError> {
        Ok(Client::with_tls(&self.server, &self.tls()?)?.with_token(&self.access_token))
    }

    /// Credentials for a WebSocket session of this login that keep the file
    /// in `dir` current: refreshed tokens are saved there, and tokens that
    /// another command saved meanwhile are picked up before refreshing (a
    /// refresh token works once; reusing one revokes the device).
    pub fn ws_credentials(&self, dir: &Path) -> Credentials {
        let (save_dir, load_dir) = (dir.to_owned(), dir.to_owned());
        let template = self.clone();
        let device_id = self.device_id.clone();
        Credentials::token(&self.access_token)
            .with_refresh(&self.refresh_token)
            .on_refresh(move |tokens| {
                let session = Session {
                    access_token: tokens.access_token.clone(),
                    refresh_token: tokens.refresh_token.clone(),
                    ..template.clone()
                };
                if let Err(error) = session.save(&save_dir) {
                    tracing::warn!(%error, "could not save refreshed tokens");
                }
            })
            .reload(move || {
                Session::load(&load_dir)
                    .ok()
                    .filter(|s| s.device_id == device_id)
                    .map(|s| (s.access_token, s.refresh_token))
            })
    }

    /// Rotates the tokens with the refresh token and saves the result in `dir`.
    pub async fn refresh(&mut self, dir: &Path) -> Result<(), SessionError> {
        let tokens = Client::with_tls(&self.server, &self.tls()?)?
            .refresh(&self.refresh_token)
            .await?;
        self.access_token = tokens.access_token;
        self.refresh_token = tokens.refresh_token;
        self.save(dir)
    }
}
