//! `GET /v1/me`, `PATCH /v1/me` and public profiles.

use axum::Json;
use axum::extract::{Path, State};
use protocol::users::{Me, UpdateProfileRequest, UserProfile};
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery, Auth};
use crate::accounts::{profile, profiles};
use crate::error::ApiError;
use crate::state::AppState;
use protocol::peer::MeshDelta;

/// `GET /v1/me`.
pub async fn me(State(state): State<AppState>, Auth(who): Auth) -> Result<Json<Me>, ApiError> {
    let user = state
        .accounts
        .user(&who.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("account no longer exists"))?;
    Ok(Json(Me {
        user_id: user.user_id,
        username: user.username,
        display_name: user.display_name,
        home_region: state.config.region.clone(),
    }))
}

/// `GET /v1/users/{user_id}`.
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
