//! [`Tls`]: the certificates the SDK trusts for `https://` and `wss://`
//! servers — the system's roots, plus a CA file when one is given (a
//! private CA, or the one `region-node dev-cert` makes). Certificates are
//! always verified; there is no switch to turn that off.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why a trust configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds no certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Which server certificates to trust; cheap to clone.
#[derive(Clone, Debug)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// The system's root certificates (loaded once per process).
    pub fn system() -> Self {
        static SYSTEM: OnceLock<Tls> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                Self::from_roots(system_roots()).expect("the default TLS configuration builds")
            })
            .clone()
    }

    /// The system's roots and the CA certificates in the PEM file at `path`.
    pub fn with_ca_file(path: &Path) -> Result<Self, TlsError> {
        let bad = |reason: String| TlsError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("holds no certificate".into()));
        }
        let mut roots = system_roots();
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        Self::from_roots(roots)
    }

    fn from_roots(roots: RootCertStore) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// An HTTP client that verifies servers against these roots.
    pub fn http_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .use_preconfigured_tls((*self.config).clone())
            .build()
            .expect("an HTTP client with a preconfigured TLS configuration builds")
    }

    /// The rustls configuration, for WebSocket connections.
    pub fn rustls(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }
}

impl Default for Tls {
    fn default() -> Self {
        Self::system()
    }
}

/// The platform's trusted roots; certificates it cannot parse are skipped
/// (and logged), as browsers do.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "loading a system root certificate");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "system root certificates");
    roots
}
