//! The node's hybrid logical clock: never goes backwards, and ticks past
//! every timestamp it issues, so messages a node sequences carry increasing
//! HLCs. (Cross-region updates from remote clocks come with the mesh.)

use std::sync::Mutex;

use protocol::Hlc;

use crate::clock::now_ms;

/// A monotonic HLC source.
#[derive(Debug, Default)]
pub struct HlcClock {
    last: Mutex<u64>,
}

impl HlcClock {
    /// A clock starting at the current physical time.
    pub fn new() -> Self {
        Self::default()
    }

    /// A timestamp greater than every one this clock issued before.
    pub fn now(&self) -> Hlc {
        let physical = Hlc::new(now_ms(), 0).0;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = physical.max(*last + 1);
        Hlc(*last)
    }

    /// Moves the clock past `seen` (a timestamp read from the store or a peer).
    pub fn observe(&self, seen: Hlc) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = (*last).max(seen.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards_and_passes_observed_times() {
        let clock = HlcClock::new();
        let mut prev = clock.now();
        for _ in 0..10_000 {
            let next = clock.now();
            assert!(next > prev);
            prev = next;
        }
        let future = Hlc::new(now_ms() + 60_000, 7);
        clock.observe(future);
        assert!(clock.now() > future);
    }
}
