//! The hello exchange that turns a TLS connection into an admitted peer link.
//!
//! The dialer opens a bidirectional control stream and sends its hello; the
//! acceptor checks it (certificate names the same region, dial direction,
//! admission hook) and answers with its own hello; the dialer checks that
//! one and finishes the stream, which is the acceptor's go-ahead. A refusal
//! closes the connection with [`close::REFUSED`] and the reason, so both
//! sides can report it.

use std::time::Duration;

use quinn::{Connection, ConnectionError};
use rustls::pki_types::CertificateDer;

use super::certs::check_region_certificate;
use super::framing::{Hello, MAX_HELLO, read_frame, write_frame};
use super::shared::{Shared, close};

/// How a handshake failed.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// Someone said no: this side's checks or the peer's. Reported to the caller.
    Refused { peer: String, reason: String },
    /// The link failed before anyone decided (timeouts, lost packets, garbage).
    Failed(String),
}

/// The dialer's half; `peer` is the region the TLS layer already verified.
pub(crate) async fn as_dialer(
    shared: &Shared,
    peer: &str,
    conn: &Connection,
) -> Result<(), HandshakeError> {
    let limit = shared.config.handshake_timeout;
    let exchange = async {
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| fail(peer, conn, e))?;
        write_frame(&mut send, &our_hello(shared).encode(), MAX_HELLO)
            .await
            .map_err(|e| fail(peer, conn, e))?;
        let theirs = read_hello(&mut recv)
            .await
            .map_err(|e| fail(peer, conn, e))?;
        if theirs.region != peer {
            let reason = format!("expected region {peer}, hello says {}", theirs.region);
            return Err(refuse(conn, peer, reason));
        }
        if let Err(reason) = shared.admission.admit(peer, theirs.hlc) {
            return Err(refuse(conn, peer, reason));
        }
        // Finishing the control stream is the go-ahead for the acceptor.
        send.finish().map_err(|e| fail(peer, conn, e))?;
        Ok(())
    };
    within(limit, peer, conn, exchange).await
}

/// The acceptor's half; returns the admitted peer's region.
pub(crate) async fn as_acceptor(
    shared: &Shared,
    conn: &Connection,
) -> Result<String, HandshakeError> {
    let limit = shared.config.handshake_timeout;
    let exchange = async {
        let (mut send, mut recv) = conn.accept_bi().await.map_err(|e| fail("", conn, e))?;
        let theirs = read_hello(&mut recv).await.map_err(|e| fail("", conn, e))?;
        let peer = theirs.region.clone();
        let leaf =
            peer_leaf(conn).ok_or_else(|| refuse(conn, &peer, "no client certificate".into()))?;
        if let Err(e) = check_region_certificate(&leaf, &peer) {
            return Err(refuse(conn, &peer, e.to_string()));
        }
        if peer.as_str() >= shared.region() {
            let reason = format!(
                "{peer} must wait for {} to dial (the lower name dials)",
                shared.region()
            );
            return Err(refuse(conn, &peer, reason));
        }
        if let Err(reason) = shared.admission.admit(&peer, theirs.hlc) {
            return Err(refuse(conn, &peer, reason));
        }
        write_frame(&mut send, &our_hello(shared).encode(), MAX_HELLO)
            .await
            .map_err(|e| fail(&peer, conn, e))?;
        let _ = send.finish();
        // The dialer either finishes its stream (admitted) or closes the
        // connection with its reason.
        match read_frame(&mut recv, MAX_HELLO).await {
            Ok(None) => Ok(peer),
            Ok(Some(_)) => Err(refuse(conn, &peer, "unexpected data after hello".into())),
            Err(e) => Err(fail(&peer, conn, e)),
        }
    };
    within(limit, "", conn, exchange).await
}

/// Why `err` is a refusal worth reporting rather than a transient failure:
/// an application close with the refusal code, or a TLS alert.
pub(crate) fn refusal_reason(err: &ConnectionError) -> Option<String> {
    match err {
        ConnectionError::ApplicationClosed(c) if c.error_code == close::REFUSED => {
            Some(String::from_utf8_lossy(&c.reason).into_owned())
        }
        ConnectionError::ConnectionClosed(c) if is_tls(u64::from(c.error_code)) => {
            Some(format!("peer rejected TLS: {c}"))
        }
        ConnectionError::TransportError(e) if is_tls(u64::from(e.code)) => {
            Some(format!("TLS failed: {e}"))
        }
        _ => None,
    }
}

/// QUIC carries TLS alerts as transport codes 0x100..=0x1ff.
fn is_tls(code: u64) -> bool {
    code & !0xff == 0x100
}

fn our_hello(shared: &Shared) -> Hello {
    Hello {
        region: shared.region().to_string(),
        hlc: shared.hlc.now(),
    }
}

async fn read_hello(recv: &mut quinn::RecvStream) -> Result<Hello, String> {
    let bytes = read_frame(recv, MAX_HELLO)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("stream ended before the hello")?;
    Hello::decode(&bytes).map_err(|e| format!("bad hello: {e}"))
}

fn peer_leaf(conn: &Connection) -> Option<CertificateDer<'static>> {
    conn.peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()?
        .into_iter()
        .next()
}

fn refuse(conn: &Connection, peer: &str, reason: String) -> HandshakeError {
    conn.close(close::REFUSED, reason.as_bytes());
    HandshakeError::Refused {
        peer: peer.to_string(),
        reason,
    }
}

/// Turns a stream error into the connection's real story when it has one,
/// which is how the peer's refusal reaches this side.
fn fail(peer: &str, conn: &Connection, error: impl ToString) -> HandshakeError {
    match conn.close_reason() {
        Some(closed) => match refusal_reason(&closed) {
            Some(reason) if !peer.is_empty() => HandshakeError::Refused {
                peer: peer.to_string(),
                reason,
            },
            _ => HandshakeError::Failed(closed.to_string()),
        },
        None => HandshakeError::Failed(error.to_string()),
    }
}

async fn within<T>(
    limit: Duration,
    peer: &str,
    conn: &Connection,
    exchange: impl std::future::Future<Output = Result<T, HandshakeError>>,
) -> Result<T, HandshakeError> {
    match tokio::time::timeout(limit, exchange).await {
        Ok(result) => result,
        Err(_) => {
            conn.close(close::PROTOCOL, b"handshake timed out");
            Err(HandshakeError::Failed(format!(
                "handshake with {peer:?} timed out after {limit:?}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_alert_codes_are_recognised() {
        assert!(is_tls(0x100));
        assert!(is_tls(0x12a));
        assert!(is_tls(0x1ff));
        assert!(!is_tls(0x0a));
        assert!(!is_tls(0x200));
    }
}
