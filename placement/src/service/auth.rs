//! The operator token that guards every request that changes state.

use std::sync::Arc;

use axum::http::{HeaderMap, header};

use super::error::ApiError;

/// The admin token, when one is configured. Without one the service is open,
/// which suits a developer's loopback mesh and nothing else.
#[derive(Clone, Default)]
pub struct AdminToken(Option<Arc<str>>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never log the token itself.
        let shown = if self.0.is_some() {
            "AdminToken(set)"
        } else {
            "AdminToken(none)"
        };
        f.write_str(shown)
    }
}

impl AdminToken {
    /// Requires `token` (when `Some`) on every state-changing request. An
    /// empty token matches nothing, so it locks those requests out.
    pub fn new(token: Option<String>) -> Self {
        Self(token.map(Arc::from))
    }

    /// Whether a token is configured.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Checks the request's `Authorization: Bearer <token>` header.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.0 else {
            return Ok(());
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized("an admin bearer token is required"))?;
        if !presented.is_empty() && constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::unauthorized("wrong admin token"))
        }
    }
}

/// Compares without stopping at the first difference, so response timing
/// does not reveal how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    #[test]
    fn without_a_token_everything_passes() {
        let token = AdminToken::new(None);
        assert!(!token.is_set());
        assert!(token.check(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn the_right_token_passes_and_others_do_not() {
        let token = AdminToken::new(Some("s3cret".into()));
        assert!(token.check(&bearer("s3cret")).is_ok());
        assert!(token.check(&bearer("s3cre")).is_err());
        assert!(token.check(&bearer("s3cret2")).is_err());
        assert!(token.check(&HeaderMap::new()).is_err());
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(token.check(&basic).is_err());
    }

    #[test]
    fn an_empty_token_matches_nothing() {
        let token = AdminToken::new(Some(String::new()));
        assert!(token.check(&bearer("")).is_err());
        assert!(token.check(&HeaderMap::new()).is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let token = AdminToken::new(Some("s3cret".into()));
        assert_eq!(format!("{token:?}"), "AdminToken(set)");
    }
}
