//! Between user ids and usernames: resolving what the user typed to an id,
//! and showing senders by username.

use std::collections::HashMap;
use std::path::PathBuf;

use client::session::Session;
use client::{Client, ClientError};
use protocol::ErrorCode;

/// The user id for `who`: a username if one exists, else taken as a user id
/// (ids are opaque, so both are accepted).
pub async fn resolve_user(client: &Client, who: &str) -> Result<String, ClientError> {
    match client.user_by_username(who).await {
        Ok(profile) => Ok(profile.user_id),
        Err(e) if matches!(e.code(), Some(ErrorCode::NotFound | ErrorCode::BadRequest)) => {
            Ok(who.to_owned())
        }
        Err(e) => Err(e),
    }
}

/// Usernames by user id, looked up once each with the newest saved tokens.
pub struct Names {
    dir: PathBuf,
    known: HashMap<String, String>,
}

impl Names {
    /// An empty cache using the session saved in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            known: HashMap::new(),
        }
    }

    /// The username of `user_id`, or the id itself when it cannot be found.
    pub async fn name(&mut self, user_id: &str) -> String {
        if let Some(name) = self.known.get(user_id) {
            return name.clone();
        }
        let name = match self.lookup(user_id).await {
            Some(name) => name,
            None => user_id.to_owned(),
        };
        self.known.insert(user_id.to_owned(), name.clone());
        name
    }

    async fn lookup(&self, user_id: &str) -> Option<String> {
        let client = Session::load(&self.dir).ok()?.client().ok()?;
        client.user(user_id).await.ok().map(|p| p.username)
    }
}
