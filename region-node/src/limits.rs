//! Request rate limits: sends per device, shared by HTTP and WebSocket.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The node's rate limiters; cheap to clone.
#[derive(Clone)]
pub struct Limits {
    sends: Arc<DefaultKeyedRateLimiter<String>>,
}

impl Limits {
    /// `per_second` sends per device on average, `burst` at once.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            sends: Arc::new(RateLimiter::keyed(quota)),
        }
    }

    /// Takes one send from the device's bucket; `Err(seconds to wait)` when empty.
    pub fn check_send(&self, device: &str) -> Result<(), u64> {
        let key = device.to_owned();
        self.sends.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            wait.as_secs().max(1)
        })?;
        if self.sends.len() > 100_000 {
            self.sends.retain_recent();
        }
        Ok(())
    }
}
