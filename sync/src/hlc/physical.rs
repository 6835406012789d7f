//! Physical time as an injectable dependency.
//!
//! The hybrid clock never reads the system time itself: it asks a
//! [`PhysicalClock`]. Production uses [`SystemClock`]; tests and simulations
//! drive a [`ManualClock`]; the consistency harness wraps a region's clock in
//! a [`SkewedClock`] and shifts it while the region runs.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of physical time in milliseconds since the Unix epoch.
///
/// Readings may go backwards (NTP steps, a skew being changed); the hybrid
/// clock stays monotonic regardless.
pub trait PhysicalClock: Send + Sync + Debug {
    /// The current physical time, milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl PhysicalClock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A system clock set before 1970 is treated as the epoch itself; the
        // hybrid clock's logical counter keeps ordering intact meanwhile.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to; share it through an `Arc`.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self {
            now_ms: AtomicU64::new(start_ms),
        }
    }

    /// Sets the reading, forwards or backwards.
    pub fn set(&self, ms: u64) {
        self.now_ms.store(ms, Ordering::SeqCst);
    }

    /// Moves the reading forwards by `ms`, saturating at `u64::MAX`.
    pub fn advance(&self, ms: u64) {
        // fetch_update cannot fail here: the closure always returns Some.
        let _ = self
            .now_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(ms))
            });
    }
}

impl PhysicalClock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

/// Another clock shifted by an offset that can change while it is in use.
#[derive(Debug)]
pub struct SkewedClock {
    inner: Arc<dyn PhysicalClock>,
    offset_ms: AtomicI64,
}

impl SkewedClock {
    /// Wraps `inner`, reading `offset_ms` ahead of it (behind if negative).
    pub fn new(inner: Arc<dyn PhysicalClock>, offset_ms: i64) -> Self {
        Self {
            inner,
            offset_ms: AtomicI64::new(offset_ms),
        }
    }

    /// Changes the offset; the next reading uses it.
    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::SeqCst);
    }

    /// The offset currently applied.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

impl PhysicalClock for SkewedClock {
    fn now_ms(&self) -> u64 {
        let base = self.inner.now_ms();
        let offset = self.offset_ms();
        // Saturate rather than wrap: a skew past the epoch reads as 0.
        if offset >= 0 {
            base.saturating_add(offset.unsigned_abs())
        } else {
            base.saturating_sub(offset.unsigned_abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(250);
        assert_eq!(clock.now_ms(), 1_250);
        clock.set(900);
        assert_eq!(clock.now_ms(), 900);
        clock.set(u64::MAX - 1);
        clock.advance(5);
        assert_eq!(clock.now_ms(), u64::MAX);
    }

    #[test]
    fn skewed_clock_follows_its_inner_clock_and_live_offset() {
        let base = Arc::new(ManualClock::new(10_000));
        let skewed = SkewedClock::new(base.clone(), 500);
        assert_eq!(skewed.now_ms(), 10_500);
        base.advance(100);
        assert_eq!(skewed.now_ms(), 10_600);
        skewed.set_offset_ms(-600);
        assert_eq!(skewed.offset_ms(), -600);
        assert_eq!(skewed.now_ms(), 9_500);
        skewed.set_offset_ms(-20_000);
        assert_eq!(skewed.now_ms(), 0);
    }

    #[test]
    fn system_clock_reads_after_2020() {
        // 2020-01-01 in ms: any real machine running this is past it.
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
