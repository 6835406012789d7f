//! Handlers about regions: routing a client, listing regions with their
//! health, and taking pushed heartbeats.

use std::time::Instant;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::error::ApiError;
use super::state::PlacementState;
use super::wire::{HeartbeatRequest, RegionStatus, RegionsResponse, RouteResponse};
use crate::route::{RouteHint, rank};

/// The query of `GET /v1/placement/route`, kept as text so that bad numbers
/// get our error body rather than the extractor's.
#[derive(Debug, Deserialize)]
pub(super) struct RouteQuery {
    lat: Option<String>,
    lon: Option<String>,
    rtt: Option<String>,
}

/// `GET /v1/placement/route?lat=&lon=&rtt=`.
pub(super) async fn route(
    State(state): State<PlacementState>,
    query: Result<Query<RouteQuery>, QueryRejection>,
) -> Result<Json<RouteResponse>, ApiError> {
    let Query(query) = query?;
    let hint = RouteHint::parse(
        query.lat.as_deref(),
        query.lon.as_deref(),
        query.rtt.as_deref(),
    )?;
    let now = Instant::now();
    let health = state.health.lock();
    let regions = rank(&state.topology, &hint, |name| health.is_healthy(name, now));
    Ok(Json(RouteResponse { regions }))
}

/// `GET /v1/placement/regions`.
pub(super) async fn regions(State(state): State<PlacementState>) -> Json<RegionsResponse> {
    let now = Instant::now();
    let health = state.health.lock();
    let regions = state
        .topology
        .regions
        .iter()
        .map(|region| {
            let status = health.status(&region.name, now);
            RegionStatus {
                name: region.name.clone(),
                location: region.location,
                http: region.http,
                quic: region.quic,
                healthy: status.is_some_and(|s| s.healthy),
                last_heartbeat_ms_ago: status.and_then(|s| s.last_heartbeat_ms_ago),
            }
        })
        .collect();
    Json(RegionsResponse { regions })
}

/// `POST /v1/placement/heartbeat {region}`: 204, or 400 for a region the
/// topology does not know.
pub(super) async fn heartbeat(
    State(state): State<PlacementState>,
    headers: HeaderMap,
    body: Result<Json<HeartbeatRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    state.admin_token.check(&headers)?;
    let Json(request) = body?;
    state
        .health
        .lock()
        .record(&request.region, Instant::now())
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    tracing::debug!(region = %request.region, "heartbeat pushed");
    Ok(StatusCode::NO_CONTENT)
}
