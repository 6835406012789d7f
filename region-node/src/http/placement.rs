//! Placement answered by a region itself: the regions of its mesh nearest
//! a client (healthy = this region, and the peers it has a live link to),
//! and the home of a chat it knows. A region outside a mesh answers with
//! itself only.

use axum::Json;
use axum::extract::{Path, Query, State};
use placement::route::{RouteHint, rank};
use placement::service::wire::{ChatPlacement, RouteResponse};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::extract::Auth;
use crate::state::AppState;

/// `?lat=&lon=&rtt=`.
#[derive(Debug, Deserialize)]
pub struct RouteQuery {
    lat: Option<String>,
    lon: Option<String>,
    rtt: Option<String>,
}

/// `GET /v1/placement/route`: regions nearest first. Needs no token: a
/// client asks it before logging in.
#[utoipa::path(
    get,
    path = "/v1/placement/route",
    tag = "placement",
    params(("lat" = Option<String>, Query), ("lon" = Option<String>, Query), ("rtt" = Option<String>, Query)),
    responses(
        (status = 200, description = "the regions to use, nearest first", body = serde_json::Value),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 404, description = "not_found: this region is not part of a mesh", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn route(
    State(state): State<AppState>,
    Query(query): Query<RouteQuery>,
) -> Result<Json<RouteResponse>, ApiError> {
    let hint = RouteHint::parse(
        query.lat.as_deref(),
        query.lon.as_deref(),
        query.rtt.as_deref(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Some(mesh) = &state.mesh else {
        return Err(ApiError::not_found("this region is not part of a mesh"));
    };
    let region = state.config.region.clone();
    let regions = rank(&mesh.config().topology, &hint, |name| {
        name == region || mesh.is_connected(name)
    });
    Ok(Json(RouteResponse { regions }))
}

/// `GET /v1/placement/chats/{chat_id}`: the chat's home region. Chats are
/// not moved between regions yet, so every epoch is 1.
#[utoipa::path(
    get,
    path = "/v1/placement/chats/{chat_id}",
    tag = "placement",
    params(("chat_id" = String, Path)),
    responses(
        (status = 200, description = "where the chat lives", body = serde_json::Value),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn chat(
    State(state): State<AppState>,
    _who: Auth,
    Path(chat_id): Path<String>,
) -> Result<Json<ChatPlacement>, ApiError> {
    let chat = crate::chat::reads::load_chat(&state.db, &chat_id).await?;
    Ok(Json(ChatPlacement {
        chat_id: chat.chat_id,
        home: chat.home_region,
        epoch: 1,
    }))
}
