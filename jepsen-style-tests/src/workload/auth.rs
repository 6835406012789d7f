//! A device's tokens, shared by its HTTP operations and its WebSocket
//! observer. Access tokens expire (15 minutes by default), so a long run
//! refreshes them; a refresh token works once and reusing one revokes the
//! device, so two callers that both meet a 401 must not both refresh.

use std::sync::RwLock;

use client::{Client, ClientError};
use protocol::auth::TokenResponse;

/// The current tokens of one device.
pub struct DeviceAuth {
    tokens: RwLock<(String, String)>,
    /// Held while refreshing, across the request: the second caller waits
    /// and then sees the tokens the first one obtained.
    refreshing: tokio::sync::Mutex<()>,
}

impl DeviceAuth {
    /// Tokens from a login.
    pub fn new(tokens: &TokenResponse) -> Self {
        Self {
            tokens: RwLock::new((tokens.access_token.clone(), tokens.refresh_token.clone())),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The access token in force.
    pub fn access(&self) -> String {
        self.tokens
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    /// Rotates the tokens at `issuer` (the region that issued them), unless
    /// they changed since `stale` was read.
    pub async fn refresh(&self, issuer: &Client, stale: &str) -> Result<(), ClientError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let refresh = {
            let tokens = self
                .tokens
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if tokens.0 != stale {
                return Ok(());
            }
            tokens.1.clone()
        };
        let fresh = issuer.refresh(&refresh).await?;
        *self
            .tokens
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            (fresh.access_token, fresh.refresh_token);
        Ok(())
    }
}
