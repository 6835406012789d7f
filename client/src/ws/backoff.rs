//! [`Backoff`]: exponential reconnect delays with jitter, so clients that
//! lost the same server do not all come back in the same instant.

use std::time::Duration;

/// Delays that double from `initial` up to `max`, each scaled by a jitter
/// factor in `[0.5, 1.0]`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial` and never above `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The delay before the next attempt; `jitter` in `[0, 1]` picks where in
    /// `[delay / 2, delay]` it falls.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let doubled = self
            .initial
            .saturating_mul(1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX));
        let delay = doubled.min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        delay.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }

    /// A delay with random jitter.
    pub fn next_random(&mut self) -> Duration {
        self.next_delay(rand::random::<f64>())
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let full: Vec<_> = (0..6).map(|_| backoff.next_delay(1.0)).collect();
        let ms: Vec<_> = full.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(0.0), Duration::from_millis(50));
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..100 {
            assert!(backoff.next_random() <= Duration::from_secs(30));
        }
    }
}
