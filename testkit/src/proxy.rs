//! A userspace UDP proxy for one inter-region link, with faults switched at
//! run time: delay, jitter, loss, duplication and partitions (both ways or
//! one way). This machine has no netem; `region-node mesh` adds latency and
//! the consistency harness cuts links through this proxy.
//!
//! The proxy listens on one address and forwards to a target. "Forward" is
//! client → target (the client is whoever last sent to the listen address,
//! normally the dialing region), "Backward" is target → client. Each
//! direction has its own timer queue ordered by due time, so delay never
//! reorders packets; only jitter does. Faults are drawn from a seeded
//! generator, one stream per direction, so a run can be replayed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::debug;

use crate::rng::SplitMix64;

/// Packets waiting in one direction before new ones are dropped, like a
/// router's queue.
const QUEUE: usize = 8192;
/// Larger than any UDP payload.
const MAX_DATAGRAM: usize = 65_536;

/// Which way packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client (the dialer) to the target.
    Forward,
    /// From the target back to the client.
    Backward,
    /// Both ways.
    Both,
}

impl Direction {
    fn covers(self, one_way: Direction) -> bool {
        self == Direction::Both || self == one_way
    }
}

/// The faults in force; one value for both directions except blocking.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    delay: Duration,
    jitter: Duration,
    loss: f64,
    duplicate: f64,
    blocked_forward: bool,
    blocked_backward: bool,
}

impl Faults {
    fn blocked(&self, way: Direction) -> bool {
        match way {
            Direction::Forward => self.blocked_forward,
            Direction::Backward => self.blocked_backward,
            Direction::Both => self.blocked_forward && self.blocked_backward,
        }
    }
}

/// Packet counts since the proxy started, summed over both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Packets delivered (duplicates included).
    pub forwarded: u64,
    /// Packets dropped by the loss setting.
    pub lost: u64,
    /// Extra copies sent by the duplicate setting.
    pub duplicated: u64,
    /// Packets dropped because their direction was blocked.
    pub blocked: u64,
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    blocked: AtomicU64,
}

struct Inner {
    faults: Mutex<Faults>,
    counters: Counters,
    client: Mutex<Option<SocketAddr>>,
    cancel: CancellationToken,
}

impl Inner {
    fn faults(&self) -> Faults {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.faults.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn client(&self) -> Option<SocketAddr> {
        *self.client.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running link proxy; clones control the same proxy, and it stops when
/// the last clone is dropped or on [`LinkProxy::shutdown`].
#[derive(Clone)]
pub struct LinkProxy {
    inner: Arc<Inner>,
    local_addr: SocketAddr,
    _stop_on_drop: Arc<DropGuard>,
}

impl std::fmt::Debug for LinkProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkProxy")
            .field("local_addr", &self.local_addr)
            .field("faults", &self.inner.faults())
            .finish_non_exhaustive()
    }
}

/// A packet due at `.0`; `.1` keeps equal due times in arrival order.
type Due = Reverse<(Instant, u64, Vec<u8>)>;

impl LinkProxy {
    /// Listens on `listen` (port 0 picks one) and forwards to `target`,
    /// with no faults until set. `seed` drives loss, duplication and jitter.
    pub async fn start(listen: SocketAddr, target: SocketAddr, seed: u64) -> io::Result<Self> {
        let front = Arc::new(UdpSocket::bind(listen).await?);
        let unspecified: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let back = Arc::new(UdpSocket::bind(unspecified).await?);
        back.connect(target).await?;
        let local_addr = front.local_addr()?;
        let inner = Arc::new(Inner {
            faults: Mutex::new(Faults::default()),
            counters: Counters::default(),
            client: Mutex::new(None),
            cancel: CancellationToken::new(),
        });

        let (fwd_tx, fwd_rx) = mpsc::channel(QUEUE);
        let (bwd_tx, bwd_rx) = mpsc::channel(QUEUE);
        let fwd_rng = SplitMix64::new(seed);
        let bwd_rng = SplitMix64::new(seed.rotate_left(32) ^ 0x5EED_BAC4);
        let cancel = &inner.cancel;
        spawn_until(
            cancel,
            receive(
                inner.clone(),
                front.clone(),
                Direction::Forward,
                fwd_rng,
                fwd_tx,
            ),
        );
        spawn_until(
            cancel,
            receive(
                inner.clone(),
                back.clone(),
                Direction::Backward,
                bwd_rng,
                bwd_tx,
            ),
        );
        spawn_until(
            cancel,
            deliver(inner.clone(), Direction::Forward, fwd_rx, back),
        );
        spawn_until(
            cancel,
            deliver(inner.clone(), Direction::Backward, bwd_rx, front),
        );
        let guard = inner.cancel.clone().drop_guard();
        Ok(Self {
            inner,
            local_addr,
            _stop_on_drop: Arc::new(guard),
        })
    }

    /// Where clients send to reach the target through the proxy.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// One-way delay added to every packet in each direction.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.update(|f| f.delay = delay);
    }

    /// Each packet's delay varies by up to ± this much (never below zero).
    pub fn set_jitter(&self, jitter: Duration) {
        self.inner.update(|f| f.jitter = jitter);
    }

    /// Probability (0..=1) that a packet is dropped.
    pub fn set_loss(&self, probability: f64) {
        self.inner.update(|f| f.loss = probability.clamp(0.0, 1.0));
    }

