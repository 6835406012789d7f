//! The HTTP API: the router and its handlers, one module per resource.
//!
//! - [`guard`]: size limits before routing, security headers, JSON bodies
//!   on every error.
//! - [`extract`]: JSON bodies and bearer authentication with protocol errors.
//! - [`health`]: liveness and readiness.
//! - [`auth`]: register, login, refresh, logout, devices.
//! - [`users`]: the caller, public profiles, account deletion.
//! - [`people`]: contacts and blocks.
//! - [`chats`]: chats, members, messages, history, read marks.
//! - [`messages`]: edits, deletes and reactions of a message.
//! - [`media`]: uploads and downloads of images and files.
//! - [`placement`]: the nearest regions and a chat's home.
//! - [`openapi`]: the OpenAPI description, served at `/v1/openapi.json`.

pub mod auth;
pub mod chats;
pub mod extract;
pub mod guard;
pub mod health;
pub mod media;
pub mod messages;
pub mod openapi;
pub mod people;
pub mod placement;
pub mod test_admin;
pub mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Every route of the node.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/auth/register", post(auth::register))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/devices", get(auth::devices))
        .route("/v1/devices/{device_id}", delete(auth::revoke_device))
        .route(
            "/v1/me",
            get(users::me)
                .patch(users::update_me)
                .delete(users::delete_me),
        )
        .route("/v1/contacts", get(people::contacts))
        .route(
            "/v1/contacts/{user_id}",
            put(people::add_contact).delete(people::remove_contact),
        )
        .route("/v1/blocks", get(people::blocks))
        .route(
            "/v1/blocks/{user_id}",
            put(people::block).delete(people::unblock),
        )
        .route("/v1/users", get(users::by_username))
        .route("/v1/users/{user_id}", get(users::by_id))
        .route("/v1/chats", post(chats::create).get(chats::list))
        .route(
            "/v1/chats/{chat_id}",
            get(chats::get).patch(chats::update).delete(chats::delete),
        )
        .route("/v1/chats/{chat_id}/members", post(chats::add_members))
        .route(
            "/v1/chats/{chat_id}/members/{user_id}",
            delete(chats::remove_member).patch(chats::set_role),
        )
        .route("/v1/chats/{chat_id}/settings", put(chats::settings))
        .route(
            "/v1/chats/{chat_id}/messages",
            post(chats::send).get(chats::history),
        )
        .route("/v1/chats/{chat_id}/read", post(chats::read))
        .route(
            "/v1/chats/{chat_id}/messages/{seq}",
            patch(messages::edit).delete(messages::delete),
        )
        .route(
            "/v1/chats/{chat_id}/messages/{seq}/reactions",
            post(messages::react),
        )
        // The media route counts its own bytes; the JSON limit is not for it.
        .route(
            "/v1/media",
            post(media::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/media/{media_id}", get(media::download))
        .route("/v1/placement/route", get(placement::route))
        .route("/v1/placement/chats/{chat_id}", get(placement::chat))
        .route("/v1/ws", get(crate::ws::upgrade))
        .route("/v1/openapi.json", get(openapi::spec))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}
