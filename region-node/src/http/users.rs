//! `GET /v1/me`, `PATCH /v1/me`, `DELETE /v1/me` and public profiles.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use protocol::users::{DeleteAccountRequest, Me, UpdateProfileRequest, UserProfile};
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery, Auth};
use crate::accounts::{profile, profiles};
use crate::error::ApiError;
use crate::state::AppState;
use protocol::peer::MeshDelta;

/// `GET /v1/me`: the caller's account with their profile's edits, and the
/// region it was registered in.
pub async fn me(State(state): State<AppState>, Auth(who): Auth) -> Result<Json<Me>, ApiError> {
    let user = state
        .accounts
        .user(&who.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
    let home_region = if user.home_region.is_empty() {
        // Registered before records named their region, in this one (a
        // replica fills in the region whose log brought it).
        state.config.region.clone()
    } else {
        user.home_region.clone()
    };
    let shown = profiles::overlay(&state.db, profile(&user)).await?;
    Ok(Json(Me {
        user_id: user.user_id,
        username: user.username,
        display_name: shown.display_name,
        home_region,
        status_text: shown.status_text,
        avatar_media_id: shown.avatar_media_id,
    }))
}

/// `GET /v1/users/{user_id}`; a deleted account answers `deleted: true`
/// and no name.
pub async fn by_id(
    State(state): State<AppState>,
    Auth(_): Auth,
    Path(user_id): Path<String>,
) -> Result<Json<UserProfile>, ApiError> {
    let user = state.accounts.user(&user_id).await?;
    let user = user.ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(Json(profiles::overlay(&state.db, profile(&user)).await?))
}

/// `PATCH /v1/me`: edit the caller's profile, in any region; other regions
/// merge the edit.
pub async fn update_me(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(request): ApiJson<UpdateProfileRequest>,
) -> Result<Json<UserProfile>, ApiError> {
    let user = state
        .accounts
        .user(&who.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
    let doc = profiles::edit(&state.db, &state.config.region, &who.user_id, &request).await?;
    if let Some(mesh) = &state.mesh {
        mesh.broadcast_reliable(&MeshDelta::Profile {
            user_id: who.user_id.clone(),
            doc: profiles::encode(&doc),
        });
    }
    Ok(Json(profiles::overlay(&state.db, profile(&user)).await?))
}

/// `DELETE /v1/me` → 204: with the password, deletes the caller's account
/// in every region and closes its connections here at once (other regions
/// close theirs when the account log brings the news).
pub async fn delete_me(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(request): ApiJson<DeleteAccountRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .delete_account(&who, request.password)
        .await?;
    state.hub.kill_user(&who.user_id);
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByUsername {
    username: Option<String>,
}

/// `GET /v1/users?username=`.
pub async fn by_username(
    State(state): State<AppState>,
    Auth(_): Auth,
    ApiQuery(query): ApiQuery<ByUsername>,
) -> Result<Json<UserProfile>, ApiError> {
    let username = query
        .username
        .ok_or_else(|| ApiError::bad_request("query parameter username is required"))?;
    crate::accounts::validate::username(&username)?;
    let user = state.accounts.user_by_username(&username).await?;
    let user = user.ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(Json(profiles::overlay(&state.db, profile(&user)).await?))
}
