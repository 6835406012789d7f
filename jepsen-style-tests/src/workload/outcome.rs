//! How a failed request ends in the history: `fail` when the mesh
//! certainly did not carry it out, `info` when it may have.
//!
//! Every protocol refusal (a 4xx, and `home_unreachable`, which the
//! protocol promises changes nothing) is `fail` with the error code. Server
//! failures (5xx), unreadable answers, transport errors and timeouts are
//! `info`: the request may have been committed before the answer was lost.

use client::ClientError;
use protocol::ErrorCode;

/// A failed operation's completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It certainly did not happen; the error code or status.
    Fail(String),
    /// It may have happened; why we cannot tell.
    Info(String),
}

impl Failure {
    /// The per-operation timeout expired.
    pub fn timeout() -> Self {
        Self::Info("timeout".to_owned())
    }

    /// The text for the history's `error` field.
    pub fn reason(&self) -> &str {
        match self {
            Self::Fail(reason) | Self::Info(reason) => reason,
        }
    }
}

/// Classifies an SDK error.
pub fn classify(error: &ClientError) -> Failure {
    match error {
        ClientError::Api { status, code, .. } => {
            if *status < 500 || *code == ErrorCode::HomeUnreachable {
                Failure::Fail(code.as_str().to_owned())
            } else {
                Failure::Info(code.as_str().to_owned())
            }
        }
        ClientError::Unexpected { status, .. } if *status < 500 => {
            Failure::Fail(format!("http_{status}"))
        }
        ClientError::Unexpected { status, .. } => Failure::Info(format!("http_{status}")),
        ClientError::Transport(e) if e.is_timeout() => Failure::timeout(),
        // Short categories: the URL and chain of causes repeat the op's own
        // fields and make errors impossible to group.
        ClientError::Transport(e) if e.is_connect() => Failure::Info("connect".to_owned()),
        ClientError::Transport(e) if e.is_body() || e.is_decode() => {
            Failure::Info("answer_lost".to_owned())
        }
        ClientError::Transport(_) => Failure::Info("transport".to_owned()),
        ClientError::Url(reason) => Failure::Fail(format!("url: {reason}")),
    }
}

/// Whether the error says the access token is no longer accepted.
pub fn is_unauthorized(error: &ClientError) -> bool {
    error.code() == Some(ErrorCode::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: ErrorCode) -> ClientError {
        ClientError::Api {
            status,
            code,
            message: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn refusals_fail_and_server_trouble_is_unknown() {
        assert_eq!(
            classify(&api(403, ErrorCode::NotMember)),
            Failure::Fail("not_member".to_owned())
        );
        assert_eq!(
            classify(&api(503, ErrorCode::HomeUnreachable)),
            Failure::Fail("home_unreachable".to_owned())
        );
        assert_eq!(
            classify(&api(429, ErrorCode::RateLimited)),
            Failure::Fail("rate_limited".to_owned())
        );
        assert_eq!(
            classify(&api(500, ErrorCode::Internal)),
            Failure::Info("internal".to_owned())
        );
        let bad_gateway = ClientError::Unexpected {
            status: 502,
            body: String::new(),
        };
        assert_eq!(classify(&bad_gateway), Failure::Info("http_502".to_owned()));
        let teapot = ClientError::Unexpected {
            status: 418,
            body: String::new(),
        };
        assert_eq!(classify(&teapot), Failure::Fail("http_418".to_owned()));
        assert!(is_unauthorized(&api(401, ErrorCode::Unauthorized)));
        assert!(!is_unauthorized(&api(403, ErrorCode::Forbidden)));
    }
}
