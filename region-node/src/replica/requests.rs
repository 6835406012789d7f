//! Answering a peer region's requests: each carried out here as if a
//! local client had asked, answered with a typed [`PeerReply`].

use protocol::ErrorCode;
use protocol::peer::{PeerReply, PeerRequest};

use super::Handles;

/// Carries out one request and answers the encoded [`PeerReply`].
pub(super) async fn answer(handles: &Handles, peer: &str, body: &[u8]) -> Vec<u8> {
    let reply = match serde_json::from_slice::<PeerRequest>(body) {
        Ok(request) => carry_out(handles, request).await,
        Err(error) => {
            tracing::warn!(%peer, %error, "unreadable peer request");
            PeerReply::Err {
                code: ErrorCode::BadRequest,
                message: format!("unreadable request: {error}"),
            }
        }
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}

fn refused(code: ErrorCode, message: String) -> PeerReply {
    PeerReply::Err { code, message }
}

fn chat_error(error: &crate::chat::Error) -> PeerReply {
    tracing::debug!(%error, "peer request refused");
    refused(error.code(), error.to_string())
}

/// An accounts failure as the peer may pass it on to its client: a
/// refusal with its message; a failure here is logged, and the peer is
/// told only that it happened.
fn account_error(error: &crate::accounts::Error) -> PeerReply {
    let code = error.code();
    if code == ErrorCode::Internal {
        tracing::error!(%error, "peer request failed");
        return refused(code, "internal server error".to_owned());
    }
    tracing::debug!(%error, "peer request refused");
    refused(code, error.to_string())
}

async fn carry_out(handles: &Handles, request: PeerRequest) -> PeerReply {
    match request {
        PeerRequest::ChangeChat {
            chat_id,
            actor,
            change,
        } => match handles
            .chats
            .local_change(&actor, &chat_id, crate::chat::from_wire(change))
            .await
        {
            Ok(chat) => PeerReply::Chat { chat },
            Err(error) => chat_error(&error),
        },
        PeerRequest::Refresh { refresh_token } => {
            match handles.accounts.refresh(&refresh_token).await {
                Ok(tokens) => PeerReply::Tokens { tokens },
                Err(error) => account_error(&error),
            }
        }
        PeerRequest::CreateDirect { user, peer } => {
            match handles.chats.direct_here(&user, &peer).await {
                Ok((chat, created)) => PeerReply::Direct { chat, created },
                Err(error) => chat_error(&error),
            }
        }
        PeerRequest::CreateGroup {
            owner,
            title,
            members,
            description,
        } => match handles
            .chats
            .create_group(&owner, &title, &members, description.as_deref())
            .await
        {
            Ok(chat) => PeerReply::Chat { chat },
            Err(error) => chat_error(&error),
        },
        PeerRequest::ClaimUsername { username, user_id } => {
            match crate::accounts::claim_username(&handles.db, &username, &user_id).await {
                Ok(()) => PeerReply::Done,
                Err(error) => account_error(&error),
            }
        }
    }
}
