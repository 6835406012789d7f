//! Helpers shared by the transport integration tests and the link proxy's
//! (`testkit/tests/proxy.rs` includes this file): start a
//! region on 127.0.0.1 with dev certificates and short timeouts, wait for
//! events, and answer requests in the background.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use protocol::Hlc;
use sync::transport::{
    Admission, AdmitAll, PeerSpec, RegionIdentity, Transport, TransportConfig, TransportError,
    TransportEvent, dev_identity,
};
use tokio::sync::mpsc;

/// Upper bound on waiting for any one event; only reached when a test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("literal address")
}

pub fn clock() -> Hlc {
    Hlc::new(1_700_000_000_000, 0)
}

/// A config with timeouts short enough for tests.
pub fn config(
    identity: RegionIdentity,
    bind: SocketAddr,
    peers: &[(&str, SocketAddr)],
) -> TransportConfig {
    let peers = peers
        .iter()
        .map(|(region, addr)| PeerSpec {
            region: region.to_string(),
            quic_addr: *addr,
        })
        .collect();
    let mut c = TransportConfig::new(identity, bind, peers);
    c.keep_alive = Duration::from_millis(200);
    c.idle_timeout = Duration::from_millis(1500);
    c.handshake_timeout = Duration::from_secs(3);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(500);
    c
}

pub struct Node {
    pub transport: Transport,
    pub events: mpsc::Receiver<TransportEvent>,
}

pub async fn start_with(
    identity: RegionIdentity,
    bind: SocketAddr,
    peers: &[(&str, SocketAddr)],
    admission: impl Admission + Clone,
) -> Node {
    start_tuned(identity, bind, peers, admission, |_| {}).await
}

/// Like [`start_with`], with a chance to change the test config.
pub async fn start_tuned(
    identity: RegionIdentity,
    bind: SocketAddr,
    peers: &[(&str, SocketAddr)],
    admission: impl Admission + Clone,
    tune: impl Fn(&mut TransportConfig),
) -> Node {
    let mut attempts = 0;
    loop {
        let mut config = config(identity.clone(), bind, peers);
        tune(&mut config);
        match Transport::start(config, admission.clone(), clock).await {
            Ok((transport, events)) => return Node { transport, events },
            // A restarted region rebinds the port its predecessor just released.
            Err(TransportError::Bind { .. }) if attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("start {}: {e}", identity.region),
        }
    }
}

/// Starts `region` with dev certificates from `dir`, admitting everyone.
pub async fn start(dir: &Path, region: &str, peers: &[(&str, SocketAddr)]) -> Node {
    let identity = dev_identity(dir, region).expect("dev identity");
    start_with(identity, localhost(), peers, AdmitAll).await
}

/// Waits for the first event `pick` accepts, dropping the others.
pub async fn expect<T>(
    events: &mut mpsc::Receiver<TransportEvent>,
    what: &str,
    mut pick: impl FnMut(TransportEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(event) = events.recv().await {
            if let Some(found) = pick(event) {
                return Some(found);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(found)) => found,
        Ok(None) => panic!("event stream ended while waiting for {what}"),
        Err(_) => panic!("no {what} within {PATIENCE:?}"),
    }
}

pub async fn peer_up(events: &mut mpsc::Receiver<TransportEvent>, who: &str) {
    expect(events, &format!("PeerUp {who}"), |e| match e {
        TransportEvent::PeerUp { peer } if peer == who => Some(()),
        _ => None,
    })
    .await
}

pub async fn peer_down(events: &mut mpsc::Receiver<TransportEvent>, who: &str) -> String {
    expect(events, &format!("PeerDown {who}"), |e| match e {
        TransportEvent::PeerDown { peer, reason } if peer == who => Some(reason),
        _ => None,
    })
    .await
}

pub async fn refused(events: &mut mpsc::Receiver<TransportEvent>, who: &str) -> String {
    expect(events, &format!("Refused {who}"), |e| match e {
        TransportEvent::Refused { peer, reason } if peer == who => Some(reason),
        _ => None,
    })
    .await
}

/// Answers every request with `<region> got <body>` and passes all other
/// events on, so a test can read them while its own requests are answered.
pub fn answer_requests(
    region: &str,
    mut events: mpsc::Receiver<TransportEvent>,
) -> mpsc::Receiver<TransportEvent> {
    let (tx, rx) = mpsc::channel(1024);
    let region = region.to_string();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                TransportEvent::Request { peer, body, reply } => {
                    let answer = format!(
                        "{region} got {} from {peer}",
                        String::from_utf8_lossy(&body)
                    );
                    let _ = reply.send(Bytes::from(answer));
                }
                other => {
                    if tx.send(other).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}
