//! The reconnect schedule every chatmesh dialer follows — a client's
//! WebSocket session, a region's QUIC link, the harness's watchers: delays
//! that double from a minimum up to a cap, each drawn from the upper half of
//! its step ("equal jitter"), so many dialers that lost the same peer do not
//! come back in the same instant, and none waits less than half a step.
//!
//! The schedule draws no randomness itself: the caller hands in a jitter in
//! `[0, 1]` (random in production, fixed in tests), so it needs no I/O and
//! no random number generator.

use std::time::Duration;

/// The shortest step: a zero minimum would retry in a busy loop.
const FLOOR: Duration = Duration::from_millis(1);

/// Delays that double from `min` up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// A schedule starting at `min` (at least 1 ms) and never above `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(FLOOR);
        Self {
            min,
            max: max.max(min),
            current: min,
        }
    }

    /// The delay before the next attempt, then the step grows. `jitter` in
    /// `[0, 1]` picks where in `[step / 2, step]` it falls; values outside
    /// are clamped, and NaN counts as 0.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let step = self.current;
        self.current = step.saturating_mul(2).min(self.max);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let half = step / 2;
        half.saturating_add(half.mul_f64(jitter)).min(step)
    }

    /// Back to the shortest step, after an attempt that worked.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn delays_stay_within_half_step_and_cap(
            min_ms in 1u64..500,
            extra_ms in 0u64..5000,
            jitters in proptest::collection::vec(0.0f64..=1.0, 1..40),
        ) {
            let min = Duration::from_millis(min_ms);
            let max = min + Duration::from_millis(extra_ms);
            let mut b = Backoff::new(min, max);
            let mut step = min;
            for jitter in jitters {
                let d = b.next_delay(jitter);
                prop_assert!(d >= step / 2 && d <= step, "{d:?} outside [{:?}, {step:?}]", step / 2);
                prop_assert!(d <= max);
                step = (step * 2).min(max);
            }
        }
    }

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
        for i in 0..100 {
            assert!(backoff.next_delay(f64::from(i % 3) / 2.0) <= Duration::from_secs(30));
        }
        let mut huge = Backoff::new(Duration::MAX / 2, Duration::MAX);
        for _ in 0..4 {
            assert!(huge.next_delay(1.0) <= Duration::MAX);
        }
    }

    #[test]
    fn a_zero_minimum_still_waits() {
        let mut backoff = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(backoff.next_delay(1.0), FLOOR);
        assert!(backoff.next_delay(f64::NAN) >= FLOOR / 2);
    }
}
