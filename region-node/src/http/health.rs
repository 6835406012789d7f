//! `GET /healthz` (the process answers) and `GET /readyz` (it takes work).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// Always 200 while the process serves HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "the node is up", body = serde_json::Value),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"status": "ok", "region": state.config.region}))
}

/// 200 once the store is open, 503 while starting or draining, and 503
/// `storage_unavailable` while the store cannot write (a full or failing
/// disk); 200 again once the store has recovered.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "the node takes work", body = serde_json::Value),
        (status = 503, description = "starting, draining, or storage unavailable", body = serde_json::Value),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if !state.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        );
    }
    match state.db.health() {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(error) => {
            tracing::debug!(%error, "not ready: storage unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "storage_unavailable"})),
            )
        }
    }
}
