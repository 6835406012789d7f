//! `/v1/auth/*` and `/v1/devices`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use protocol::auth::{
    DevicesResponse, LoginRequest, RefreshRequest, RegisterRequest, RegisterResponse, TokenResponse,
};

use super::extract::{ApiJson, Auth};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/auth/register` → 201 `{user_id}`.
#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "the account", body = RegisterResponse),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 409, description = "conflict", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let user_id = state.accounts.register(request).await?;
    Ok((StatusCode::CREATED, Json(RegisterResponse { user_id })))
}

/// `POST /v1/auth/login` → tokens for a new device.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "a new device and its tokens", body = TokenResponse),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    Ok(Json(state.accounts.login(request, peer.ip()).await?))
}

/// `POST /v1/auth/refresh` → rotated tokens.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "rotated tokens", body = TokenResponse),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 409, description = "conflict: the token was issued by another region, which cannot be reached to rotate it", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let refreshed = state.accounts.refresh(&request.refresh_token).await;
    // A token another region of the mesh issued is rotated there.
    let origin = crate::accounts::tokens::refresh_token_region(&request.refresh_token);
    match (refreshed, origin, &state.mesh) {
        (Err(error), Some(origin), Some(mesh))
            if error.code() == protocol::ErrorCode::Conflict
                && mesh.config().topology.region(origin).is_some() =>
        {
            let ask = protocol::peer::PeerRequest::Refresh {
                refresh_token: request.refresh_token.clone(),
            };
            match mesh.request(origin, &ask, REFRESH_WAIT).await? {
                protocol::peer::PeerReply::Tokens { tokens } => Ok(Json(tokens)),
                protocol::peer::PeerReply::Err { code, message } => {
                    Err(ApiError::new(code, message))
                }
                other => Err(ApiError::internal(&format!(
                    "region {origin} answered {other:?} to a refresh"
                ))),
            }
        }
        (result, _, _) => Ok(Json(result?)),
    }
}

/// How long a refresh waits for the region that issued the token.
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `POST /v1/auth/logout` → 204; revokes the calling device.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "accounts",
    responses(
        (status = 204, description = "the device is revoked"),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn logout(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout(&who).await?;
    state.hub.kill_device(&who.user_id, &who.device_id);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/devices`.
#[utoipa::path(
    get,
    path = "/v1/devices",
    tag = "accounts",
    responses(
        (status = 200, description = "the caller's devices", body = DevicesResponse),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn devices(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<DevicesResponse>, ApiError> {
    let devices = state.accounts.devices(&who).await?;
    Ok(Json(DevicesResponse { devices }))
}

/// `DELETE /v1/devices/{device_id}` → 204.
#[utoipa::path(
    delete,
    path = "/v1/devices/{device_id}",
    tag = "accounts",
    params(("device_id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_device(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(device_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .revoke_device(&who.user_id, &device_id)
        .await?;
    state.hub.kill_device(&who.user_id, &device_id);
    Ok(StatusCode::NO_CONTENT)
}
