//! quinn client and server configurations for mutual TLS inside the mesh:
//! TLS 1.3 only, the mesh CA as the only root on both sides, client
//! certificates required, and explicit keep-alive and idle timeouts so a
//! dead link is noticed in seconds.

use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;

use super::config::TransportConfig;
use super::error::TransportError;

/// The ALPN protocol of the mesh link; bump it when the wire format changes.
pub const ALPN: &[u8] = b"chatmesh-sync/1";

fn provider() -> Arc<CryptoProvider> {
    // Explicit, so nothing depends on a process-wide default provider.
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(config: &TransportConfig) -> Result<Arc<RootCertStore>, TransportError> {
    let mut roots = RootCertStore::empty();
    roots.add(config.identity.ca.clone())?;
    Ok(Arc::new(roots))
}

fn transport(config: &TransportConfig) -> Result<Arc<quinn::TransportConfig>, TransportError> {
    let idle = quinn::IdleTimeout::try_from(config.idle_timeout)
        .map_err(|e| TransportError::Config(format!("idle_timeout: {e}")))?;
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(config.keep_alive))
        .max_idle_timeout(Some(idle))
        .datagram_receive_buffer_size(Some(1024 * 1024));
    Ok(Arc::new(t))
}

/// The server side: requires a client certificate signed by the mesh CA.
pub(crate) fn server_config(
    config: &TransportConfig,
) -> Result<quinn::ServerConfig, TransportError> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(roots(config)?, provider()).build()?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            config.identity.chain.clone(),
            config.identity.key.clone_key(),
        )?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    server.transport_config(transport(config)?);
    Ok(server)
}

/// The client side: trusts only the mesh CA and presents this region's certificate.
pub(crate) fn client_config(
    config: &TransportConfig,
) -> Result<quinn::ClientConfig, TransportError> {
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(config)?)
        .with_client_auth_cert(
            config.identity.chain.clone(),
            config.identity.key.clone_key(),
        )?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let mut client = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls)?));
    client.transport_config(transport(config)?);
    Ok(client)
}
