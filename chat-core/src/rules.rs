//! Limits every chat enforces on what it is given.

use protocol::frames::MAX_TEXT_BYTES;
use unicode_segmentation::UnicodeSegmentation as _;

use crate::ChatError;
use crate::io::Action;

/// Largest reaction emoji, in UTF-8 bytes.
pub const MAX_EMOJI_BYTES: usize = 32;

/// Largest group, owner included. A member list longer than this is
/// refused before any per-member work, duplicates or not.
pub const MAX_MEMBERS: usize = 1000;

/// Longest id a client may name (chat, user, device), in bytes. Ids the
/// node makes are 34 bytes; the bound keeps every store key small.
pub const MAX_ID_BYTES: usize = 128;

/// Longest `client_msg_id`, in characters.
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 128;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 256;

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4096;

/// A 1–[`MAX_ID_BYTES`]-byte id; `field` names it in the error.
pub fn validate_id(field: &str, id: &str) -> Result<(), ChatError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(ChatError::Invalid(format!(
            "{field} must be 1 to {MAX_ID_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Bidirectional overrides and isolates, which make a name display as
/// something other than what it holds.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: white space, controls, and the format
/// and filler characters fonts draw as blank.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// What is wrong with a name people see (a title, a display name), if
/// anything: a bidirectional override or isolate, a control character, or
/// nothing visible at all.
pub fn label_problem(label: &str) -> Option<&'static str> {
    if label.chars().any(is_bidi_control) {
        return Some("may not contain bidirectional override or isolate characters");
    }
    if label.chars().any(char::is_control) {
        return Some("may not contain control characters");
    }
    if label.chars().all(is_invisible) {
        return Some("must contain a visible character");
    }
    None
}

/// 1–256 characters, something visible, no bidirectional overrides.
pub fn validate_title(title: &str) -> Result<(), ChatError> {
    let count = title.chars().count();
    if count == 0 || title.trim().is_empty() {
        return Err(ChatError::Invalid("title must not be empty".into()));
    }
    if count > MAX_TITLE_CHARS {
        return Err(ChatError::TooLarge("title is over 256 characters".into()));
    }
    if let Some(problem) = label_problem(title) {
        return Err(ChatError::Invalid(format!("title {problem}")));
    }
    Ok(())
}

/// Up to 4,096 characters.
pub fn validate_description(description: &str) -> Result<(), ChatError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ChatError::TooLarge(
            "description is over 4096 characters".into(),
        ));
    }
    Ok(())
}

/// 1 byte to 64 KiB of text and a 1–128 character idempotency key.
pub fn validate_send(client_msg_id: &str, text: &str) -> Result<(), ChatError> {
    if client_msg_id.is_empty() || client_msg_id.chars().count() > MAX_CLIENT_MSG_ID_CHARS {
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
        assert!(validate_title("\u{202E}evil").is_err());
        assert!(validate_title("\u{200B}\u{2060}").is_err());
        assert!(validate_title("\u{3164}").is_err());
        assert!(validate_title("שלום").is_ok());
        assert!(validate_id("chat_id", &"c".repeat(MAX_ID_BYTES)).is_ok());
        assert!(validate_id("chat_id", &"c".repeat(MAX_ID_BYTES + 1)).is_err());
        assert!(validate_id("chat_id", "").is_err());
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
