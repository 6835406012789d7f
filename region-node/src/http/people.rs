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
pub async fn add_contact(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Contact, &user_id, true).await
}

/// `DELETE /v1/contacts/{user_id}` → 204.
pub async fn remove_contact(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Contact, &user_id, false).await
}

/// `GET /v1/blocks`.
pub async fn blocks(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<BlockList>, ApiError> {
    let blocks = profiles_of(&state, &who.user_id, SettingKind::Block).await?;
    Ok(Json(BlockList { blocks }))
}

/// `PUT /v1/blocks/{user_id}` → 204.
pub async fn block(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&state, &who.user_id, SettingKind::Block, &user_id, true).await
}

/// `DELETE /v1/blocks/{user_id}` → 204.
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
