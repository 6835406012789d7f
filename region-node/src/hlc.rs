//! The node's hybrid logical clock, `sync`'s [`HybridClock`] over the
//! system clock (skewed, for tests, by a configured offset): it never goes
//! backwards, ticks past every timestamp it issues or accepts, and refuses
//! peers whose clocks run further ahead than the mesh allows.

use std::sync::Arc;
use std::time::Duration;

use protocol::Hlc;
use sync::hlc::{ClockError, HybridClock, SkewedClock, SystemClock};

/// A monotonic HLC source shared by the node.
#[derive(Debug)]
pub struct HlcClock {
    clock: HybridClock,
    skew: Arc<SkewedClock>,
    last_offset: offsets::Offsets,
}

impl Default for HlcClock {
    fn default() -> Self {
        Self::new(Duration::from_millis(500), 0)
    }
}

impl HlcClock {
    /// A clock on the system time plus `skew_ms`, refusing remote
    /// timestamps more than `max_offset` ahead.
    pub fn new(max_offset: Duration, skew_ms: i64) -> Self {
        let skew = Arc::new(SkewedClock::new(Arc::new(SystemClock), skew_ms));
        Self {
            clock: HybridClock::new(skew.clone(), max_offset),
            skew,
            last_offset: offsets::Offsets::default(),
        }
    }

    /// A timestamp greater than every one this clock issued or accepted.
    pub fn now(&self) -> Hlc {
        self.clock.now()
    }

    /// Moves the clock past `seen` without a guard (timestamps read back
    /// from this region's own store).
    pub fn observe(&self, seen: Hlc) {
        self.clock.observe(seen);
    }

    /// Moves the clock past a peer's timestamp, unless it is too far ahead.
    pub fn update(&self, remote: Hlc) -> Result<Hlc, ClockError> {
        self.clock.update(remote)
    }

    /// The admission check of a peer link: the peer's clock, as its hello
    /// reports it, must not run ahead of ours by more than the maximum
    /// offset. Records the offset seen.
    pub fn admit(&self, peer: &str, peer_hlc: Hlc) -> Result<(), String> {
        self.last_offset.set(peer, self.clock.offset_of(peer_hlc));
        match self.clock.update(peer_hlc) {
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(%peer, %error, "refusing a peer whose clock runs too far ahead");
                Err(format!("clock offset: {error}"))
            }
        }
    }

    /// The last clock offset seen from each peer, in milliseconds (theirs
    /// minus ours).
    pub fn offsets(&self) -> Vec<(String, i64)> {
        self.last_offset.all()
    }

    /// Changes the test skew of the physical clock.
    pub fn set_skew_ms(&self, skew_ms: i64) {
        self.skew.set_offset_ms(skew_ms);
    }
}

/// Per-peer offsets behind a short lock.
mod offsets {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    pub struct Offsets(Mutex<BTreeMap<String, i64>>);

    impl Offsets {
        pub fn set(&self, peer: &str, offset: i64) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(peer.to_owned(), offset);
        }

        pub fn all(&self) -> Vec<(String, i64)> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards_and_passes_observed_times() {
        let clock = HlcClock::default();
        let mut prev = clock.now();
        for _ in 0..10_000 {
            let next = clock.now();
            assert!(next > prev);
            prev = next;
        }
        let future = Hlc::new(crate::clock::now_ms() + 60_000, 7);
        clock.observe(future);
        assert!(clock.now() > future);
    }

    #[test]
    fn refuses_peers_too_far_ahead() {
        let clock = HlcClock::new(Duration::from_millis(500), 0);
        let near = Hlc::new(crate::clock::now_ms() + 100, 0);
        assert!(clock.admit("eu-west", near).is_ok());
        let far = Hlc::new(crate::clock::now_ms() + 5_000, 0);
        let error = clock.admit("us-east", far).unwrap_err();
        assert!(error.contains("clock offset"), "{error}");
        assert!(
            clock
                .offsets()
                .iter()
                .any(|(p, o)| p == "us-east" && *o > 4_000)
        );
    }
}
