//! Integration tests of the region transport on real UDP sockets on
//! 127.0.0.1: channels, requests and datagrams between two and three
//! regions, certificate and admission refusals, and reconnection after a
//! peer restarts.

mod transport_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use protocol::Hlc;
use sync::transport::{
    AdmitAll, Channel, RegionIdentity, TransportError, TransportEvent, dev_identity,
};
use transport_support::*;

const BATCH: usize = 50;

fn numbered(channel: Channel, i: usize) -> Bytes {
    Bytes::from(format!("{channel:?}-{i}"))
}

/// Collects `count` messages from `from`, grouped by channel, in arrival order.
async fn messages(
    events: &mut tokio::sync::mpsc::Receiver<TransportEvent>,
    from: &str,
    count: usize,
) -> HashMap<Channel, Vec<Bytes>> {
    let mut got: HashMap<Channel, Vec<Bytes>> = HashMap::new();
    for _ in 0..count {
        let (channel, body) = expect(events, "a message", |e| match e {
            TransportEvent::Message {
                peer,
                channel,
                body,
            } if peer == from => Some((channel, body)),
            _ => None,
        })
        .await;
        got.entry(channel).or_default().push(body);
    }
    got
}

fn send_batches(transport: &sync::transport::Transport, to: &str) {
    for i in 0..BATCH {
        for channel in Channel::ALL {
            transport
                .send(to, channel, numbered(channel, i))
                .expect("send while connected");
        }
    }
}

fn assert_batches(got: &HashMap<Channel, Vec<Bytes>>) {
    for channel in Channel::ALL {
        let expected: Vec<Bytes> = (0..BATCH).map(|i| numbered(channel, i)).collect();
        assert_eq!(got.get(&channel), Some(&expected), "{channel:?} in order");
    }
}

