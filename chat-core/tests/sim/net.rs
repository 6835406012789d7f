//! The simulated network: what happens to one message between two regions.
//!
//! A link between two regions is up or down; each time it comes up it is a
//! new connection (a new epoch), and messages of an older connection are
//! lost, as QUIC loses a closed connection's streams. On top of that a
//! lossy network delays each message independently (so they overtake each
//! other), drops some and delivers some twice; a FIFO network keeps each
//! direction's order and loses only what a closed connection had in flight.

use rand::Rng;
use rand::rngs::StdRng;

use sync::replication::Millis;

/// How the network treats messages.
#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    /// Shortest one-way delay, in milliseconds.
    pub delay_min: u64,
    /// Longest one-way delay, in milliseconds.
    pub delay_max: u64,
    /// Chance that a message is lost on a live connection.
    pub loss: f64,
    /// Chance that a message is delivered twice.
    pub duplicate: f64,
    /// Keep each direction's order (no loss or duplication but at
    /// disconnects).
    pub fifo: bool,
}

impl NetConfig {
    /// A well-behaved network: no loss, order kept.
    pub fn clean() -> Self {
        Self {
            delay_min: 5,
            delay_max: 30,
            loss: 0.0,
            duplicate: 0.0,
            fifo: true,
        }
    }

    /// A network that reorders, loses and duplicates.
    pub fn lossy(loss: f64, duplicate: f64) -> Self {
        Self {
            delay_min: 1,
            delay_max: 80,
            loss,
            duplicate,
            fifo: false,
        }
    }
}

/// The connection between two regions.
#[derive(Debug, Default)]
pub struct Link {
    /// Whether a connection is up.
    pub up: bool,
    /// Which connection: bumped at every change, so a message carries the
    /// epoch it was sent in and dies with its connection.
    pub epoch: u64,
    /// Open partitions on this link (they may overlap).
    pub partitions: u32,
    /// Latest delivery time scheduled per direction (`[low→high,
    /// high→low]`), to keep FIFO order.
    pub tail: [Millis; 2],
}

/// When the copies of one message arrive: none (lost), one, or two.
pub fn deliveries(
    config: &NetConfig,
    rng: &mut StdRng,
    link: &mut Link,
    forward: bool,
    now: Millis,
) -> Vec<Millis> {
    let delay = rng.gen_range(config.delay_min..=config.delay_max);
    if config.fifo {
        let tail = &mut link.tail[usize::from(!forward)];
        let at = Millis((now.0 + delay).max(tail.0));
        *tail = at;
        return vec![at];
    }
    if rng.gen_bool(config.loss) {
        return Vec::new();
    }
    let mut times = vec![Millis(now.0 + delay)];
    if rng.gen_bool(config.duplicate) {
        let again = rng.gen_range(config.delay_min..=config.delay_max * 2);
        times.push(Millis(now.0 + again));
    }
    times
}
