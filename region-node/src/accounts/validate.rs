//! Rules for usernames, passwords, display names, status lines and media
//! ids.

use super::Error;

/// 3–32 of `a-z 0-9 _ . -`.
pub fn username(name: &str) -> Result<(), Error> {
    if !(3..=32).contains(&name.len()) {
        return Err(Error::invalid("username must be 3 to 32 characters long"));
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b);
    if !name.bytes().all(allowed) {
        return Err(Error::invalid(
            "username may contain only a-z, 0-9, '_', '.' and '-'",
        ));
    }
    Ok(())
}

/// At least 8 characters, at most 1024 bytes (the hash input is bounded).
pub fn password(password: &str) -> Result<(), Error> {
    if password.chars().count() < 8 {
        return Err(Error::invalid(
            "password must be at least 8 characters long",
        ));
    }
    if password.len() > 1024 {
        return Err(Error::invalid("password must be at most 1024 bytes"));
    }
    Ok(())
}

/// 1–64 characters that show (see [`visible_text`]).
pub fn display_name(name: &str) -> Result<(), Error> {
    let count = name.chars().count();
    if count == 0 || count > 64 || name.trim().is_empty() {
        return Err(Error::invalid(
            "display_name must be 1 to 64 characters and not blank",
        ));
    }
    visible_text("display_name", name)
}

/// Text shown to other people as a name or a status: no control
/// characters, no bidirectional overrides, and not only invisible
/// characters. `field` names it in the error.
pub fn visible_text(field: &str, text: &str) -> Result<(), Error> {
    match chat_core::rules::label_problem(text) {
        Some(problem) => Err(Error::invalid(format!("{field} {problem}"))),
        None => Ok(()),
    }
}

/// The id of uploaded media: 1 to `max` bytes of `A-Z a-z 0-9 _ -`.
pub fn media_id(field: &str, id: &str, max: usize) -> Result<(), Error> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if id.is_empty() || id.len() > max || !id.bytes().all(allowed) {
        return Err(Error::invalid(format!(
            "{field} must be a media id: 1 to {max} of A-Z, a-z, 0-9, '_' and '-'"
        )));
    }
    Ok(())
}

/// A device name: up to 64 characters, no control characters.
pub fn device_name(name: &str) -> Result<(), Error> {
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "device_name must be at most 64 characters without control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for good in ["abc", "alice_01", "a.b-c", &"x".repeat(32)] {
            assert!(username(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            &"x".repeat(33),
            "Alice",
            "al ice",
            "al@ce",
            "ålice",
            "",
        ] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("12345678").is_ok());
        assert!(password("1234567").is_err());
        assert!(password(&"p".repeat(1025)).is_err());
    }

    #[test]
    fn display_names() {
        assert!(display_name("Alice Liddell").is_ok());
        assert!(display_name("   ").is_err());
        assert!(display_name("a\u{0}b").is_err());
        assert!(display_name(&"a".repeat(65)).is_err());
        assert!(display_name("\u{200B}\u{200D}").is_err());
        assert!(display_name("Zoë 🙂").is_ok());
        assert!(display_name("evil\u{202E}gpj.exe").is_err());
        assert!(display_name("a\u{2067}b").is_err());
        assert!(display_name("\u{200B}\u{200B}").is_err());
        assert!(display_name("\u{3164}").is_err());
        assert!(display_name("a\u{200D}b").is_ok());
    }

    #[test]
    fn media_ids() {
        assert!(media_id("f", "m_0123abcDEF-x", 128).is_ok());
        assert!(media_id("f", "", 128).is_err());
        assert!(media_id("f", "../etc/passwd", 128).is_err());
        assert!(media_id("f", "m id", 128).is_err());
        assert!(media_id("f", &"m".repeat(129), 128).is_err());
    }
}
