//! HTTPS and WSS on the client edge: the server's rustls configuration from
//! PEM files, serving a router over TLS with a draining shutdown, and the
//! `Strict-Transport-Security` header.
//!
//! The node offers ALPN `http/1.1` only: WebSocket upgrades are HTTP/1.1,
//! and every client of the API speaks it.

pub mod dev;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::response::Response;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::config::TlsConfig;

/// How long open connections get to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// The HSTS policy: a year, as browsers expect of a site that is HTTPS only.
const HSTS: &str = "max-age=31536000";

/// Why the TLS configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate and key (e.g. they do not match).
    #[error("certificate and key: {0}")]
    Rustls(#[from] rustls::Error),
    /// A development certificate could not be made.
    #[error("generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

fn file_error(path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Builds the server side of TLS from the configured PEM files.
pub fn server_config(config: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_file_iter(&config.cert_file)
        .map_err(|e| file_error(&config.cert_file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&config.cert_file, e))?;
    if chain.is_empty() {
        return Err(file_error(&config.cert_file, "holds no certificate"));
    }
    warn_if_readable_by_others(&config.key_file);
    let key = PrivateKeyDer::from_pem_file(&config.key_file)
        .map_err(|e| file_error(&config.key_file, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

#[cfg(unix)]
fn warn_if_readable_by_others(key: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(key)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %key.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the TLS key is readable by other users; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_key: &Path) {}

/// Serves `app` over TLS on `listener` until `shutdown` resolves, then lets
/// open requests finish for a while.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(Some(DRAIN));
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
    axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config)?
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// Adds `Strict-Transport-Security` to an answer (HTTPS nodes only).
pub async fn hsts(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    response
}
