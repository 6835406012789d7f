//! The OpenAPI description of the HTTP API, generated from the handlers'
//! annotations and the protocol crate's types, served at
//! `GET /v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{auth, chats, health, media, messages, people, placement, users};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "chatmesh",
        description = "The chatmesh client protocol over HTTP; WebSocket frames are described in docs/protocol.md.",
    ),
    paths(
        health::healthz,
        health::readyz,
        crate::metrics::metrics_handler,
        auth::register,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::devices,
        auth::revoke_device,
        users::me,
        users::update_me,
        users::delete_me,
        users::by_id,
        users::by_username,
        people::contacts,
        people::add_contact,
        people::remove_contact,
        people::blocks,
        people::block,
        people::unblock,
        chats::create,
        chats::list,
        chats::get,
        chats::update,
        chats::delete,
        chats::add_members,
        chats::remove_member,
        chats::set_role,
        chats::settings,
        chats::send,
        chats::history,
        chats::read,
        messages::edit,
        messages::delete,
        messages::react,
        media::upload,
        media::download,
        placement::route,
        placement::chat,
        crate::ws::upgrade,
        spec,
    ),
    components(schemas(protocol::chats::HistoryKinds)),
    modifiers(&BearerToken),
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the paths name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "this document", body = serde_json::Value)),
)]
pub async fn spec() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
