//! Limits every chat enforces on what it is given.

use protocol::frames::MAX_TEXT_BYTES;
use unicode_segmentation::UnicodeSegmentation as _;

use crate::ChatError;
use crate::io::Action;

/// Largest reaction emoji, in UTF-8 bytes.
pub const MAX_EMOJI_BYTES: usize = 32;

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

/// A user's write: a text message and an edit carry 1 byte to 64 KiB of
/// text, a delete and a reaction none; a reaction carries one emoji.
pub fn validate_write(client_msg_id: &str, text: &str, action: &Action) -> Result<(), ChatError> {
    match action {
        Action::Text { .. } | Action::Edit { .. } => validate_send(client_msg_id, text),
        Action::Delete { .. } | Action::React { .. } => {
            validate_send(client_msg_id, "-")?;
            if !text.is_empty() {
                return Err(ChatError::Invalid(
                    "deletes and reactions carry no text".into(),
                ));
            }
            if let Action::React { emoji, .. } = action {
                validate_emoji(emoji)?;
            }
            Ok(())
        }
    }
}

/// One emoji (a single grapheme that Unicode lists as an emoji, skin tones
/// and sequences included), at most 32 bytes.
pub fn validate_emoji(emoji: &str) -> Result<(), ChatError> {
    if emoji.len() > MAX_EMOJI_BYTES {
        return Err(ChatError::TooLarge(format!(
            "a reaction is one emoji of at most {MAX_EMOJI_BYTES} bytes"
        )));
    }
    if emoji.graphemes(true).count() != 1 || emojis::get(emoji).is_none() {
        return Err(ChatError::Invalid(
            "a reaction must be exactly one emoji".into(),
        ));
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

    #[test]
    fn a_reaction_is_exactly_one_emoji() {
        for ok in ["👍", "🎉", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷"] {
            assert_eq!(validate_emoji(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a", "ok", "👍👍", "👍 ", ":+1:", "1"] {
            assert!(
                matches!(validate_emoji(bad), Err(ChatError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            validate_emoji(&"👍".repeat(250_000)),
            Err(ChatError::TooLarge(_))
        ));
    }

    #[test]
    fn deletes_and_reactions_carry_no_text() {
        let delete = Action::Delete { target_seq: 1 };
        assert!(validate_write("m", "", &delete).is_ok());
        assert!(validate_write("m", "x", &delete).is_err());
        assert!(validate_write("", "", &delete).is_err());
        let edit = Action::Edit { target_seq: 1 };
        assert!(validate_write("m", "", &edit).is_err());
        assert!(validate_write("m", "new", &edit).is_ok());
        let react = Action::React {
            target_seq: 1,
            emoji: "no".into(),
            on: true,
        };
        assert!(validate_write("m", "", &react).is_err());
    }
}
