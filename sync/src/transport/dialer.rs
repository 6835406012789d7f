//! The dialing side of a region pair: connect, handshake, run the link until
//! it drops, then reconnect after a capped, jittered exponential backoff.
//! A refusal is retried too, because its cause (a skewed clock, a missing
//! certificate) may be fixed while the region runs.

use std::sync::Arc;

use protocol::backoff::Backoff;
use quinn::Connection;
use tracing::{debug, info, warn};

use super::certs::region_server_name;
use super::config::PeerSpec;
use super::events::TransportEvent;
use super::handshake::{self, HandshakeError, refusal_reason};
use super::link;
use super::shared::Shared;

/// Keeps a link to `spec` up until shutdown.
pub(crate) async fn dial_loop(shared: Arc<Shared>, spec: PeerSpec) {
    let cancel = shared.cancel.clone();
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = redial_forever(shared, spec) => {}
    }
}

async fn redial_forever(shared: Arc<Shared>, spec: PeerSpec) {
    let mut backoff = Backoff::new(shared.config.backoff_min, shared.config.backoff_max);
    loop {
        match dial_once(&shared, &spec).await {
            Ok(conn) => {
                info!(addr = %spec.quic_addr, "link up");
                backoff.reset();
                link::run(shared.clone(), spec.region.clone(), conn).await;
            }
            Err(HandshakeError::Refused { peer, reason }) => {
                warn!(%reason, "refused");
                shared.emit(TransportEvent::Refused { peer, reason }).await;
            }
            Err(HandshakeError::Failed(error)) => {
                debug!(%error, addr = %spec.quic_addr, "dial failed");
            }
        }
        // Random per process and per pair, so restarted meshes do not retry in step.
        tokio::time::sleep(backoff.next_delay(rand::random())).await;
    }
}

async fn dial_once(shared: &Shared, spec: &PeerSpec) -> Result<Connection, HandshakeError> {
    let failed = |e: String| HandshakeError::Failed(e);
    let name = region_server_name(&spec.region).map_err(|e| failed(e.to_string()))?;
    let connecting = shared
        .endpoint
        .connect(spec.quic_addr, &name)
        .map_err(|e| failed(e.to_string()))?;
    let conn = match tokio::time::timeout(shared.config.handshake_timeout, connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(error)) => {
            return Err(match refusal_reason(&error) {
                Some(reason) => HandshakeError::Refused {
                    peer: spec.region.clone(),
                    reason,
                },
                None => failed(error.to_string()),
            });
        }
        Err(_) => return Err(failed("TLS handshake timed out".into())),
    };
    handshake::as_dialer(shared, &spec.region, &conn).await?;
    Ok(conn)
}
