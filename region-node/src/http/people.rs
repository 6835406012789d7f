//! `/v1/contacts` and `/v1/blocks`: the caller's contacts (with presence)
//! and the users they block, kept in every region.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use protocol::records::SettingKind;
use protocol::users::{BlockList, Contact, ContactList, UserProfile};

use super::extract::Auth;
use crate::accounts::{profile, profiles};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /v1/contacts`: profiles with presence, by user id.
#[utoipa::path(
    get,
    path = "/v1/contacts",
    tag = "people",
    responses(
        (status = 200, description = "the caller's contacts", body = ContactList),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn contacts(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<ContactList>, ApiError> {
    let mut contacts = Vec::new();
    for user in profiles_of(&state, &who.user_id, SettingKind::Contact).await? {
        let (online, last_seen) = state.hub.presence.current(&user.user_id).await;
        contacts.push(Contact {
            online: online && !user.deleted,
            last_seen,
            profile: user,
        });
    }
    Ok(Json(ContactList { contacts }))
}

/// `PUT /v1/contacts/{user_id}` → 204.
#[utoipa::path(
    put,
    path = "/v1/contacts/{user_id}",
    tag = "people",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "added"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn add_contact(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Contact, &user_id, true).await
}

/// `DELETE /v1/contacts/{user_id}` → 204.
#[utoipa::path(
    delete,
    path = "/v1/contacts/{user_id}",
    tag = "people",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn remove_contact(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Contact, &user_id, false).await
}

/// `GET /v1/blocks`.
#[utoipa::path(
    get,
    path = "/v1/blocks",
    tag = "people",
    responses(
        (status = 200, description = "the users the caller blocks", body = BlockList),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn blocks(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<BlockList>, ApiError> {
    let blocks = profiles_of(&state, &who.user_id, SettingKind::Block).await?;
    Ok(Json(BlockList { blocks }))
}

/// `PUT /v1/blocks/{user_id}` → 204.
#[utoipa::path(
    put,
    path = "/v1/blocks/{user_id}",
    tag = "people",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "blocked"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn block(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Block, &user_id, true).await
}

/// `DELETE /v1/blocks/{user_id}` → 204.
#[utoipa::path(
    delete,
    path = "/v1/blocks/{user_id}",
    tag = "people",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "unblocked"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn unblock(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Block, &user_id, false).await
}

async fn set(
    state: &AppState,
    user: &str,
    kind: SettingKind,
    target: &str,
    on: bool,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .set_setting(user, kind, target, u64::from(on))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn profiles_of(
    state: &AppState,
    user: &str,
    kind: SettingKind,
) -> Result<Vec<UserProfile>, ApiError> {
    let mut out = Vec::new();
    for record in state.accounts.people(user, kind).await? {
        out.push(profiles::overlay(&state.db, profile(&record)).await?);
    }
    Ok(out)
}
