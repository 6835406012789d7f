//! `/v1/chats/{chat_id}/messages/{seq}`: edits, deletes for everyone and
//! reactions — the HTTP mirrors of the `edit`, `delete` and `react` frames.
//! Each is a log entry of the chat, answered like a send: `{seq, hlc,
//! status}`, `accepted` while the chat's home is unreachable.

use axum::Json;
use axum::extract::{Path, State};
use chat_core::Action;
use protocol::chats::{DeleteMessageQuery, EditMessageRequest, ReactRequest, SendMessageResponse};

use super::extract::{ApiJson, ApiQuery, Auth};
use crate::accounts::Principal;
use crate::chat::Draft;
use crate::error::ApiError;
use crate::state::AppState;

/// `PATCH /v1/chats/{chat_id}/messages/{seq}` `{client_msg_id, text}`.
#[utoipa::path(
    patch,
    path = "/v1/chats/{chat_id}/messages/{seq}",
    tag = "chats",
    request_body = EditMessageRequest,
    params(("chat_id" = String, Path), ("seq" = u64, Path, minimum = 1)),
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
pub async fn edit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((chat_id, seq)): Path<(String, String)>,
    ApiJson(request): ApiJson<EditMessageRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    let action = Action::Edit {
        target_seq: target(&seq)?,
    };
    write(
        &state,
        &who,
        &chat_id,
        &request.client_msg_id,
        &request.text,
        action,
    )
    .await
}

/// `DELETE /v1/chats/{chat_id}/messages/{seq}?client_msg_id=`.
#[utoipa::path(
    delete,
    path = "/v1/chats/{chat_id}/messages/{seq}",
    tag = "chats",
    params(("chat_id" = String, Path), ("seq" = u64, Path, minimum = 1), ("client_msg_id" = String, Query, min_length = 1, max_length = 128)),
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
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((chat_id, seq)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<DeleteMessageQuery>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    let action = Action::Delete {
        target_seq: target(&seq)?,
    };
    write(&state, &who, &chat_id, &query.client_msg_id, "", action).await
}

/// `POST /v1/chats/{chat_id}/messages/{seq}/reactions` `{client_msg_id,
/// emoji, on}`.
#[utoipa::path(
    post,
    path = "/v1/chats/{chat_id}/messages/{seq}/reactions",
    tag = "chats",
    request_body = ReactRequest,
    params(("chat_id" = String, Path), ("seq" = u64, Path, minimum = 1)),
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
pub async fn react(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((chat_id, seq)): Path<(String, String)>,
    ApiJson(request): ApiJson<ReactRequest>,
) -> Result<Json<SendMessageResponse>, ApiError> {
    let action = Action::React {
        target_seq: target(&seq)?,
        emoji: request.emoji,
        on: request.on,
    };
    write(&state, &who, &chat_id, &request.client_msg_id, "", action).await
}

/// The `{seq}` of the path: a positive integer.
fn target(seq: &str) -> Result<u64, ApiError> {
    match seq.parse::<u64>() {
        Ok(seq) if seq > 0 => Ok(seq),
        _ => Err(ApiError::bad_request(format!(
            "{seq:?} is not a message seq (a positive integer)"
        ))),
    }
}

/// Any write to a chat's log, after the sender's rate limit: what every
/// message route (send, edit, delete, react) does once it has its action.
pub(super) async fn write(
    state: &AppState,
    who: &Principal,
    chat_id: &str,
    client_msg_id: &str,
    text: &str,
    action: Action,
) -> Result<Json<SendMessageResponse>, ApiError> {
    state
        .limits
        .check_send(&who.device_id)
        .map_err(ApiError::rate_limited)?;
    state
        .chats
        .send(
            &who.user_id,
            chat_id,
            Draft {
                client_msg_id,
                text,
                action,
            },
        )
        .await
        .map(Json)
        .map_err(ApiError::from)
}
