//! `/v1/chats/*`: chats, members, messages, history and read marks.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use protocol::ErrorCode;
use protocol::chats::{
    AddMembersRequest, Chat, ChatList, ChatSettings, CreateChatRequest, ReadRequest,
    SendMessageRequest, SendMessageResponse, SetRoleRequest, UpdateChatRequest,
};
use protocol::records::SettingKind;
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery, Auth};
use crate::chat::reads;
use crate::error::ApiError;
use crate::state::AppState;
use chat_core::Change;
use chat_core::rules::{MAX_MEMBERS, validate_id};

/// `POST /v1/chats` → 201 with a new chat, 200 with an existing direct chat.
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(request): ApiJson<CreateChatRequest>,
) -> Result<(StatusCode, Json<Chat>), ApiError> {
    match request {
        CreateChatRequest::Direct { peer } => {
            validate_id("peer", &peer)?;
            let (chat, fresh) = state.chats.direct(&who.user_id, &peer).await?;
            let status = if fresh {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(chat)))
        }
        CreateChatRequest::Group {
            title,
            members,
            description,
            home_region,
        } => {
            if members.len() > MAX_MEMBERS {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("a group has at most {MAX_MEMBERS} members"),
                ));
            }
            for id in &members {
                validate_id("members", id)?;
            }
            let description = description.as_deref();
            let chat = match home_region {
                Some(home) if home != state.config.region => {
                    state
                        .chats
                        .create_group_at(&home, &who.user_id, &title, &members, description)
                        .await?
                }
                _ => {
                    state
                        .chats
                        .create_group(&who.user_id, &title, &members, description)
                        .await?
                }
            };
            Ok((StatusCode::CREATED, Json(chat)))
        }
    }
}

/// `GET /v1/chats`.
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<ChatList>, ApiError> {
    let chats = reads::list(state.chats.db(), &who.user_id).await?;
    Ok(Json(ChatList { chats }))
}

/// `GET /v1/chats/{chat_id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
) -> Result<Json<Chat>, ApiError> {
    reads::chat_for(state.chats.db(), &who.user_id, &chat_id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// `PATCH /v1/chats/{chat_id}`.
pub async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiJson(request): ApiJson<UpdateChatRequest>,
) -> Result<Json<Chat>, ApiError> {
    if request.title.is_none() && request.description.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give title or description",
        ));
    }
    state
        .chats
        .edit_meta(
            &who.user_id,
            &chat_id,
            request.title.as_deref(),
            request.description.as_deref(),
        )
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// `POST /v1/chats/{chat_id}/members`.
pub async fn add_members(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiJson(request): ApiJson<AddMembersRequest>,
) -> Result<Json<Chat>, ApiError> {
    if request.user_ids.is_empty() {
        return Err(ApiError::bad_request("user_ids must not be empty"));
    }
    if request.user_ids.len() > MAX_MEMBERS {
        return Err(ApiError::new(ErrorCode::TooLarge, "too many user_ids"));
    }
    for id in &request.user_ids {
        validate_id("user_ids", id)?;
    }
    state
        .chats
        .change(&who.user_id, &chat_id, Change::AddMembers(request.user_ids))
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// `DELETE /v1/chats/{chat_id}/members/{user_id}`: remove, or leave when
/// `user_id` is the caller.
pub async fn remove_member(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((chat_id, user_id)): Path<(String, String)>,
) -> Result<Json<Chat>, ApiError> {
    state
        .chats
        .change(&who.user_id, &chat_id, Change::Remove(user_id))
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// `PATCH /v1/chats/{chat_id}/members/{user_id}` `{role}`: the owner
/// grants or revokes `admin`, or hands the group over with `owner`; a
/// system message records it. Answers the chat afterwards.
pub async fn set_role(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((chat_id, user_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<SetRoleRequest>,
) -> Result<Json<Chat>, ApiError> {
    state
        .chats
        .change(
            &who.user_id,
            &chat_id,
            Change::SetRole(user_id, request.role),
        )
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// `PUT /v1/chats/{chat_id}/settings` `{muted_until}`: the caller's own
/// settings of a chat they are a member of; kept with their account, so
/// every region knows them. Answers the settings.
pub async fn settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiJson(request): ApiJson<ChatSettings>,
) -> Result<Json<ChatSettings>, ApiError> {
    reads::chat_for(state.chats.db(), &who.user_id, &chat_id).await?;
    state
        .accounts
        .set_setting(
            &who.user_id,
            SettingKind::Mute,
            &chat_id,
            request.muted_until,
        )
        .await?;
    Ok(Json(request))
}

/// `DELETE /v1/chats/{chat_id}` → 204 (owner only).
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .chats
        .change(&who.user_id, &chat_id, Change::Delete)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/chats/{chat_id}/messages`.
pub async fn send(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiJson(request): ApiJson<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    state
        .limits
        .check_send(&who.device_id)
        .map_err(ApiError::rate_limited)?;
    state
        .chats
        .send(
            &who.user_id,
            &chat_id,
            &request.client_msg_id,
            &request.text,
        )
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Query of `GET /v1/chats/{chat_id}/messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    after_seq: Option<u64>,
    before_seq: Option<u64>,
    limit: Option<usize>,
}

/// `GET /v1/chats/{chat_id}/messages?after_seq=&before_seq=&limit=`.
pub async fn history(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    // Held until the page is encoded: pages in memory at once are bounded.
    let _turn = state.limits.history_turn().await;
    reads::history(
        state.chats.db(),
        &who.user_id,
        &chat_id,
        query.after_seq,
        query.before_seq,
        query.limit,
    )
    .await
    .map(|page| Json(page).into_response())
    .map_err(ApiError::from)
}

/// `POST /v1/chats/{chat_id}/read` → 204.
pub async fn read(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiJson(request): ApiJson<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .chats
        .marks(&who.user_id, &chat_id, request.seq, request.seq)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
