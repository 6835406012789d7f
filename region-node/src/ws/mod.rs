//! WebSocket sessions at `GET /v1/ws?token=`.
//!
//! - [`close`]: close codes.
//! - [`session`]: one connection: reading frames and acting on them.
//! - [`writer`]: the connection's writer: per-chat order, replay, coalesced writes.

pub mod close;
pub mod session;
pub mod writer;

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use protocol::frames::MAX_FRAME_BYTES;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

/// Query of the upgrade request.
#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// Authenticates, then upgrades to a session. The token comes from `?token=`
/// or an `Authorization: Bearer` header.
#[utoipa::path(
    get,
    path = "/v1/ws",
    tag = "websocket",
    params(("token" = String, Query, description = "an access token")),
    responses(
        (status = 101, description = "switched to the WebSocket protocol; frames are in docs/protocol.md"),
        (status = 400, description = "not a WebSocket upgrade request", body = protocol::ErrorBody),
        (status = 401, description = "missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 429, description = "too many connections", body = protocol::ErrorBody),
        (status = 503, description = "draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
)]
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let header_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = query
        .token
        .or(header_token)
        .ok_or_else(|| ApiError::unauthorized("missing token"))?;
    let who = state.accounts.authenticate(&token).await?;
    if !state.is_ready() {
        return Err(ApiError::new(
            protocol::ErrorCode::HomeUnreachable,
            "node is draining",
        ));
    }
    // Small buffers keep idle connections cheap; tungstenite grows them as needed.
    // Frames over MAX_FRAME_BYTES are refused by the session with close code 1009;
    // the transport limit sits above it so the session sees them and can say why.
    Ok(ws
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * MAX_FRAME_BYTES)
        .max_message_size(2 * MAX_FRAME_BYTES)
        .max_frame_size(2 * MAX_FRAME_BYTES)
        // The session runs as its own task so that axum's upgrade task, whose
        // future is several KiB, ends at once instead of living as long as
        // the connection.
        .on_upgrade(move |socket| async move {
            tokio::spawn(session::run(state, who, socket));
        }))
}
