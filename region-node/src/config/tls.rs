//! `[tls]`: serving HTTPS and WSS from certificate files.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[tls]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the leaf certificate.
    pub key_file: Option<PathBuf>,
    /// Sends `Strict-Transport-Security` on every answer (default: on).
    pub hsts: Option<bool>,
}

/// Validated `[tls]`: the node serves HTTPS and WSS only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// Whether answers carry `Strict-Transport-Security`.
    pub hsts: bool,
}

impl TlsConfig {
    /// Both files or neither: a certificate without its key (or the
    /// reverse) is a mistake, not a request for plain HTTP.
    pub(crate) fn from_parts(
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
        hsts: Option<bool>,
    ) -> Result<Option<Self>, ConfigError> {
        match (cert_file, key_file) {
            (Some(cert_file), Some(key_file)) => Ok(Some(Self {
                cert_file,
                key_file,
                hsts: hsts.unwrap_or(true),
            })),
            (None, None) if hsts == Some(true) => Err(invalid(
                "tls.hsts",
                "HSTS needs TLS: set tls.cert_file and tls.key_file",
            )),
            (None, None) => Ok(None),
            (Some(_), None) => Err(invalid(
                "tls.key_file",
                "a certificate needs its key (--tls-key)",
            )),
            (None, Some(_)) => Err(invalid(
                "tls.cert_file",
                "a key needs its certificate (--tls-cert)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_or_neither() {
        assert_eq!(TlsConfig::from_parts(None, None, None).unwrap(), None);
        let on = TlsConfig::from_parts(Some("c.pem".into()), Some("k.pem".into()), None)
            .unwrap()
            .unwrap();
        assert!(on.hsts, "HSTS is on by default with TLS");
        assert!(TlsConfig::from_parts(Some("c.pem".into()), None, None).is_err());
        assert!(TlsConfig::from_parts(None, Some("k.pem".into()), None).is_err());
        assert!(TlsConfig::from_parts(None, None, Some(true)).is_err());
    }
}