/// Datagrams are unreliable, so send a few until one arrives.
async fn datagram_arrives(
    sender: &sync::transport::Transport,
    to: &str,
    events: &mut tokio::sync::mpsc::Receiver<TransportEvent>,
    from: &str,
) -> Bytes {
    for _ in 0..10 {
        sender
            .datagram(to, Bytes::from_static(b"typing"))
            .expect("datagram");
    }
    expect(events, "a datagram", |e| match e {
        TransportEvent::Datagram { peer, body } if peer == from => Some(body),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn two_regions_use_every_channel_requests_and_datagrams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = start(dir.path(), "us-east", &[]).await;
    let a = start(
        dir.path(),
        "eu-west",
        &[("us-east", b.transport.local_addr())],
    )
    .await;
    let (ta, tb) = (a.transport.clone(), b.transport.clone());
    let mut ea = answer_requests("eu-west", a.events);
    let mut eb = answer_requests("us-east", b.events);
    peer_up(&mut ea, "us-east").await;
    peer_up(&mut eb, "eu-west").await;
    assert_eq!(ta.connected_peers(), ["us-east"]);
    assert_eq!(tb.connected_peers(), ["eu-west"]);
    assert!(ta.rtt("us-east").is_some());
    assert!(ta.rtt("nowhere").is_none());

    send_batches(&ta, "us-east");
    send_batches(&tb, "eu-west");
    assert_batches(&messages(&mut eb, "eu-west", BATCH * 3).await);
    assert_batches(&messages(&mut ea, "us-east", BATCH * 3).await);

    let answer = ta
        .request("us-east", Bytes::from_static(b"send hi"), PATIENCE)
        .await
        .expect("request answered");
    assert_eq!(answer, "us-east got send hi from eu-west");
    let answer = tb
        .request("eu-west", Bytes::from_static(b"ack?"), PATIENCE)
        .await
        .expect("request answered");
    assert_eq!(answer, "eu-west got ack? from us-east");

    assert_eq!(
        datagram_arrives(&ta, "us-east", &mut eb, "eu-west").await,
        "typing"
    );
    assert_eq!(
        datagram_arrives(&tb, "eu-west", &mut ea, "us-east").await,
        "typing"
    );

    assert!(matches!(
        ta.send("ap-south", Channel::Log, Bytes::new()),
        Err(TransportError::NotConnected { .. })
    ));
    assert!(matches!(
        ta.request("ap-south", Bytes::new(), PATIENCE).await,
        Err(TransportError::NotConnected { .. })
    ));
    let huge = Bytes::from(vec![0u8; 16 * 1024 * 1024 + 1]);
    assert!(matches!(
        ta.send("us-east", Channel::Crdt, huge),
        Err(TransportError::FrameTooLarge { .. })
    ));
    ta.shutdown().await;
    tb.shutdown().await;
}

#[tokio::test]
async fn a_request_the_peer_drops_fails_without_waiting_for_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = start(dir.path(), "b", &[]).await;
    let mut a = start(dir.path(), "a", &[("b", b.transport.local_addr())]).await;
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;
    let ta = a.transport.clone();
    let asking = tokio::spawn(async move {
        ta.request("b", Bytes::from_static(b"q"), Duration::from_secs(600))
            .await
    });
    // b's caller drops the reply sender.
    expect(&mut b.events, "the request", |e| match e {
        TransportEvent::Request { body, .. } => Some(body),
        _ => None,
    })
    .await;
    let result = tokio::time::timeout(PATIENCE, asking)
        .await
        .expect("request ended")
        .expect("task");
    assert!(
        matches!(result, Err(TransportError::RequestDropped { .. })),
        "{result:?}"
    );

    // b's caller holds on to the reply: the asker gives up at its timeout.
    let ta = a.transport.clone();
    let asking = tokio::spawn(async move {
        ta.request("b", Bytes::from_static(b"q2"), Duration::from_millis(300))
            .await
    });
    let _held = expect(&mut b.events, "the second request", |e| match e {
        TransportEvent::Request { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    let result = asking.await.expect("task");
    assert!(
        matches!(result, Err(TransportError::Timeout { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_stalled_peer_fills_the_queue_instead_of_blocking_the_sender() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = |r| dev_identity(dir.path(), r).expect("identity");
    // b never reads its events, so its links stop reading and QUIC flow
    // control stalls a's writer; then a's queue fills.
    let mut b = start_tuned(id("b"), localhost(), &[], AdmitAll, |c| c.event_queue = 1).await;
    let peers = [("b", b.transport.local_addr())];
    let mut a = start_tuned(id("a"), localhost(), &peers, AdmitAll, |c| c.send_queue = 2).await;
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;
    let frame = Bytes::from(vec![7u8; 1024 * 1024]);
    let mut full = None;
    for sent in 0..1000 {
        match a.transport.send("b", Channel::Log, frame.clone()) {
            Ok(()) => tokio::task::yield_now().await,
            Err(e) => {
                full = Some((sent, e));
                break;
            }
        }
    }
    let (sent, error) = full.expect("the queue filled up");
    assert!(
        matches!(
            error,
            TransportError::QueueFull {
                channel: Channel::Log,
                ..
            }
        ),
        "{error}"
    );
    assert!(sent >= 2, "only {sent} frames fit");
    // Other channels have their own queues.
    a.transport
        .send("b", Channel::Crdt, Bytes::from_static(b"still room"))
        .expect("crdt queue is separate");
}

#[tokio::test]
async fn three_regions_form_a_full_mesh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = start(dir.path(), "c", &[]).await;
    let caddr = c.transport.local_addr();
    let b = start(dir.path(), "b", &[("c", caddr)]).await;
    let baddr = b.transport.local_addr();
    let a = start(dir.path(), "a", &[("b", baddr), ("c", caddr)]).await;
    let mut nodes = [("a", a), ("b", b), ("c", c)];
    for (me, node) in nodes.iter_mut() {
        let mut up = Vec::new();
        while up.len() < 2 {
            up.push(
                expect(&mut node.events, "PeerUp", |e| match e {
                    TransportEvent::PeerUp { peer } => Some(peer),
                    _ => None,
                })
                .await,
            );
        }
        up.sort();
        let others: Vec<_> = ["a", "b", "c"].into_iter().filter(|o| o != me).collect();
        assert_eq!(up, others, "{me}");
    }
    for (me, node) in nodes.iter() {
        assert_eq!(node.transport.connected_peers().len(), 2, "{me}");
        for other in ["a", "b", "c"].into_iter().filter(|o| o != me) {
            let body = Bytes::from(format!("{me}->{other}"));
            node.transport
                .send(other, Channel::Log, body)
                .expect("send");
        }
    }
    for (me, node) in nodes.iter_mut() {
        let mut got = Vec::new();
        for _ in 0..2 {
            got.push(
                expect(&mut node.events, "a message", |e| match e {
                    TransportEvent::Message { peer, body, .. } => Some((peer, body)),
                    _ => None,
                })
                .await,
            );
        }
        got.sort();
        let expected: Vec<(String, Bytes)> = ["a", "b", "c"]
            .into_iter()
            .filter(|o| o != me)
            .map(|o| (o.to_string(), Bytes::from(format!("{o}->{me}"))))
            .collect();
        assert_eq!(got, expected, "{me}");
    }
}

#[tokio::test]
async fn a_server_from_another_ca_is_refused_by_the_dialer() {
    let mesh = tempfile::tempdir().expect("tempdir");
    let rogue_dir = tempfile::tempdir().expect("tempdir");
    let rogue = dev_identity(rogue_dir.path(), "m").expect("rogue identity");
    let mut server = start_with(rogue, localhost(), &[], AdmitAll).await;
    let mut dialer = start(mesh.path(), "a", &[("m", server.transport.local_addr())]).await;
    let reason = refused(&mut dialer.events, "m").await;
    assert!(reason.contains("TLS"), "{reason}");
    assert!(dialer.transport.connected_peers().is_empty());
    assert!(server.transport.connected_peers().is_empty());
    assert!(
        server.events.try_recv().is_err(),
        "the server saw no admitted peer"
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused_by_the_server() {
    let mesh = tempfile::tempdir().expect("tempdir");
    let rogue_dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(mesh.path(), "m", &[]).await;
    // The rogue trusts the mesh CA but its own certificate is from another CA.
    let mesh_ca = dev_identity(mesh.path(), "m").expect("mesh").ca;
    let rogue = RegionIdentity {
        ca: mesh_ca,
        ..dev_identity(rogue_dir.path(), "a").expect("rogue identity")
    };
    let server_addr = server.transport.local_addr();
    let mut dialer = start_with(rogue, localhost(), &[("m", server_addr)], AdmitAll).await;
    let reason = refused(&mut dialer.events, "m").await;
    assert!(reason.contains("TLS"), "{reason}");
    assert!(server.transport.connected_peers().is_empty());
    assert!(dialer.transport.connected_peers().is_empty());
    assert!(
        server.events.try_recv().is_err(),
        "no event names the rogue"
    );
}

/// Refuses every peer while `refuse` is set, like a clock-offset check.
#[derive(Clone)]
struct Gate {
    refuse: Arc<AtomicBool>,
}

impl sync::transport::Admission for Gate {
    fn admit(&self, peer: &str, peer_hlc: Hlc) -> Result<(), String> {
        if self.refuse.load(Ordering::SeqCst) {
            Err(format!("clock of {peer} is off ({})", peer_hlc.millis()))
        } else {
            Ok(())
        }
    }
}

async fn refusal_reaches_both_sides_until_admitted(refuse_on_dialer: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let refuse = Arc::new(AtomicBool::new(true));
    let gate = Gate {
        refuse: refuse.clone(),
    };
    let id = |r| dev_identity(dir.path(), r).expect("identity");
    let mut b = if refuse_on_dialer {
        start_with(id("b"), localhost(), &[], AdmitAll).await
    } else {
        start_with(id("b"), localhost(), &[], gate.clone()).await
    };
    let peers = [("b", b.transport.local_addr())];
    let mut a = if refuse_on_dialer {
        start_with(id("a"), localhost(), &peers, gate).await
    } else {
        start_with(id("a"), localhost(), &peers, AdmitAll).await
    };
    let expected = format!(
        "clock of {} is off",
        if refuse_on_dialer { "b" } else { "a" }
    );
    for _ in 0..2 {
        // Twice: the dialer keeps retrying after a refusal.
        let reason = refused(&mut a.events, "b").await;
        assert!(reason.starts_with(&expected), "dialer: {reason}");
        let reason = refused(&mut b.events, "a").await;
        assert!(reason.starts_with(&expected), "acceptor: {reason}");
    }
    assert!(a.transport.connected_peers().is_empty());
    assert!(matches!(
        a.transport
            .send("b", Channel::Log, Bytes::from_static(b"x")),
        Err(TransportError::NotConnected { .. })
    ));
    // Nothing but refusals so far: no PeerUp, no message.
    while let Ok(event) = b.events.try_recv() {
        assert!(matches!(event, TransportEvent::Refused { .. }), "{event:?}");
    }

    refuse.store(false, Ordering::SeqCst);
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;
    a.transport
        .send("b", Channel::Control, Bytes::from_static(b"finally"))
        .expect("send");
    let body = expect(&mut b.events, "the message", |e| match e {
        TransportEvent::Message { body, .. } => Some(body),
        _ => None,
    })
    .await;
    assert_eq!(body, "finally");
}

#[tokio::test]
async fn an_acceptor_refusal_reaches_both_sides_until_admitted() {
    refusal_reaches_both_sides_until_admitted(false).await;
}

#[tokio::test]
async fn a_dialer_refusal_reaches_both_sides_until_admitted() {
    refusal_reaches_both_sides_until_admitted(true).await;
}

#[tokio::test]
async fn a_restarted_peer_is_reconnected_and_messages_flow_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = start(dir.path(), "b", &[]).await;
    let baddr = b.transport.local_addr();
    let mut a = start(dir.path(), "a", &[("b", baddr)]).await;
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;

    b.transport.shutdown().await;
    drop(b);
    peer_down(&mut a.events, "b").await;
    assert!(a.transport.connected_peers().is_empty());

    let identity = dev_identity(dir.path(), "b").expect("identity");
    let mut b = start_with(identity, baddr, &[], AdmitAll).await;
    assert_eq!(b.transport.local_addr(), baddr);
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;
    a.transport
        .send("b", Channel::Log, Bytes::from_static(b"again"))
        .expect("send");
    b.transport
        .send("a", Channel::Log, Bytes::from_static(b"back"))
        .expect("send");
    let got = |from: &'static str| {
        move |e| match e {
            TransportEvent::Message { peer, body, .. } if peer == from => Some(body),
            _ => None,
        }
    };
    assert_eq!(
        expect(&mut b.events, "message from a", got("a")).await,
        "again"
    );
    assert_eq!(
        expect(&mut a.events, "message from b", got("b")).await,
        "back"
    );
}

#[tokio::test]
async fn a_dropped_and_restarted_dialer_reconnects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = start(dir.path(), "b", &[]).await;
    let baddr = b.transport.local_addr();
    let a = start(dir.path(), "a", &[("b", baddr)]).await;
    let aaddr = a.transport.local_addr();
    peer_up(&mut b.events, "a").await;
    // Dropping the last handle shuts the region down too.
    drop(a);
    peer_down(&mut b.events, "a").await;

    let identity = dev_identity(dir.path(), "a").expect("identity");
    let mut a = start_with(identity, aaddr, &[("b", baddr)], AdmitAll).await;
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;
    assert_eq!(b.transport.connected_peers(), ["a"]);
}
