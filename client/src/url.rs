//! Building request URLs: percent-encoding path segments and query values,
//! and the WebSocket URL of a server (`http` → `ws`, `https` → `wss`).

use crate::error::ClientError;

/// Percent-encodes everything but RFC 3986 unreserved characters, so an
/// opaque id or token is safe as a path segment or query value.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `{base}/v1/ws?token=...` with the scheme switched to `ws` or `wss`.
/// `base` may carry a path prefix; a trailing slash is ignored.
pub fn ws_url(base: &str, access_token: &str) -> Result<String, ClientError> {
    let base = base.trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        return Err(ClientError::Url(format!(
            "{base:?} is not an http(s) or ws(s) URL"
        )));
    };
    Ok(format!(
        "{rest}/v1/ws?token={}",
        encode_component(access_token)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_pass_and_others_are_escaped() {
        assert_eq!(encode_component("c_0123abcdef"), "c_0123abcdef");
        assert_eq!(encode_component("a.b-c~d"), "a.b-c~d");
        assert_eq!(encode_component("a/b c?&="), "a%2Fb%20c%3F%26%3D");
        assert_eq!(encode_component("é"), "%C3%A9");
        assert_eq!(encode_component(""), "");
    }

    #[test]
    fn ws_url_switches_the_scheme_and_keeps_the_prefix() {
        assert_eq!(
            ws_url("http://127.0.0.1:8080", "t").unwrap(),
            "ws://127.0.0.1:8080/v1/ws?token=t"
        );
        assert_eq!(
            ws_url("https://chat.example/api/", "a.b_c").unwrap(),
            "wss://chat.example/api/v1/ws?token=a.b_c"
        );
        assert_eq!(
            ws_url("ws://h:1", "x+y/z=").unwrap(),
            "ws://h:1/v1/ws?token=x%2By%2Fz%3D"
        );
        assert!(ws_url("ftp://h", "t").is_err());
        assert!(ws_url("h:8080", "t").is_err());
    }
}
