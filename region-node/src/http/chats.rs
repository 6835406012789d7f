//! `/v1/chats/*`: chats, members, messages, history and read marks (edits,
//! deletes and reactions of messages in [`super::messages`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use protocol::ErrorCode;
use protocol::chats::{
    AddMembersRequest, Chat, ChatList, ChatSettings, CreateChatRequest, History, HistoryKinds,
    ReadRequest, SendMessageRequest, SendMessageResponse, SetRoleRequest, UpdateChatRequest,
};
use protocol::records::SettingKind;
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery, Auth};
use super::messages;
use crate::chat::reads;
use crate::error::ApiError;
use crate::state::AppState;
use chat_core::rules::{MAX_MEMBERS, validate_id};
use chat_core::{Action, Change};

/// `POST /v1/chats` → 201 with a new chat, 200 with an existing direct chat.
#[utoipa::path(
    post,
    path = "/v1/chats",
    tag = "chats",
    request_body = CreateChatRequest,
    responses(
        (status = 201, description = "a new chat", body = Chat),
        (status = 200, description = "the existing direct chat", body = Chat),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/v1/chats",
    tag = "chats",
    responses(
        (status = 200, description = "the caller's chats", body = ChatList),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<ChatList>, ApiError> {
    let chats = reads::list(state.chats.db(), &who.user_id).await?;
    Ok(Json(ChatList { chats }))
}

/// `GET /v1/chats/{chat_id}`.
#[utoipa::path(
    get,
    path = "/v1/chats/{chat_id}",
    tag = "chats",
    params(("chat_id" = String, Path)),
    responses(
        (status = 200, description = "the chat with its members", body = Chat),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    patch,
    path = "/v1/chats/{chat_id}",
    tag = "chats",
    params(("chat_id" = String, Path)),
    request_body = UpdateChatRequest,
    responses(
        (status = 200, description = "the chat afterwards", body = Chat),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 409, description = "conflict", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/v1/chats/{chat_id}/members",
    tag = "chats",
    params(("chat_id" = String, Path)),
    request_body = AddMembersRequest,
    responses(
        (status = 200, description = "the chat afterwards", body = Chat),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    delete,
    path = "/v1/chats/{chat_id}/members/{user_id}",
    tag = "chats",
    params(("chat_id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 200, description = "the chat afterwards", body = Chat),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    patch,
    path = "/v1/chats/{chat_id}/members/{user_id}",
    tag = "chats",
    params(("chat_id" = String, Path), ("user_id" = String, Path)),
    request_body = SetRoleRequest,
    responses(
        (status = 200, description = "the chat afterwards", body = Chat),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    put,
    path = "/v1/chats/{chat_id}/settings",
    tag = "chats",
    params(("chat_id" = String, Path)),
    request_body = ChatSettings,
    responses(
        (status = 200, description = "the caller's settings", body = ChatSettings),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    delete,
    path = "/v1/chats/{chat_id}",
    tag = "chats",
    params(("chat_id" = String, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/v1/chats/{chat_id}/messages",
    tag = "chats",
    params(("chat_id" = String, Path)),
    request_body = SendMessageRequest,
    responses(
        (status = 200, description = "sequenced, or accepted while the home is unreachable", body = SendMessageResponse),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 409, description = "conflict", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 503, description = "home_unreachable or draining", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn send(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(chat_id): Path<String>,
    ApiJson(request): ApiJson<SendMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    let action = Action::Text {
        reply_to: request.reply_to,
    };
    messages::write(
        &state,
        &who,
        &chat_id,
        &request.client_msg_id,
        &request.text,
        action,
    )
    .await
}

/// Query of `GET /v1/chats/{chat_id}/messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    after_seq: Option<u64>,
    before_seq: Option<u64>,
    limit: Option<usize>,
    #[serde(default)]
    kinds: HistoryKinds,
}

/// `GET /v1/chats/{chat_id}/messages?after_seq=&before_seq=&limit=`.
#[utoipa::path(
    get,
    path = "/v1/chats/{chat_id}/messages",
    tag = "chats",
    params(("chat_id" = String, Path), ("after_seq" = Option<u64>, Query), ("before_seq" = Option<u64>, Query), ("limit" = Option<u64>, Query), ("kinds" = Option<HistoryKinds>, Query)),
    responses(
        (status = 200, description = "one page in seq order", body = History),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
        query.kinds,
    )
    .await
    .map(|page| Json(page).into_response())
    .map_err(ApiError::from)
}

/// `POST /v1/chats/{chat_id}/read` → 204.
#[utoipa::path(
    post,
    path = "/v1/chats/{chat_id}/read",
    tag = "chats",
    params(("chat_id" = String, Path)),
    request_body = ReadRequest,
    responses(
        (status = 204, description = "stored"),
        (status = 400, description = "bad_request: malformed or invalid request", body = protocol::ErrorBody),
        (status = 401, description = "unauthorized: missing, expired or revoked token", body = protocol::ErrorBody),
        (status = 403, description = "forbidden, not_member or blocked", body = protocol::ErrorBody),
        (status = 404, description = "not_found", body = protocol::ErrorBody),
        (status = 413, description = "too_large", body = protocol::ErrorBody),
        (status = 429, description = "rate_limited", body = protocol::ErrorBody),
        (status = 500, description = "internal", body = protocol::ErrorBody),
    ),
    security(("bearer" = [])),
)]
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
