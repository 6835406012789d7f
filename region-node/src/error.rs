//! [`ApiError`]: the one error type the HTTP and WebSocket edges answer
//! with. It maps to an HTTP response with the protocol's error body, or to
//! a WebSocket `error` frame. Domain errors (the chat domain's
//! [`chat::Error`](crate::chat::Error), the accounts domain's
//! [`accounts::Error`](crate::accounts::Error), the link's
//! [`LinkError`](crate::link::LinkError)) become an `ApiError` here, at the
//! edge. Internal details are logged here, never sent to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::{ErrorBody, ErrorCode};

/// A failed request, as the client will see it.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The protocol error code.
    pub code: ErrorCode,
    /// A message safe to show the client.
    pub message: String,
    /// Seconds to wait before retrying, for `rate_limited` and for an
    /// unavailable store.
    pub retry_after: Option<u64>,
    /// The store failure behind an `internal` error, kept so the store's
    /// retry loop can see retryable conflicts; logged when answered.
    store: Option<store::StoreError>,
}

impl ApiError {
    /// An error with this code and client-facing message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            store: None,
        }
    }

    /// `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// `rate_limited`, retry after `secs`.
    pub fn rate_limited(secs: u64) -> Self {
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(ErrorCode::RateLimited, "too many requests; slow down")
        }
    }

    /// `internal`; the cause is logged here and not sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal server error")
    }

    /// Whether the store refused because the disk is full or failing.
    pub fn is_storage_unavailable(&self) -> bool {
        matches!(self.store, Some(store::StoreError::Unavailable(_)))
    }

    /// The HTTP status for this error's code; 503 for `internal` when the
    /// store is unavailable, since retrying later may well succeed.
    pub fn status(&self) -> StatusCode {
        if self.is_storage_unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self.code {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::NotMember | ErrorCode::Blocked => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::HomeUnreachable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a client reads when the store cannot write: the disk is full or
/// failing. The protocol has no code of its own for this, so the code is
/// `internal` and the status 503 with `Retry-After`.
pub const STORAGE_UNAVAILABLE: &str =
    "storage unavailable: the server cannot write to its disk; nothing was saved, retry later";

/// Seconds a client should wait before retrying while storage is unavailable.
const STORAGE_RETRY_AFTER: u64 = 1;

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> Self {
        if let store::StoreError::Unavailable(_) = error {
            return Self {
                retry_after: Some(STORAGE_RETRY_AFTER),
                store: Some(error),
                ..Self::new(ErrorCode::Internal, STORAGE_UNAVAILABLE)
            };
        }
        Self {
            store: Some(error),
            ..Self::new(ErrorCode::Internal, "internal server error")
        }
    }
}

impl From<crate::chat::Error> for ApiError {
    fn from(error: crate::chat::Error) -> Self {
        use crate::chat::Error;
        match error {
            Error::Refused(chat_core::ChatError::Storage(cause)) => Self::internal(&cause),
            Error::Refused(refusal) => Self::new(refusal.code(), refusal.to_string()),
            Error::Link(link) => link.into(),
            Error::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<crate::accounts::Error> for ApiError {
    fn from(error: crate::accounts::Error) -> Self {
        use crate::accounts::Error;
        match error {
            Error::Invalid(message) => Self::bad_request(message),
            Error::Unauthorized(message) => Self::unauthorized(message),
            Error::Forbidden(message) => Self::new(ErrorCode::Forbidden, message),
            Error::NotFound(message) => Self::not_found(message),
            Error::Conflict(message) => Self::conflict(message),
            Error::RateLimited { retry_after } => Self::rate_limited(retry_after),
            Error::Refused { code, message } => Self::new(code, message),
            Error::Link(link) => link.into(),
            Error::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<crate::media::Error> for ApiError {
    fn from(error: crate::media::Error) -> Self {
        use crate::media::Error;
        match error {
            Error::TooLarge { .. } => Self::new(ErrorCode::TooLarge, error.to_string()),
            Error::Empty | Error::Invalid(_) => Self::bad_request(error.to_string()),
            Error::TypeMismatch { .. } => Self::new(ErrorCode::UnsupportedMedia, error.to_string()),
            Error::NotFound => Self::not_found(error.to_string()),
            Error::Body(cause) => {
                tracing::info!(%cause, "upload abandoned");
                Self::bad_request("the upload's body could not be read")
            }
            Error::Store(store) => store.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<crate::presence_rule::Error> for ApiError {
    fn from(e: crate::presence_rule::Error) -> Self {
        match e {
            crate::presence_rule::Error::Chat(e) => e.into(),
            crate::presence_rule::Error::Accounts(e) => e.into(),
        }
    }
}

impl From<chat_core::ChatError> for ApiError {
    fn from(error: chat_core::ChatError) -> Self {
        crate::chat::Error::from(error).into()
    }
}

impl From<crate::link::LinkError> for ApiError {
    fn from(error: crate::link::LinkError) -> Self {
        match error {
            crate::link::LinkError::Unreachable { .. } => {
                Self::new(ErrorCode::HomeUnreachable, error.to_string())
            }
            crate::link::LinkError::Garbled { .. } => Self::internal(&error),
        }
    }
}

impl store::AsStoreError for ApiError {
    fn as_store_error(&self) -> Option<&store::StoreError> {
        self.store.as_ref()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.store {
            // The store logged the failure itself, once, when it happened.
            Some(error @ store::StoreError::Unavailable(_)) => {
                tracing::warn!(%error, "refused: storage unavailable");
            }
            Some(error) => tracing::error!(%error, "store failed"),
            None => {}
        }
        let status = self.status();
        let retry_after = self.retry_after;
        let mut response =
            (status, axum::Json(ErrorBody::new(self.code, self.message))).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
