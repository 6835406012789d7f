//! [`WsError`]: why a WebSocket connection could not be opened or used, and
//! [`SessionError`]: why a resuming [`Session`](super::Session) call failed.

use protocol::ErrorCode;

use crate::error::ClientError;

/// A failure of one WebSocket connection.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The server URL is unusable.
    #[error("invalid server URL: {0}")]
    Url(String),
    /// The server refused the connection: an HTTP error to the upgrade, or an
    /// `error` frame instead of `ready`.
    #[error("connection refused{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Rejected {
        /// HTTP status of the refused upgrade, if it was refused over HTTP.
        status: Option<u16>,
        /// Protocol error code, when the server sent one.
        code: Option<ErrorCode>,
        /// The server's explanation.
        message: String,
    },
    /// The server closed the connection.
    #[error("closed by the server ({}): {reason}", code.map(|c| c.to_string()).unwrap_or_else(|| "no code".into()))]
    Closed {
        /// WebSocket close code (e.g. 1009 too big, 4008 slow consumer).
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// The first frame was not `ready`.
    #[error("expected a ready frame first, got {0}")]
    NoReady(String),
    /// No answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// A frame to send is over the protocol's frame limit.
    #[error("frame of {0} bytes is over the 1 MiB limit")]
    TooLarge(usize),
    /// A frame could not be encoded.
    #[error("encode frame: {0}")]
    Encode(#[from] serde_json::Error),
    /// The socket failed.
    #[error("websocket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
}

impl WsError {
    /// True when the credentials were refused (HTTP 401 or `unauthorized`):
    /// refreshing the access token may help, retrying as is will not.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: Some(401),
                ..
            } | Self::Rejected {
                code: Some(ErrorCode::Unauthorized),
                ..
            }
        )
    }

    /// True when retrying the same connection later cannot succeed: the
    /// server refused it for a reason other than credentials, load or
    /// availability.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Url(_) => true,
            Self::Rejected { status, code, .. } => {
                let status_says =
                    status.is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429);
                let code_says = matches!(
                    code,
                    Some(ErrorCode::BadRequest | ErrorCode::Forbidden | ErrorCode::NotFound)
                );
                (status_says || code_says) && !self.is_unauthorized()
            }
            _ => false,
        }
    }
}

/// A failure of a [`Session`](super::Session) call or of the whole session.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// The server answered the request with an `error` frame.
    #[error("{code}: {message}")]
    Api {
        /// Protocol error code.
        code: ErrorCode,
        /// The server's message.
        message: String,
    },
    /// The credentials were refused and could not be refreshed; the session
    /// has stopped.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The first connection could not be opened, or a later one was refused
    /// for good; the session has stopped.
    #[error("connect: {0}")]
    Connect(String),
    /// The frame could not be sent because no connection is open right now.
    #[error("not connected")]
    Disconnected,
    /// The frame is not valid to send (too large, not encodable).
    #[error("invalid frame: {0}")]
    Invalid(String),
    /// The session has stopped.
    #[error("session closed")]
    Closed,
}

impl SessionError {
    /// The protocol error code, if the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::Unauthorized(_) => Some(ErrorCode::Unauthorized),
            _ => None,
        }
    }
}

impl From<&ClientError> for SessionError {
    fn from(error: &ClientError) -> Self {
        match error.code() {
            Some(ErrorCode::Unauthorized) => Self::Unauthorized(error.to_string()),
            _ => Self::Connect(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: Option<u16>, code: Option<ErrorCode>) -> WsError {
        WsError::Rejected {
            status,
            code,
            message: String::new(),
        }
    }

    #[test]
    fn unauthorized_is_recognised_by_status_or_code() {
        assert!(rejected(Some(401), None).is_unauthorized());
        assert!(rejected(None, Some(ErrorCode::Unauthorized)).is_unauthorized());
        assert!(!rejected(Some(403), Some(ErrorCode::Forbidden)).is_unauthorized());
        assert!(!rejected(Some(401), None).is_permanent());
    }

    #[test]
    fn overload_and_outages_are_worth_retrying() {
        assert!(rejected(Some(400), None).is_permanent());
        assert!(!rejected(Some(429), Some(ErrorCode::RateLimited)).is_permanent());
        assert!(!rejected(Some(503), None).is_permanent());
        assert!(!WsError::Timeout("ready").is_permanent());
        assert!(
            !WsError::Closed {
                code: Some(4008),
                reason: "slow consumer".into()
            }
            .is_permanent()
        );
    }
}
