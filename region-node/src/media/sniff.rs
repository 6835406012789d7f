//! Checks an upload's declared content type against its first bytes, with
//! the `infer` crate's magic-number signatures.
//!
//! - Bytes of a type `infer` recognises must be declared as that type (or
//!   as `application/octet-stream`, or not at all: then the sniffed type
//!   is recorded).
//! - Bytes it does not recognise (text, or a format it has no signature
//!   for) may not be declared as a type it would have recognised: a PNG
//!   that is not a PNG is refused. Anything else is taken as declared.

use super::Error;

/// The type recorded when neither the uploader nor the bytes say more.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Longest content type accepted.
const MAX_TYPE_BYTES: usize = 127;

/// The content type to record for an upload whose `Content-Type` header
/// was `declared` and whose first bytes are `head`.
pub fn check(declared: Option<&str>, head: &[u8]) -> Result<String, Error> {
    let declared = declared.map(essence).transpose()?;
    let sniffed = infer::get(head).map(|t| t.mime_type());
    match (declared.as_deref(), sniffed) {
        (None | Some(OCTET_STREAM), sniffed) => Ok(sniffed.unwrap_or(OCTET_STREAM).to_owned()),
        (Some(declared), Some(sniffed)) if declared == sniffed => Ok(declared.to_owned()),
        (Some(declared), Some(sniffed)) => Err(Error::TypeMismatch {
            declared: declared.to_owned(),
            sniffed: sniffed.to_owned(),
        }),
        (Some(declared), None) if infer::is_mime_supported(declared) => Err(Error::TypeMismatch {
            declared: declared.to_owned(),
            sniffed: "not a known binary type".to_owned(),
        }),
        (Some(declared), None) => Ok(declared.to_owned()),
    }
}

/// `type/subtype` of a `Content-Type` value, lowercase, without parameters.
fn essence(value: &str) -> Result<String, Error> {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let well_formed = essence.len() <= MAX_TYPE_BYTES
        && essence
            .split_once('/')
            .is_some_and(|(kind, sub)| token(kind) && token(sub));
    if well_formed {
        Ok(essence)
    } else {
        Err(Error::Invalid(format!(
            "Content-Type {:?} is not a type/subtype",
            value.chars().take(MAX_TYPE_BYTES).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn matching_types_are_kept() {
        assert_eq!(check(Some("image/png"), PNG).unwrap(), "image/png");
        assert_eq!(
            check(Some("text/plain; charset=utf-8"), b"hello").unwrap(),
            "text/plain"
        );
    }

    #[test]
    fn undeclared_types_are_sniffed() {
        assert_eq!(check(None, PNG).unwrap(), "image/png");
        assert_eq!(check(Some(OCTET_STREAM), PNG).unwrap(), "image/png");
        assert_eq!(check(None, b"hello").unwrap(), OCTET_STREAM);
    }

    #[test]
    fn lies_are_refused() {
        assert!(matches!(
            check(Some("image/png"), b"just text"),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            check(Some("text/plain"), PNG),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            check(Some("image/jpeg"), PNG),
            Err(Error::TypeMismatch { .. })
        ));
    }

    #[test]
    fn malformed_types_are_invalid() {
        for bad in ["", "png", "image/", "/png", "image/png png"] {
            assert!(
                matches!(check(Some(bad), PNG), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
    }
}
