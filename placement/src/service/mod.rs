//! The placement HTTP API as an axum [`Router`], for the standalone service
//! and for region-node to embed.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /v1/placement/route?lat=&lon=&rtt=` | [`wire::RouteResponse`], best region first |
//! | `GET /v1/placement/regions` | [`wire::RegionsResponse`], topology order |
//! | `POST /v1/placement/heartbeat` | [`wire::HeartbeatRequest`] → 204 (admin) |
//! | `GET /v1/placement/chats/{chat_id}` | [`wire::ChatPlacement`] or 404 |
//! | `PUT /v1/placement/chats/{chat_id}` | [`wire::AssignRequest`] → [`wire::ChatPlacement`] (admin) |
//! | `POST /v1/placement/chats` | [`wire::CreateRequest`] → 201/200 [`wire::ChatPlacement`] (admin) |
//! | `GET /v1/placement/directory?since=` | a [`crate::directory::DirectoryDelta`] |
//! | `POST /v1/placement/directory` | a delta → [`wire::MergeResponse`] (admin) |
//!
//! "(admin)" requests need `Authorization: Bearer <admin token>` when a token
//! is configured. Errors use the protocol's error body.
//!
//! The router holds only `/v1/placement/...` routes and no fallback, so an
//! embedder can `merge` it into its own router next to its `/healthz`.

mod auth;
mod chats;
mod error;
mod regions;
mod state;
pub mod wire;

use axum::Router;
use axum::routing::{get, post};

pub use auth::AdminToken;
pub use error::ApiError;
pub use state::{PlacementState, SharedDirectory};

/// The placement API over `state`.
pub fn router(state: PlacementState) -> Router {
    Router::new()
        .route("/v1/placement/route", get(regions::route))
        .route("/v1/placement/regions", get(regions::regions))
        .route("/v1/placement/heartbeat", post(regions::heartbeat))
        .route("/v1/placement/chats", post(chats::create))
        .route(
            "/v1/placement/chats/{chat_id}",
            get(chats::get).put(chats::assign),
        )
        .route(
            "/v1/placement/directory",
            get(chats::delta).post(chats::merge),
        )
        .with_state(state)
}
