//! Password hashing with Argon2id, off the async runtime.
//!
//! Hashing is deliberately expensive, so it runs on the blocking pool behind
//! a semaphore sized to the machine's cores: a burst of logins queues instead
//! of starving the reactor or exhausting memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::Error;

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the username does
    /// not exist so both paths cost the same.
    decoy: Arc<String>,
}

impl PasswordHasher {
    /// A hasher with this memory cost (KiB) and iteration count.
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, Error> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| Error::Hashing(format!("argon2 params: {e}")))?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let decoy = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"decoy password never matches", &salt)
            .map_err(|e| Error::Hashing(format!("argon2 hash: {e}")))?
            .to_string();
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            decoy: Arc::new(decoy),
        })
    }

    /// The PHC string of a fresh salted Argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        let params = self.params.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::Hashing(format!("argon2 hash: {e}")))
        })
        .await
    }

    /// Whether `password` matches the PHC string `hash`; with `None`, spends
    /// the same effort on the decoy and answers false.
    pub async fn verify(&self, hash: Option<String>, password: String) -> Result<bool, Error> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.as_ref().clone());
        let matched = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash)
                    .map_err(|e| Error::Hashing(format!("stored hash: {e}")))?;
                // Parameters come from the stored hash, so old hashes keep verifying
                // after the configured cost changes.
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matched)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(work).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let hasher = PasswordHasher::new(64, 1).unwrap();
        let a = hasher.hash("correct horse".into()).await.unwrap();
        let b = hasher.hash("correct horse".into()).await.unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify(Some(a.clone()), "correct horse".into())
                .await
                .unwrap()
        );
        assert!(!hasher.verify(Some(a), "wrong horse".into()).await.unwrap());
        assert!(
            !hasher
                .verify(None, "decoy password never matches".into())
                .await
                .unwrap()
        );
    }
}
