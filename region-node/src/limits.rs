//! The node's limits in one place: the bounds the edges check before any
//! store or CPU-heavy work, and the rate limiters (sends and typing per
//! device, registrations per client address). Per-chat limits (ids,
//! members, titles, message sizes) live in `chat_core::rules`; both are
//! listed in `docs/protocol.md` ("Limits").

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Longest request URI in bytes; longer ones answer `414`.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Most messages' bytes (their texts) one history page or replay page
/// holds; a page stops early (with `has_more`) rather than exceed it.
pub const MAX_PAGE_TEXT_BYTES: usize = 2 * 1024 * 1024;

/// History pages read at once; further readers wait their turn, so the
/// memory pages take stays bounded however many arrive together.
pub const CONCURRENT_HISTORY_READS: usize = 4;

/// Typing frames per device: this many per second on average.
const TYPING_PER_SECOND: NonZeroU32 = nonzero(5);
/// Typing frames per device at once.
const TYPING_BURST: NonZeroU32 = nonzero(10);

const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// How long one write to a WebSocket may stall before the connection is
/// dropped as a slow consumer.
pub const WRITE_STALL: Duration = Duration::from_secs(10);

/// The node's rate limiters; cheap to clone.
#[derive(Clone)]
pub struct Limits {
    sends: Arc<DefaultKeyedRateLimiter<String>>,
    typing: Arc<DefaultKeyedRateLimiter<String>>,
    registrations: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    history: Arc<tokio::sync::Semaphore>,
}

fn wait_secs(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
    not_until.wait_time_from(now).as_secs().max(1)
}

impl Limits {
    /// `per_second` sends per device on average, `burst` at once;
    /// `registrations` accounts per client address per hour.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32, registrations: NonZeroU32) -> Self {
        let sends = Quota::per_second(per_second).allow_burst(burst);
        let typing = Quota::per_second(TYPING_PER_SECOND).allow_burst(TYPING_BURST);
        let registrations = Quota::per_hour(registrations);
        Self {
            sends: Arc::new(RateLimiter::keyed(sends)),
            typing: Arc::new(RateLimiter::keyed(typing)),
            registrations: Arc::new(RateLimiter::keyed(registrations)),
            history: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_HISTORY_READS)),
        }
    }

    /// A turn to read a history page; held while the page is read and
    /// answered.
    pub async fn history_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.history.clone().acquire_owned().await.ok()
    }

    /// Takes one send from the device's bucket; `Err(seconds to wait)` when empty.
    pub fn check_send(&self, device: &str) -> Result<(), u64> {
        let key = device.to_owned();
        self.sends.check_key(&key).map_err(wait_secs)?;
        if self.sends.len() > 100_000 {
            self.sends.retain_recent();
        }
        Ok(())
    }

    /// Takes one typing frame from the device's bucket.
    pub fn check_typing(&self, device: &str) -> Result<(), u64> {
        let key = device.to_owned();
        self.typing.check_key(&key).map_err(wait_secs)?;
        if self.typing.len() > 100_000 {
            self.typing.retain_recent();
        }
        Ok(())
    }

    /// Takes one registration from the client address's bucket.
    pub fn check_registration(&self, from: IpAddr) -> Result<(), u64> {
        self.registrations.check_key(&from).map_err(wait_secs)?;
        if self.registrations.len() > 100_000 {
            self.registrations.retain_recent();
        }
        Ok(())
    }
}
