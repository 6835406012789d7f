//! Opening a session's connection: connect with the current access token,
//! and when it is refused, adopt newer tokens saved by someone else or
//! refresh, then try once more. Classifies what went wrong as worth a retry
//! or fatal.

use protocol::ErrorCode;

use super::connection::Connection;
use super::error::{SessionError, WsError};
use super::options::{Credentials, SessionOptions};
use crate::error::ClientError;
use crate::http::Client;

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum Failure {
    /// Worth trying again later (network, server busy or restarting).
    Transient(String),
    /// Trying again cannot help; the session stops.
    Fatal(SessionError),
}

impl From<WsError> for Failure {
    fn from(error: WsError) -> Self {
        if error.is_unauthorized() {
            Self::Fatal(SessionError::Unauthorized(error.to_string()))
        } else if error.is_permanent() {
            Self::Fatal(SessionError::Connect(error.to_string()))
        } else {
            Self::Transient(error.to_string())
        }
    }
}

/// Connects with `credentials`, refreshing them once if the server refuses
/// the access token. `credentials` holds the newest tokens afterwards.
pub async fn connect(
    options: &SessionOptions,
    credentials: &mut Credentials,
) -> Result<Connection, Failure> {
    let attempt = |token: String| async move {
        Connection::connect_with(&options.base, &token, options.connect.clone()).await
    };
    match attempt(credentials.access_token.clone()).await {
        Err(error) if error.is_unauthorized() => {}
        other => return other.map_err(Failure::from),
    }
    if adopt_reloaded(credentials) {
        match attempt(credentials.access_token.clone()).await {
            Err(error) if error.is_unauthorized() => {}
            other => return other.map_err(Failure::from),
        }
    }
    refresh(options, credentials).await?;
    attempt(credentials.access_token.clone())
        .await
        .map_err(Failure::from)
}

/// Takes tokens another holder of the same device saved since ours were
/// issued (refresh tokens are single use: refreshing with an old one would
/// revoke the device). True when something new was adopted.
fn adopt_reloaded(credentials: &mut Credentials) -> bool {
    let Some(reload) = &credentials.reload else {
        return false;
    };
    let Some((access, refresh)) = reload() else {
        return false;
    };
    let newer = credentials.refresh_token.as_deref() != Some(refresh.as_str());
    if newer {
        credentials.access_token = access;
        credentials.refresh_token = Some(refresh);
    }
    newer
}

/// Exchanges the refresh token for a new pair and reports it.
pub async fn refresh(
    options: &SessionOptions,
    credentials: &mut Credentials,
) -> Result<(), Failure> {
    let Some(refresh_token) = credentials.refresh_token.clone() else {
        return Err(Failure::Fatal(SessionError::Unauthorized(
            "access token refused and no refresh token to renew it".into(),
        )));
    };
    let client = Client::with_tls(&options.base, &options.connect.tls)
        .map_err(|e| Failure::Fatal(SessionError::Connect(e.to_string())))?;
    match client.refresh(&refresh_token).await {
        Ok(tokens) => {
            credentials.access_token = tokens.access_token.clone();
            credentials.refresh_token = Some(tokens.refresh_token.clone());
            if let Some(callback) = &credentials.on_refresh {
                callback(&tokens);
            }
            tracing::debug!("access token refreshed");
            Ok(())
        }
        Err(error) => Err(refresh_failure(&error)),
    }
}

fn refresh_failure(error: &ClientError) -> Failure {
    match error.code() {
        Some(ErrorCode::Unauthorized | ErrorCode::BadRequest | ErrorCode::Forbidden) => {
            Failure::Fatal(SessionError::Unauthorized(format!(
                "refresh refused: {error}"
            )))
        }
        _ => Failure::Transient(format!("refresh: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn reloaded_tokens_are_adopted_only_when_newer() {
        let mut credentials = Credentials::token("a1").with_refresh("r1");
        assert!(!adopt_reloaded(&mut credentials));
        credentials.reload = Some(Arc::new(|| Some(("a1".to_owned(), "r1".to_owned()))));
        assert!(!adopt_reloaded(&mut credentials));
        credentials.reload = Some(Arc::new(|| Some(("a2".to_owned(), "r2".to_owned()))));
        assert!(adopt_reloaded(&mut credentials));
        assert_eq!(credentials.access_token, "a2");
        assert_eq!(credentials.refresh_token.as_deref(), Some("r2"));
    }

    #[test]
    fn refused_refreshes_are_fatal_and_outages_are_not() {
        let refused = ClientError::Api {
            status: 401,
            code: ErrorCode::Unauthorized,
            message: "reused".into(),
            retry_after: None,
        };
        assert!(matches!(
            refresh_failure(&refused),
            Failure::Fatal(SessionError::Unauthorized(_))
        ));
        let busy = ClientError::Api {
            status: 503,
            code: ErrorCode::HomeUnreachable,
            message: "later".into(),
            retry_after: None,
        };
        assert!(matches!(refresh_failure(&busy), Failure::Transient(_)));
    }

    #[test]
    fn ws_failures_are_classified() {
        let refused = WsError::Rejected {
            status: Some(401),
            code: Some(ErrorCode::Unauthorized),
            message: "expired".into(),
        };
        assert!(matches!(
            Failure::from(refused),
            Failure::Fatal(SessionError::Unauthorized(_))
        ));
        assert!(matches!(
            Failure::from(WsError::Timeout("ready")),
            Failure::Transient(_)
        ));
    }
}
