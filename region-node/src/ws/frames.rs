//! Client frames as the session accepts them: decoded strictly (unknown
//! fields are refused, as over HTTP) and checked against the limits
//! before anything reads the store; and which transport errors mean a
//! frame was over the size limit.

use chat_core::rules::{MAX_CLIENT_MSG_ID_CHARS, validate_id};
use protocol::ErrorCode;
use protocol::frames::ClientFrame;

use crate::error::ApiError;

/// Users named in one `presence_subscribe` at most.
pub const MAX_PRESENCE_USERS_PER_FRAME: usize = 1000;

/// Chats named in one `sync` at most (its cursors).
pub const MAX_SYNC_CURSORS: usize = 10_000;

/// Decodes a text frame and checks its ids and lists.
pub fn checked(text: &str) -> Result<ClientFrame, ApiError> {
    let frame: ClientFrame = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("malformed frame: {e}")))?;
    match &frame {
        ClientFrame::Send {
            chat_id,
            client_msg_id,
            ..
        }
        | ClientFrame::Edit {
            chat_id,
            client_msg_id,
            ..
        }
        | ClientFrame::Delete {
            chat_id,
            client_msg_id,
            ..
        }
        | ClientFrame::React {
            chat_id,
            client_msg_id,
            ..
        } => {
            validate_id("chat_id", chat_id)?;
            if client_msg_id.chars().count() > MAX_CLIENT_MSG_ID_CHARS {
                return Err(ApiError::bad_request(format!(
                    "client_msg_id must be 1 to {MAX_CLIENT_MSG_ID_CHARS} characters"
                )));
            }
        }
        ClientFrame::Ack { chat_id, .. }
        | ClientFrame::Read { chat_id, .. }
        | ClientFrame::Typing { chat_id, .. } => validate_id("chat_id", chat_id)?,
        ClientFrame::Sync { cursors } => {
            if cursors.len() > MAX_SYNC_CURSORS {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("at most {MAX_SYNC_CURSORS} cursors per sync"),
                ));
            }
            for chat_id in cursors.keys() {
                validate_id("cursors", chat_id)?;
            }
        }
        ClientFrame::PresenceSubscribe { user_ids } => {
            if user_ids.len() > MAX_PRESENCE_USERS_PER_FRAME {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("at most {MAX_PRESENCE_USERS_PER_FRAME} users per subscription"),
                ));
            }
            for user in user_ids {
                validate_id("user_ids", user)?;
            }
        }
        ClientFrame::Ping { .. } => {}
    }
    Ok(frame)
}

/// Whether a read error is the transport refusing a frame over its size limit.
pub fn transport_too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_strict_and_bounded() {
        let ok = r#"{"type":"send","chat_id":"c_1","client_msg_id":"m","text":"t"}"#;
        assert!(checked(ok).is_ok());
        let extra = r#"{"type":"send","chat_id":"c_1","client_msg_id":"m","text":"t","x":1}"#;
        assert_eq!(checked(extra).unwrap_err().code, ErrorCode::BadRequest);
        let long = format!(
            r#"{{"type":"read","chat_id":"{}","seq":1}}"#,
            "c".repeat(129)
        );
        assert_eq!(checked(&long).unwrap_err().code, ErrorCode::BadRequest);
        let many = serde_json::json!({"type": "presence_subscribe", "user_ids": vec!["u"; 1001]});
        assert_eq!(
            checked(&many.to_string()).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }
}
