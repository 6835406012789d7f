//! Handlers for the chat directory: look up, create, place or move a chat,
//! and exchange deltas with other copies.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::error::ApiError;
use super::state::PlacementState;
use super::wire::{AssignRequest, ChatPlacement, CreateRequest, MergeResponse};
use crate::directory::{Created, DirectoryDelta, check_chat_id};

/// `GET /v1/placement/chats/{chat_id}`.
pub(super) async fn get(
    State(state): State<PlacementState>,
    chat_id: Result<Path<String>, PathRejection>,
) -> Result<Json<ChatPlacement>, ApiError> {
    let Path(chat_id) = chat_id?;
    check_chat_id(&chat_id)?;
    state
        .directory
        .read(|directory| {
            directory
                .get(&chat_id)
                .map(|p| ChatPlacement::new(&chat_id, p))
        })
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("chat `{chat_id}` is not placed")))
}

/// `PUT /v1/placement/chats/{chat_id} {home}`: an operator places or moves
/// a chat.
pub(super) async fn assign(
    State(state): State<PlacementState>,
    headers: HeaderMap,
    chat_id: Result<Path<String>, PathRejection>,
    body: Result<Json<AssignRequest>, JsonRejection>,
) -> Result<Json<ChatPlacement>, ApiError> {
    state.admin_token.check(&headers)?;
    let Path(chat_id) = chat_id?;
    let Json(request) = body?;
    let placement = state
        .directory
        .update(|directory| directory.assign(&state.topology, &chat_id, &request.home))?;
    tracing::info!(chat = %chat_id, home = %placement.home, epoch = placement.epoch, "chat placed");
    Ok(Json(ChatPlacement::new(&chat_id, &placement)))
}

/// `POST /v1/placement/chats {chat_id, region, home?}`: places a new chat;
/// 201 when it was new, 200 with the existing placement when it was not.
pub(super) async fn create(
    State(state): State<PlacementState>,
    headers: HeaderMap,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ChatPlacement>), ApiError> {
    state.admin_token.check(&headers)?;
    let Json(request) = body?;
    let created = state.directory.update(|directory| {
        directory.create(
            &state.topology,
            &request.chat_id,
            &request.region,
            request.home.as_deref(),
        )
    })?;
    let status = match created {
        Created::New(_) => StatusCode::CREATED,
        Created::Existing(_) => StatusCode::OK,
    };
    Ok((
        status,
        Json(ChatPlacement::new(&request.chat_id, created.placement())),
    ))
}

/// The query of `GET /v1/placement/directory`.
#[derive(Debug, Deserialize)]
pub(super) struct DeltaQuery {
    #[serde(default)]
    since: u64,
}

/// `GET /v1/placement/directory?since=N`: the entries changed after change
/// number `N` (everything without it).
pub(super) async fn delta(
    State(state): State<PlacementState>,
    query: Result<Query<DeltaQuery>, QueryRejection>,
) -> Result<Json<DirectoryDelta>, ApiError> {
    let Query(query) = query?;
    Ok(Json(
        state
            .directory
            .read(|directory| directory.delta_since(query.since)),
    ))
}

/// `POST /v1/placement/directory`: merges another copy's delta.
pub(super) async fn merge(
    State(state): State<PlacementState>,
    headers: HeaderMap,
    body: Result<Json<DirectoryDelta>, JsonRejection>,
) -> Result<Json<MergeResponse>, ApiError> {
    state.admin_token.check(&headers)?;
    let Json(delta) = body?;
    // Checked before merging anything, so a bad delta changes nothing.
    for chat_id in delta.chats.keys() {
        check_chat_id(chat_id)?;
    }
    let (changed, version) = state.directory.update(|directory| {
        let changed = directory.merge_delta(&delta);
        (changed, directory.version())
    });
    tracing::debug!(changed, version, "directory delta merged");
    Ok(Json(MergeResponse { changed, version }))
}
