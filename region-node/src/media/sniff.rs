//! Checks an upload's declared content type against its first bytes, with
//! the `infer` crate's magic-number signatures.
//!
//! - Bytes of a type `infer` recognises must be declared as that type (or
//!   as `application/octet-stream`, or not at all: then the sniffed type
//!   is recorded).
//! - Bytes it does not recognise (text, or a format it has no signature
//!   for) may not be declared as a type it would have recognised: a PNG
//!   that is not a PNG is refused. Anything else is taken as declared.
//! - Names browsers send for the same type (`image/jpg`,
//!   `application/x-zip-compressed`, `audio/wav`, …) count as that type; a
//!   zip-based format (OOXML, OpenDocument, EPUB, JAR, APK) may be declared
//!   for bytes sniffed as a plain zip and the reverse; text declared as
//!   `text/plain` stays `text/plain` whatever text `infer` sees (HTML, XML).

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
        (Some(declared), Some(sniffed)) if same_type(declared, sniffed) => Ok(declared.to_owned()),
        (Some(declared), Some(sniffed)) => Err(Error::TypeMismatch {
            declared: declared.to_owned(),
            sniffed: sniffed.to_owned(),
        }),
        (Some(declared), None) if infer::is_mime_supported(canonical(declared)) => {
            Err(Error::TypeMismatch {
                declared: declared.to_owned(),
                sniffed: "not a known binary type".to_owned(),
            })
        }
        (Some(declared), None) => Ok(declared.to_owned()),
    }
}

/// Whether a declared type names what the bytes were sniffed as.
fn same_type(declared: &str, sniffed: &str) -> bool {
    let declared = canonical(declared);
    declared == sniffed
        || (sniffed == ZIP && zip_based(declared))
        || (declared == ZIP && zip_based(sniffed))
        || (declared == "text/plain" && sniffed.starts_with("text/"))
}

const ZIP: &str = "application/zip";

/// The name `infer` uses for a type some clients call otherwise.
fn canonical(mime: &str) -> &str {
    match mime {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "image/x-png" => "image/png",
        "application/x-zip-compressed" | "application/x-zip" => ZIP,
        "application/x-pdf" => "application/pdf",
        "audio/wav" | "audio/wave" | "audio/vnd.wave" => "audio/x-wav",
        "audio/mp3" => "audio/mpeg",
        other => other,
    }
}

/// Formats that are zip archives inside.
fn zip_based(mime: &str) -> bool {
    mime.ends_with("+zip")
        || mime.starts_with("application/vnd.openxmlformats-officedocument.")
        || mime.starts_with("application/vnd.oasis.opendocument.")
        || matches!(
            mime,
            "application/java-archive" | "application/vnd.android.package-archive"
        )
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
    fn other_names_of_a_type_and_zip_families_match() {
        let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
        assert_eq!(check(Some("image/jpg"), jpeg).unwrap(), "image/jpg");
        let zip = b"PK\x03\x04\x14\0\0\0\x08\0";
        assert!(check(Some("application/x-zip-compressed"), zip).is_ok());
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        assert_eq!(check(Some(docx), zip).unwrap(), docx);
        assert_eq!(
            check(Some("text/plain"), b"<html><body>hi</body></html>").unwrap(),
            "text/plain"
        );
        assert!(matches!(
            check(Some("image/png"), zip),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            check(Some("image/jpg"), b"not a jpeg"),
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
