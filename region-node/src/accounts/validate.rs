//! Rules for usernames, passwords and display names.

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

/// 1–64 characters, something visible, no control characters or
/// bidirectional overrides.
pub fn display_name(name: &str) -> Result<(), Error> {
    let count = name.chars().count();
    if count == 0 || count > 64 || name.trim().is_empty() {
        return Err(Error::invalid(
            "display_name must be 1 to 64 characters and not blank",
        ));
    }
    if let Some(problem) = chat_core::rules::label_problem(name) {
        return Err(Error::invalid(format!("display_name {problem}")));
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
        assert!(display_name("\u{202E}gnp.exe").is_err());
        assert!(display_name("\u{200B}\u{200D}").is_err());
    }
}
