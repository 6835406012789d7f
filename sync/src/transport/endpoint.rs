//! The region's one QUIC endpoint (server and client at once) and its accept
//! loop, which runs the acceptor's handshake for each inbound connection.

use std::sync::Arc;

use tracing::{Instrument, debug, info_span, warn};

use super::config::TransportConfig;
use super::error::TransportError;
use super::events::TransportEvent;
use super::handshake::{self, HandshakeError};
use super::link;
use super::shared::{Shared, close};
use super::tls;

/// Binds the UDP socket and sets up both TLS roles.
pub(crate) fn bind(config: &TransportConfig) -> Result<quinn::Endpoint, TransportError> {
    let server = tls::server_config(config)?;
    let client = tls::client_config(config)?;
    let mut endpoint =
        quinn::Endpoint::server(server, config.bind).map_err(|source| TransportError::Bind {
            addr: config.bind,
            source,
        })?;
    endpoint.set_default_client_config(client);
    Ok(endpoint)
}

/// Accepts inbound connections until shutdown, then closes the endpoint.
pub(crate) async fn accept_loop(shared: Arc<Shared>) {
    loop {
        let incoming = tokio::select! {
            _ = shared.cancel.cancelled() => break,
            incoming = shared.endpoint.accept() => match incoming {
                Some(incoming) => incoming,
                None => break,
            },
        };
        let remote = incoming.remote_address();
        let task = accept_one(shared.clone(), incoming);
        shared
            .tasks
            .spawn(task.instrument(info_span!("inbound", %remote)));
    }
    shared.close_all(close::SHUTDOWN, b"shutdown");
}

async fn accept_one(shared: Arc<Shared>, incoming: quinn::Incoming) {
    let limit = shared.config.handshake_timeout;
    let conn = match tokio::time::timeout(limit, incoming).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(error)) => {
            warn!(%error, "inbound TLS handshake failed");
            return;
        }
        Err(_) => {
            debug!("inbound TLS handshake timed out");
            return;
        }
    };
    match handshake::as_acceptor(&shared, &conn).await {
        Ok(peer) => {
            let span = info_span!("peer", region = %peer);
            link::run(shared.clone(), peer, conn).instrument(span).await;
        }
        Err(HandshakeError::Refused { peer, reason }) => {
            warn!(%peer, %reason, "inbound peer refused");
            shared.emit(TransportEvent::Refused { peer, reason }).await;
        }
        Err(HandshakeError::Failed(error)) => {
            debug!(%error, "inbound handshake failed");
        }
    }
}
