//! Monotonic time as the state machines see it: whole milliseconds since
//! some start the caller picks. The async shell converts `Instant`s (see
//! [`Millis::since`]); simulations count their own clock, so tests never
//! wait on a real one.

use std::ops::Add;
use std::time::{Duration, Instant};

/// A point in monotonic time, in milliseconds since the caller's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// The time of `now` relative to `start` (zero if `now` is earlier).
    pub fn since(start: Instant, now: Instant) -> Self {
        let elapsed = now.saturating_duration_since(start).as_millis();
        Self(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn saturating_since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Millis {
    type Output = Millis;

    /// Saturates instead of overflowing: a deadline past the end of time is
    /// simply never reached.
    fn add(self, rhs: Duration) -> Millis {
        let millis = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Millis(self.0.saturating_add(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Millis(1_000);
        assert_eq!(t + Duration::from_millis(250), Millis(1_250));
        assert_eq!(
            Millis(u64::MAX - 1) + Duration::from_secs(5),
            Millis(u64::MAX)
        );
        assert_eq!(
            Millis(1_250).saturating_since(t),
            Duration::from_millis(250)
        );
        assert_eq!(t.saturating_since(Millis(1_250)), Duration::ZERO);
    }

    #[test]
    fn since_counts_from_start() {
        let start = Instant::now();
        let later = start + Duration::from_millis(1_500);
        assert_eq!(Millis::since(start, later), Millis(1_500));
        assert_eq!(Millis::since(later, start), Millis(0));
    }
}
