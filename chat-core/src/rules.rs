//! Limits every chat enforces on what it is given.

use protocol::frames::MAX_TEXT_BYTES;

use crate::ChatError;

/// Largest group, owner included.
pub const MAX_MEMBERS: usize = 1000;

/// 1–256 characters, not blank.
pub fn validate_title(title: &str) -> Result<(), ChatError> {
    let count = title.chars().count();
    if count == 0 || title.trim().is_empty() {
        return Err(ChatError::Invalid("title must not be empty".into()));
    }
    if count > 256 {
        return Err(ChatError::TooLarge("title is over 256 characters".into()));
    }
    Ok(())
}

/// Up to 4,096 characters.
pub fn validate_description(description: &str) -> Result<(), ChatError> {
    if description.chars().count() > 4096 {
        return Err(ChatError::TooLarge(
            "description is over 4096 characters".into(),
        ));
    }
    Ok(())
}

/// 1 byte to 64 KiB of text and a 1–128 character idempotency key.
pub fn validate_send(client_msg_id: &str, text: &str) -> Result<(), ChatError> {
    if client_msg_id.is_empty() || client_msg_id.chars().count() > 128 {
        return Err(ChatError::Invalid(
            "client_msg_id must be 1 to 128 characters".into(),
        ));
    }
    if text.is_empty() {
        return Err(ChatError::Invalid("text must not be empty".into()));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ChatError::TooLarge("text is over 64 KiB".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_at_their_edges() {
        assert!(validate_title("a").is_ok());
        assert!(validate_title("  ").is_err());
        assert!(validate_title(&"é".repeat(256)).is_ok());
        assert!(matches!(
            validate_title(&"é".repeat(257)),
            Err(ChatError::TooLarge(_))
        ));
        assert!(validate_description(&"d".repeat(4096)).is_ok());
        assert!(validate_description(&"d".repeat(4097)).is_err());
        assert!(validate_send("m", "t").is_ok());
        assert!(validate_send("", "t").is_err());
        assert!(validate_send(&"m".repeat(129), "t").is_err());
        assert!(validate_send("m", "").is_err());
        assert!(validate_send("m", &"t".repeat(MAX_TEXT_BYTES)).is_ok());
        assert!(matches!(
            validate_send("m", &"t".repeat(MAX_TEXT_BYTES + 1)),
            Err(ChatError::TooLarge(_))
        ));
    }
}
