//! Tests of the link proxy: first with plain UDP (ordering under delay,
//! duplication, one-way blocking), then with two regions linked through it
//! (delay shows in request round trips, a partition takes the link down and
//! healing brings it back, loss still delivers the reliable channel in order).

// The transport's own test helpers (start a region with dev certificates
// and short timeouts, wait for events), shared rather than copied.
#[path = "../../sync/tests/transport_support/mod.rs"]
mod transport_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use mesh_testkit::proxy::{Direction, LinkProxy};
use sync::transport::{Channel, TransportEvent};
use tokio::net::UdpSocket;
use transport_support::*;

/// A UDP socket on 127.0.0.1 that echoes everything back.
async fn echo_server() -> std::net::SocketAddr {
    let socket = UdpSocket::bind(localhost()).await.expect("bind echo");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..n], from).await;
        }
    });
    addr
}

async fn recv_n(socket: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    for _ in 0..n {
        let len = tokio::time::timeout(PATIENCE, socket.recv(&mut buf))
            .await
            .expect("datagram in time")
            .expect("recv");
        got.push(buf[..len].to_vec());
    }
    got
}

#[tokio::test]
async fn delay_keeps_order_and_duplicates_double() {
    let proxy = LinkProxy::start(localhost(), echo_server().await, 1)
        .await
        .expect("proxy");
    let client = UdpSocket::bind(localhost()).await.expect("client");
    client.connect(proxy.local_addr()).await.expect("connect");

    proxy.set_delay(Duration::from_millis(20));
    let sent: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i]).collect();
    for p in &sent {
        client.send(p).await.expect("send");
    }
    assert_eq!(
        recv_n(&client, 50).await,
        sent,
        "delay alone never reorders"
    );

    proxy.set_delay(Duration::ZERO);
    proxy.set_duplicate(1.0);
    client.send(b"twice").await.expect("send");
    // Duplicated on the way there and back: four copies.
    let got = recv_n(&client, 4).await;
    assert!(got.iter().all(|p| p == b"twice"));
    assert!(proxy.stats().duplicated >= 3);
}

#[tokio::test]
async fn one_way_blocking_drops_only_that_direction() {
    let target = UdpSocket::bind(localhost()).await.expect("target");
    let proxy = LinkProxy::start(localhost(), target.local_addr().expect("addr"), 2)
        .await
        .expect("proxy");
    let client = UdpSocket::bind(localhost()).await.expect("client");
    client.connect(proxy.local_addr()).await.expect("connect");

    client.send(b"hello").await.expect("send");
    let mut buf = [0u8; 64];
    let (n, proxy_side) = tokio::time::timeout(PATIENCE, target.recv_from(&mut buf))
        .await
        .expect("in time")
        .expect("recv");
    assert_eq!(&buf[..n], b"hello");

    proxy.set_blocked(Direction::Forward, true);
    client.send(b"lost").await.expect("send");
    target
        .send_to(b"back", proxy_side)
        .await
        .expect("send back");
    assert_eq!(
        recv_n(&client, 1).await,
        [b"back".to_vec()],
        "backward still open"
    );

    proxy.set_blocked(Direction::Forward, false);
    client.send(b"after").await.expect("send");
    let (n, _) = tokio::time::timeout(PATIENCE, target.recv_from(&mut buf))
        .await
        .expect("in time")
        .expect("recv");
    assert_eq!(&buf[..n], b"after", "the blocked packet never arrived");
    assert_eq!(proxy.stats().blocked, 1);
}

/// Region `a` dials `b` through a proxy; returns both nodes once linked.
async fn linked_through_proxy(dir: &std::path::Path, seed: u64) -> (Node, Node, LinkProxy) {
    let b = start(dir, "b", &[]).await;
    let proxy = LinkProxy::start(localhost(), b.transport.local_addr(), seed)
        .await
        .expect("proxy");
    let a = start(dir, "a", &[("b", proxy.local_addr())]).await;
    (a, b, proxy)
}

