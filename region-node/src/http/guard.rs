//! What every request and answer passes through: requests whose URI or
//! path segments are over the limits are refused before routing, every
//! answer carries the security headers (nothing is cacheable: answers are
//! per user, and token answers must never be stored), and an error that
//! did not come from [`ApiError`] (axum's own 404, 405, rejected upgrades,
//! bad query strings) is rewritten into the protocol's JSON error body.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_core::rules::MAX_ID_BYTES;
use protocol::{ErrorBody, ErrorCode};

use crate::error::ApiError;
use crate::limits::MAX_URI_BYTES;

/// Longest error text kept when a plain-text error is rewritten.
const MAX_REWRITTEN_MESSAGE: usize = 512;

/// Checks the request's size limits, runs it, and finishes the answer.
pub async fn guard(request: Request, next: Next) -> Response {
    let mut response = match refuse(&request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    };
    if response.status().is_client_error() || response.status().is_server_error() {
        response = as_json(response).await;
    }
    secure(response.headers_mut());
    response
}

/// The answer to a request over the limits, if it is.
fn refuse(request: &Request) -> Option<Response> {
    let uri = request.uri();
    let length = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if length > MAX_URI_BYTES {
        let mut response = ApiError::new(
            ErrorCode::TooLarge,
            format!("request URI is over {MAX_URI_BYTES} bytes"),
        )
        .into_response();
        *response.status_mut() = StatusCode::URI_TOO_LONG;
        return Some(response);
    }
    // Every path segment that is not a fixed word is an id.
    let long = uri.path().split('/').find(|segment| {
        let escapes = segment.bytes().filter(|b| *b == b'%').count();
        segment.len().saturating_sub(2 * escapes) > MAX_ID_BYTES
    });
    long.map(|_| {
        ApiError::bad_request(format!("ids in the path are at most {MAX_ID_BYTES} bytes"))
            .into_response()
    })
}

/// Headers every answer carries.
fn secure(headers: &mut axum::http::HeaderMap) {
    let set = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An error answer with the protocol's JSON body, keeping its status and
/// headers; a body that already is JSON is kept as it is.
async fn as_json(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REWRITTEN_MESSAGE * 4)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        text.chars().take(MAX_REWRITTEN_MESSAGE).collect()
    };
    let body = ErrorBody::new(code_for(parts.status), message);
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// The protocol code closest to an HTTP status.
fn code_for(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::CONFLICT => ErrorCode::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::URI_TOO_LONG
        | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::TooLarge,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMedia,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::HomeUnreachable,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    }
}
