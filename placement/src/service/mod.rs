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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use serde_json::{Value, json};
    use tower::ServiceExt as _;

    use super::*;
    use crate::directory::Directory;
    use crate::topology::Topology;

    fn state(token: Option<&str>) -> PlacementState {
        let topology = Topology::from_yaml(include_str!("../../../regions.yaml")).unwrap();
        PlacementState::new(
            Arc::new(topology),
            Directory::new(),
            AdminToken::new(token.map(str::to_owned)),
        )
    }

    async fn call(
        state: &PlacementState,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = router(state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    fn names(body: &Value) -> Vec<&str> {
        body["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn route_follows_the_health_table() {
        let state = state(None);
        let uri = "/v1/placement/route?lat=48.86&lon=2.35";
        let (status, body) = call(&state, Method::GET, uri, None, None).await;
        assert_eq!(status, StatusCode::OK);
        // Nothing heard from yet: geography alone, every region flagged.
        assert_eq!(names(&body), ["eu-west", "us-east", "ap-south"]);
        assert_eq!(body["regions"][0]["healthy"], false);

        {
            let mut health = state.health.lock();
            let now = Instant::now();
            health.record("us-east", now).unwrap();
            health.record("ap-south", now).unwrap();
        }
        let (_, body) = call(&state, Method::GET, uri, None, None).await;
        assert_eq!(names(&body), ["us-east", "ap-south", "eu-west"]);
        assert_eq!(body["regions"][0]["distance_km"], 6189.6);
    }

    #[tokio::test]
    async fn regions_lists_topology_order_with_health() {
        let state = state(None);
        state
            .health
            .lock()
            .record("ap-south", Instant::now())
            .unwrap();
        let (status, body) = call(&state, Method::GET, "/v1/placement/regions", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(names(&body), ["eu-west", "us-east", "ap-south"]);
        let healthy: Vec<_> = body["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["healthy"].as_bool().unwrap())
            .collect();
        assert_eq!(healthy, [false, false, true]);
        assert_eq!(body["regions"][2]["quic"], "127.0.0.1:9083");
    }

    #[tokio::test]
    async fn without_a_token_configured_operators_need_none() {
        let state = state(None);
        let uri = "/v1/placement/chats/c_1";
        let (status, body) = call(
            &state,
            Method::PUT,
            uri,
            None,
            Some(json!({"home": "eu-west"})),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::OK,
                json!({"chat_id": "c_1", "home": "eu-west", "epoch": 1})
            )
        );
    }

    #[tokio::test]
    async fn changes_need_the_token_when_one_is_configured() {
        let state = state(Some("t"));
        let heartbeat = Some(json!({"region": "eu-west"}));
        let (status, body) = call(
            &state,
            Method::POST,
            "/v1/placement/heartbeat",
            Some("x"),
            heartbeat.clone(),
        )
        .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
        );
        assert!(!state.health.lock().is_healthy("eu-west", Instant::now()));
        let (status, _) = call(
            &state,
            Method::POST,
            "/v1/placement/heartbeat",
            Some("t"),
            heartbeat,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(state.health.lock().is_healthy("eu-west", Instant::now()));

        let delta = Some(json!({"version": 1, "chats": {"c_1": {"epoch": 1, "home": "eu-west"}}}));
        let (status, _) = call(&state, Method::POST, "/v1/placement/directory", None, delta).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(state.directory.read(Directory::is_empty));
        // Reads stay open: clients route and look chats up without the operator token.
        let (status, _) = call(&state, Method::GET, "/v1/placement/directory", None, None).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn bad_chat_ids_and_since_values_are_bad_requests() {
        let state = state(None);
        let (status, body) =
            call(&state, Method::GET, "/v1/placement/chats/a%20b", None, None).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("bad_request"))
        );
        let (status, body) = call(
            &state,
            Method::GET,
            "/v1/placement/directory?since=-1",
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("bad_request"))
        );
    }
}
