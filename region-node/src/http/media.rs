//! `POST /v1/media` and `GET /v1/media/{media_id}`: uploads streamed to
//! the blob store, downloads streamed from it with single `Range`
//! requests.
//!
//! This route is exempt from the node's JSON body limit; the media domain
//! counts the bytes itself and refuses past 100 MiB.

use std::ops::Range;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::ErrorCode;
use protocol::media::{MAX_MEDIA_BYTES, MediaInfo, UploadQuery};

use super::extract::{ApiQuery, Auth};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/media?filename=`: the raw body is the file.
#[utoipa::path(
    post,
    path = "/v1/media",
    tag = "media",
    params(("filename" = String, Query, description = "the file's name, 1-255 bytes without `/`, `\\` or control characters")),
    request_body(
        content = Vec<u8>,
        content_type = "application/octet-stream",
        description = "the file's bytes, 1 byte to 100 MiB; Content-Type as the file's type (checked against the bytes)",
    ),
    responses(
        (status = 201, description = "stored", body = MediaInfo),
        (status = 400, description = "bad_request: no filename, a malformed Content-Type, or an empty body", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large: over 100 MiB", body = protocol::ErrorBody),
        (status = 415, description = "unsupported_media: the bytes are not of the declared type", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
        (status = 503, description = "internal: storage unavailable", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn upload(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<MediaInfo>), ApiError> {
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > MAX_MEDIA_BYTES) {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!("the upload is over {MAX_MEDIA_BYTES} bytes"),
        ));
    }
    let declared_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request("Content-Type is not ASCII"))
        })
        .transpose()?;
    let info = state
        .media
        .upload(
            &who.user_id,
            &query.filename,
            declared_type,
            body.into_data_stream(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// `GET /v1/media/{media_id}`: the bytes, whole or one range.
#[utoipa::path(
    get,
    path = "/v1/media/{media_id}",
    tag = "media",
    params(
        ("media_id" = String, Path),
        ("Range" = Option<String>, Header, description = "one range: `bytes=a-b`, `bytes=a-` or `bytes=-n`; several ranges are answered with the whole media"),
    ),
    responses(
        (status = 200, description = "the whole media, with its Content-Type", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 206, description = "the requested range, with Content-Range", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "bad_request: malformed id", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found: no such media, or not the caller's", body = protocol::ErrorBody),
        (status = 416, description = "bad_request: the range starts past the end; Content-Range: bytes */size", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn download(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(media_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let info = state.media.info(&who.user_id, &media_id).await?;
    let range = match headers.get(header::RANGE).map(|v| byte_range(v, info.size)) {
        None | Some(Wanted::Whole) => None,
        Some(Wanted::Part(range)) => Some(range),
        Some(Wanted::Unsatisfiable) => return Ok(unsatisfiable(info.size)),
    };
    let stream = state.media.read(&info, range.clone()).await?;
    let length = range.as_ref().map_or(info.size, |r| r.end - r.start);
    let mut response = Response::new(Body::from_stream(stream));
    let out = response.headers_mut();
    let content_type = HeaderValue::from_str(&info.content_type)
        .unwrap_or(HeaderValue::from_static(crate::media::sniff::OCTET_STREAM));
    out.insert(header::CONTENT_TYPE, content_type);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(range) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!("bytes {}-{}/{}", range.start, range.end - 1, info.size);
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// What a `Range` header asks of a media of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// Not one range we serve (malformed, several ranges, another unit):
    /// the whole media, as RFC 9110 lets a server answer.
    Whole,
    /// This half-open byte range.
    Part(Range<u64>),
    /// A range that starts past the end (or an empty suffix): 416.
    Unsatisfiable,
}

/// Reads a `Range` header value as RFC 9110 §14.1.2 defines it.
fn byte_range(value: &HeaderValue, size: u64) -> Wanted {
    let Some(spec) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first, last) {
        ("", suffix) => match number(suffix) {
            None => Wanted::Whole,
            Some(0) => Wanted::Unsatisfiable,
            Some(n) => Wanted::Part(size.saturating_sub(n)..size),
        },
        (first, last) => {
            let Some(start) = number(first) else {
                return Wanted::Whole;
            };
            let end = match last {
                "" => size,
                last => match number(last) {
                    Some(last) if last >= start => last.saturating_add(1).min(size),
                    _ => return Wanted::Whole,
                },
            };
            if start >= size {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(start..end)
            }
        }
    }
}

/// 416 with `Content-Range: bytes */size`.
fn unsatisfiable(size: u64) -> Response {
    let mut response =
        ApiError::bad_request(format!("the range starts past the end of {size} bytes"))
            .into_response();
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(value: &str, size: u64) -> Wanted {
        byte_range(&HeaderValue::from_str(value).unwrap(), size)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(wanted("bytes=0-9", 100), Wanted::Part(0..10));
        assert_eq!(wanted("bytes=10-", 100), Wanted::Part(10..100));
        assert_eq!(wanted("bytes=-10", 100), Wanted::Part(90..100));
        assert_eq!(wanted("bytes=-1000", 100), Wanted::Part(0..100));
        assert_eq!(wanted("bytes=90-1000", 100), Wanted::Part(90..100));
        assert_eq!(wanted("bytes=99-99", 100), Wanted::Part(99..100));
    }

    #[test]
    fn past_the_end_is_unsatisfiable() {
        assert_eq!(wanted("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(wanted("bytes=100-200", 100), Wanted::Unsatisfiable);
        assert_eq!(wanted("bytes=-0", 100), Wanted::Unsatisfiable);
    }

    #[test]
    fn other_forms_get_the_whole() {
        for value in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-2",
            "bytes=a-b",
            "bytes=-",
            "bytes=+1-2",
            "bytes 0-1",
        ] {
            assert_eq!(wanted(value, 100), Wanted::Whole, "{value}");
        }
    }
}
