//! Capped exponential backoff with jitter for the dialer, so a mesh whose
//! peer is down does not hammer it and many regions do not retry in lockstep.

use std::time::Duration;

use super::rng::SplitMix64;

/// Delays that double from `min` up to `max`; each returned delay is drawn
/// from the upper half of the current step ("equal jitter").
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
    rng: SplitMix64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, seed: u64) -> Self {
        let min = min.max(Duration::from_millis(1));
        Self {
            min,
            max: max.max(min),
            current: min,
            rng: SplitMix64::new(seed),
        }
    }

    /// The next delay to wait, then the step grows.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self.current;
        self.current = (self.current * 2).min(self.max);
        step / 2 + self.rng.duration_up_to(step / 2)
    }

    /// Back to the shortest step, after a connection that worked.
    pub(crate) fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn delays_stay_within_half_step_and_cap(min_ms in 1u64..500, extra_ms in 0u64..5000, seed: u64, n in 1usize..40) {
            let min = Duration::from_millis(min_ms);
            let max = min + Duration::from_millis(extra_ms);
            let mut b = Backoff::new(min, max, seed);
            let mut step = min;
            for _ in 0..n {
                let d = b.next_delay();
                prop_assert!(d >= step / 2 && d <= step, "{d:?} outside [{:?}, {step:?}]", step / 2);
                prop_assert!(d <= max);
                step = (step * 2).min(max);
            }
        }
    }

    #[test]
    fn reset_returns_to_the_first_step() {
        let min = Duration::from_millis(100);
        let mut b = Backoff::new(min, Duration::from_secs(10), 9);
        for _ in 0..10 {
            b.next_delay();
        }
        assert!(b.next_delay() >= Duration::from_secs(5));
        b.reset();
        assert!(b.next_delay() <= min);
    }
}