    /// Probability (0..=1) that a packet is sent twice.
    pub fn set_duplicate(&self, probability: f64) {
        self.inner
            .update(|f| f.duplicate = probability.clamp(0.0, 1.0));
    }

    /// Cuts (or restores) the link in `direction`; packets already queued
    /// in a blocked direction are dropped too.
    pub fn set_blocked(&self, direction: Direction, blocked: bool) {
        self.inner.update(|f| {
            if direction.covers(Direction::Forward) {
                f.blocked_forward = blocked;
            }
            if direction.covers(Direction::Backward) {
                f.blocked_backward = blocked;
            }
        });
    }

    /// Packet counts so far.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.inner.counters;
        ProxyStats {
            forwarded: c.forwarded.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            duplicated: c.duplicated.load(Ordering::Relaxed),
            blocked: c.blocked.load(Ordering::Relaxed),
        }
    }

    /// Stops forwarding and releases both sockets.
    pub fn shutdown(&self) {
        self.inner.cancel.cancel();
    }
}

fn spawn_until(
    cancel: &CancellationToken,
    task: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = task => {}
        }
    });
}

/// Reads packets arriving in one direction, applies the faults and hands the
/// survivors to that direction's timer queue. Forward packets arrive on the
/// listening socket, which learns the client's address from them; backward
/// ones on the socket connected to the target.
async fn receive(
    inner: Arc<Inner>,
    socket: Arc<UdpSocket>,
    way: Direction,
    mut rng: SplitMix64,
    queue: mpsc::Sender<(Instant, Vec<u8>)>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let len = if way == Direction::Backward {
            match socket.recv(&mut buf).await {
                Ok(len) => len,
                // An ICMP "port unreachable" from a restarting target; keep going.
                Err(error) => {
                    debug!(%error, ?way, "proxy receive failed");
                    continue;
                }
            }
        } else {
            match socket.recv_from(&mut buf).await {
                Ok((len, from)) => {
                    *inner.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(from);
                    len
                }
                Err(error) => {
                    debug!(%error, ?way, "proxy receive failed");
                    continue;
                }
            }
        };
        let faults = inner.faults();
        let counters = &inner.counters;
        if faults.blocked(way) {
            counters.blocked.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if rng.chance(faults.loss) {
            counters.lost.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let copies = if rng.chance(faults.duplicate) {
            counters.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        for _ in 0..copies {
            let due = Instant::now() + jittered(&mut rng, faults.delay, faults.jitter);
            // A full queue drops the packet, as a congested router would.
            let _ = queue.try_send((due, buf[..len].to_vec()));
        }
    }
}

/// `delay` moved by a uniform amount in ±`jitter`, not below zero.
fn jittered(rng: &mut SplitMix64, delay: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return delay;
    }
    let offset = rng.duration_up_to(jitter * 2);
    (delay + offset).saturating_sub(jitter)
}

/// Sends each packet of one direction when it is due, earliest first.
async fn deliver(
    inner: Arc<Inner>,
    way: Direction,
    mut incoming: mpsc::Receiver<(Instant, Vec<u8>)>,
    socket: Arc<UdpSocket>,
) {
    let mut pending: BinaryHeap<Due> = BinaryHeap::new();
    let mut arrival = 0u64;
    loop {
        let next_due = pending.peek().map(|Reverse((due, _, _))| *due);
        tokio::select! {
            packet = incoming.recv() => match packet {
                Some((due, bytes)) => {
                    arrival += 1;
                    pending.push(Reverse((due, arrival, bytes)));
                }
                None => return,
            },
            _ = sleep_until(next_due), if next_due.is_some() => {
                let now = Instant::now();
                while let Some(Reverse((due, _, _))) = pending.peek() {
                    if *due > now {
                        break;
                    }
                    let Some(Reverse((_, _, bytes))) = pending.pop() else { break };
                    send(&inner, way, &socket, &bytes).await;
                }
            }
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}

async fn send(inner: &Inner, way: Direction, socket: &UdpSocket, bytes: &[u8]) {
    if inner.faults().blocked(way) {
        inner.counters.blocked.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let sent = match way {
        Direction::Backward => match inner.client() {
            Some(client) => socket.send_to(bytes, client).await,
            None => return,
        },
        _ => socket.send(bytes).await,
    };
    match sent {
        Ok(_) => {
            inner.counters.forwarded.fetch_add(1, Ordering::Relaxed);
        }
        Err(error) => debug!(%error, ?way, "proxy send failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds_and_never_goes_negative() {
        let mut rng = SplitMix64::new(11);
        let delay = Duration::from_millis(10);
        let jitter = Duration::from_millis(4);
        for _ in 0..1000 {
            let d = jittered(&mut rng, delay, jitter);
            assert!(d >= Duration::from_millis(6) && d <= Duration::from_millis(14));
        }
        let small = jittered(
            &mut rng,
            Duration::from_millis(1),
            Duration::from_millis(50),
        );
        assert!(small <= Duration::from_millis(51));
        assert_eq!(jittered(&mut rng, delay, Duration::ZERO), delay);
    }

    #[test]
    fn blocking_covers_the_directions_asked_for() {
        let f = Faults {
            blocked_forward: true,
            ..Faults::default()
        };
        assert!(f.blocked(Direction::Forward));
        assert!(!f.blocked(Direction::Backward));
        assert!(!f.blocked(Direction::Both));
        assert!(Direction::Both.covers(Direction::Backward));
        assert!(!Direction::Forward.covers(Direction::Backward));
    }
}
