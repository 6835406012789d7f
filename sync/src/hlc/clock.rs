//! The hybrid clock: physical time where it can, a logical counter where it
//! must.
//!
//! The rules are the usual HLC ones (Kulkarni et al., 2014). A local or send
//! event takes the physical time if it is ahead of the last timestamp, else
//! the last timestamp plus one. A receive event does the same against the
//! larger of the last and the remote timestamp. Because [`Hlc`] packs
//! milliseconds above the counter, "plus one" on the packed value carries a
//! full counter into the next millisecond instead of wrapping.
//!
//! A remote timestamp from a peer whose clock is far ahead would drag every
//! later local timestamp ahead with it, so [`HybridClock::update`] refuses
//! timestamps more than `max_offset` ahead of local physical time.
//!
//! What the clock guarantees, and what the property tests check:
//! - every timestamp issued is strictly greater than every timestamp issued,
//!   accepted or observed before it, whatever physical time does;
//! - a refused update changes nothing;
//! - the clock runs ahead of the highest physical reading it has seen by at
//!   most `max_offset` (plus one millisecond per 65,536 timestamps issued
//!   within one millisecond), unless [`HybridClock::observe`] fed it
//!   something further ahead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocol::Hlc;

use super::physical::PhysicalClock;

/// Why a remote timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The remote timestamp is further ahead of local physical time than the
    /// configured maximum offset allows.
    #[error(
        "remote clock {remote_ms} ms is {offset_ms} ms ahead of local {local_ms} ms \
         (max offset {max_offset_ms} ms)"
    )]
    TooFarAhead {
        /// The remote timestamp's physical part.
        remote_ms: u64,
        /// Local physical time when the timestamp was checked.
        local_ms: u64,
        /// `remote_ms - local_ms`.
        offset_ms: i64,
        /// The configured maximum offset.
        max_offset_ms: u64,
    },
}

/// A thread-safe hybrid logical clock.
///
/// All methods take `&self`; share one clock per region through an `Arc`.
#[derive(Debug)]
pub struct HybridClock {
    physical: Arc<dyn PhysicalClock>,
    max_offset_ms: u64,
    /// The last timestamp issued or observed, packed as in [`Hlc`].
    last: AtomicU64,
}

impl HybridClock {
    /// A clock reading `physical`, refusing remote timestamps more than
    /// `max_offset` ahead of it.
    pub fn new(physical: Arc<dyn PhysicalClock>, max_offset: Duration) -> Self {
        Self {
            physical,
            max_offset_ms: u64::try_from(max_offset.as_millis()).unwrap_or(u64::MAX),
            last: AtomicU64::new(0),
        }
    }

    /// The configured maximum offset.
    pub fn max_offset(&self) -> Duration {
        Duration::from_millis(self.max_offset_ms)
    }

    /// A timestamp for a local or send event, strictly greater than every
    /// timestamp this clock has issued or observed.
    pub fn now(&self) -> Hlc {
        let physical = Hlc::new(self.physical.now_ms(), 0);
        self.advance(|last| tick(last, physical))
    }

    /// Applies the receive rule for `remote` and returns the receive event's
    /// timestamp, greater than both the previous local timestamp and
    /// `remote`.
    ///
    /// # Errors
    ///
    /// [`ClockError::TooFarAhead`] if `remote` is more than `max_offset`
    /// ahead of local physical time; the clock is then left unchanged.
    pub fn update(&self, remote: Hlc) -> Result<Hlc, ClockError> {
        let local_ms = self.physical.now_ms();
        if remote.millis() > local_ms.saturating_add(self.max_offset_ms) {
            return Err(ClockError::TooFarAhead {
                remote_ms: remote.millis(),
                local_ms,
                offset_ms: signed_diff(remote.millis(), local_ms),
                max_offset_ms: self.max_offset_ms,
            });
        }
        let physical = Hlc::new(local_ms, 0);
        Ok(self.advance(|last| tick(last.max(remote), physical)))
    }

    /// Raises the clock to at least `remote` without checking the offset and
    /// without issuing a timestamp.
    ///
    /// Meant for timestamps read back from this region's own store at
    /// start-up, so the restarted clock never reissues a timestamp.
    pub fn observe(&self, remote: Hlc) {
        self.last.fetch_max(remote.0, Ordering::SeqCst);
    }

    /// The last timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        Hlc(self.last.load(Ordering::SeqCst))
    }

    /// Remote physical time minus local physical time, in milliseconds; what
    /// a region exports as the clock offset it sees per peer.
    pub fn offset_of(&self, remote: Hlc) -> i64 {
        signed_diff(remote.millis(), self.physical.now_ms())
    }

    /// Moves `last` to `next(last)` atomically and returns the new value.
    fn advance(&self, next: impl Fn(Hlc) -> Hlc) -> Hlc {
        let mut current = self.last.load(Ordering::SeqCst);
        loop {
            let candidate = next(Hlc(current));
            match self.last.compare_exchange_weak(
                current,
                candidate.0,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return candidate,
                Err(actual) => current = actual,
            }
        }
    }
}

/// The HLC step: physical time if it is ahead of `floor`, else `floor` plus
/// one. Adding one to the packed value moves a full logical counter to the
/// next millisecond, which is the overflow rule we want.
fn tick(floor: Hlc, physical: Hlc) -> Hlc {
    if physical.millis() > floor.millis() {
        physical
    } else {
        Hlc(floor.0.saturating_add(1))
    }
}

/// `a - b` as a signed number of milliseconds, saturating.
fn signed_diff(a: u64, b: u64) -> i64 {
    if a >= b {
        i64::try_from(a - b).unwrap_or(i64::MAX)
    } else {
        i64::try_from(b - a).map_or(i64::MIN, |d| -d)
    }
}

#[cfg(test)]
mod tests;
