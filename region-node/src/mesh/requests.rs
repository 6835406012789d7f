//! Answering a peer region's requests: each carried out here as if a
//! local client had asked, its answer or API error sent back as JSON.

use super::peer::{PeerReply, PeerRequest};
use crate::error::ApiError;
use crate::state::AppState;

/// Carries out one request and answers the encoded [`PeerReply`].
pub(super) async fn answer(state: &AppState, peer: &str, body: &[u8]) -> Vec<u8> {
    let reply = match serde_json::from_slice::<PeerRequest>(body) {
        Ok(request) => match carry_out(state, request).await {
            Ok(value) => PeerReply::Ok { value },
            Err(error) => PeerReply::Err {
                code: error.code,
                message: error.message,
            },
        },
        Err(error) => {
            tracing::warn!(%peer, %error, "unreadable peer request");
            PeerReply::Err {
                code: protocol::ErrorCode::BadRequest,
                message: format!("unreadable request: {error}"),
            }
        }
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}

async fn carry_out(state: &AppState, request: PeerRequest) -> Result<serde_json::Value, ApiError> {
    match request {
        PeerRequest::ChangeChat {
            chat_id,
            actor,
            change,
        } => {
            let chat = state
                .chats
                .local_change(&actor, &chat_id, change.into())
                .await?;
            serde_json::to_value(chat).map_err(|e| ApiError::internal(&e))
        }
        PeerRequest::Refresh { refresh_token } => {
            let tokens = state.accounts.refresh(&refresh_token).await?;
            serde_json::to_value(tokens).map_err(|e| ApiError::internal(&e))
        }
        PeerRequest::CreateDirect { user, peer } => {
            let (chat, created) = state.chats.direct_here(&user, &peer).await?;
            let answer = crate::chat::DirectCreated { chat, created };
            serde_json::to_value(answer).map_err(|e| ApiError::internal(&e))
        }
        PeerRequest::CreateGroup {
            owner,
            title,
            members,
            description,
        } => {
            let chat = state
                .chats
                .create_group(&owner, &title, &members, description.as_deref())
                .await?;
            serde_json::to_value(chat).map_err(|e| ApiError::internal(&e))
        }
        PeerRequest::ClaimUsername { username, user_id } => {
            crate::accounts::claim_username(&state.db, &username, &user_id).await?;
            Ok(serde_json::Value::Null)
        }
    }
}
