//! `PUT /v1/test/clock-skew {"skew_ms": N}`: runs this node's physical
//! clock N milliseconds ahead (negative: behind) from now on, so a
//! consistency test can skew a live region. Served only with
//! `--test-admin`; without it the path does not exist (404).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use serde::Deserialize;

use super::extract::ApiJson;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest skew accepted, either way: an hour.
const MAX_SKEW_MS: i64 = 3_600_000;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkewRequest {
    /// Milliseconds ahead (negative: behind) of the system clock.
    pub skew_ms: i64,
}

/// The test admin routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/test/clock-skew", put(set_skew))
}

async fn set_skew(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SkewRequest>,
) -> Result<StatusCode, ApiError> {
    if request.skew_ms.abs() > MAX_SKEW_MS {
        return Err(ApiError::bad_request(
            "skew_ms is beyond an hour either way",
        ));
    }
    state.hlc.set_skew_ms(request.skew_ms);
    tracing::warn!(skew_ms = request.skew_ms, "test admin skewed the clock");
    Ok(StatusCode::NO_CONTENT)
}