#[tokio::test]
async fn proxy_delay_shows_in_request_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut a, b, proxy) = linked_through_proxy(dir.path(), 3).await;
    let _eb = answer_requests("b", b.events);
    peer_up(&mut a.events, "b").await;

    let delay = Duration::from_millis(80);
    proxy.set_delay(delay);
    let started = Instant::now();
    let answer = a
        .transport
        .request("b", Bytes::from_static(b"ping"), PATIENCE)
        .await
        .expect("answer");
    assert_eq!(answer, "b got ping from a");
    assert!(started.elapsed() >= delay * 2, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_partition_takes_the_link_down_and_healing_restores_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut a, mut b, proxy) = linked_through_proxy(dir.path(), 4).await;
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;

    for cut in [Direction::Both, Direction::Forward] {
        proxy.set_blocked(cut, true);
        peer_down(&mut a.events, "b").await;
        peer_down(&mut b.events, "a").await;
        assert!(matches!(
            a.transport.send("b", Channel::Log, Bytes::new()),
            Err(sync::transport::TransportError::NotConnected { .. })
        ));

        proxy.set_blocked(Direction::Both, false);
        peer_up(&mut a.events, "b").await;
        peer_up(&mut b.events, "a").await;
        a.transport
            .send("b", Channel::Log, Bytes::from_static(b"healed"))
            .expect("send");
        let body = expect(&mut b.events, "message", |e| match e {
            TransportEvent::Message { body, .. } => Some(body),
            _ => None,
        })
        .await;
        assert_eq!(body, "healed", "after cutting {cut:?}");
    }
}

#[tokio::test]
async fn loss_and_jitter_still_deliver_the_reliable_channel_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut a, mut b, proxy) = linked_through_proxy(dir.path(), 5).await;
    peer_up(&mut a.events, "b").await;
    peer_up(&mut b.events, "a").await;

    proxy.set_loss(0.2);
    proxy.set_duplicate(0.05);
    proxy.set_delay(Duration::from_millis(5));
    proxy.set_jitter(Duration::from_millis(3));
    let sent: Vec<Bytes> = (0..300)
        .map(|i| Bytes::from(format!("event {i} {}", "x".repeat(i % 900))))
        .collect();
    for body in &sent {
        a.transport
            .send("b", Channel::Log, body.clone())
            .expect("queue has room");
    }
    let mut got = Vec::new();
    while got.len() < sent.len() {
        got.push(
            expect(&mut b.events, "log message", |e| match e {
                TransportEvent::Message {
                    channel: Channel::Log,
                    body,
                    ..
                } => Some(body),
                TransportEvent::PeerDown { reason, .. } => panic!("link dropped: {reason}"),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(got, sent);
    assert!(proxy.stats().lost > 0, "the link really lost packets");
}

#[tokio::test]
async fn a_new_connection_from_a_crashed_dialer_replaces_the_silent_old_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, mut b, proxy) = linked_through_proxy(dir.path(), 6).await;
    peer_up(&mut b.events, "a").await;
    // The old a vanishes without its close reaching b, like a crash.
    proxy.set_blocked(Direction::Both, true);
    drop(a);

    let baddr = b.transport.local_addr();
    let mut a = start(dir.path(), "a", &[("b", baddr)]).await;
    peer_up(&mut a.events, "b").await;
    let reason = peer_down(&mut b.events, "a").await;
    assert!(reason.contains("replaced"), "{reason}");
    peer_up(&mut b.events, "a").await;
    assert_eq!(b.transport.connected_peers(), ["a"]);
    a.transport
        .send("b", Channel::Crdt, Bytes::from_static(b"new link"))
        .expect("send");
    let body = expect(&mut b.events, "message", |e| match e {
        TransportEvent::Message { body, .. } => Some(body),
        TransportEvent::PeerDown { reason, .. } => panic!("new link dropped: {reason}"),
        _ => None,
    })
    .await;
    assert_eq!(body, "new link");
}
