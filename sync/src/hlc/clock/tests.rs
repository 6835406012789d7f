//! Unit tests and property tests of the hybrid clock's laws.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::hlc::physical::ManualClock;

const START_MS: u64 = 1_700_000_000_000;
const MAX_OFFSET_MS: u64 = 500;

fn clock_at(ms: u64) -> (Arc<ManualClock>, HybridClock) {
    let physical = Arc::new(ManualClock::new(ms));
    let clock = HybridClock::new(physical.clone(), Duration::from_millis(MAX_OFFSET_MS));
    (physical, clock)
}

#[test]
fn now_follows_physical_time_when_it_moves() {
    let (physical, clock) = clock_at(START_MS);
    assert_eq!(clock.now(), Hlc::new(START_MS, 0));
    assert_eq!(clock.now(), Hlc::new(START_MS, 1));
    physical.advance(7);
    assert_eq!(clock.now(), Hlc::new(START_MS + 7, 0));
    assert_eq!(clock.last(), Hlc::new(START_MS + 7, 0));
}

#[test]
fn physical_time_going_backwards_only_bumps_the_counter() {
    let (physical, clock) = clock_at(START_MS);
    let first = clock.now();
    physical.set(START_MS - 10_000);
    assert_eq!(clock.now(), Hlc::new(START_MS, 1));
    assert!(clock.now() > first);
}

#[test]
fn logical_overflow_moves_to_the_next_millisecond() {
    let (_physical, clock) = clock_at(START_MS);
    let mut previous = clock.now();
    for _ in 0..70_000 {
        let next = clock.now();
        assert!(next > previous);
        previous = next;
    }
    // 70,001 timestamps in one physical millisecond: 65,536 fill it, the
    // rest spill into the next one instead of wrapping the counter.
    assert_eq!(previous, Hlc::new(START_MS + 1, 4_464));
}

#[test]
fn update_orders_after_the_remote_timestamp() {
    let (_physical, clock) = clock_at(START_MS);
    clock.now();
    let remote = Hlc::new(START_MS + 200, 9);
    let received = clock.update(remote).expect("200 ms is within the offset");
    assert_eq!(received, Hlc::new(START_MS + 200, 10));
    assert!(clock.now() > remote);

    let older = Hlc::new(START_MS - 5, 3);
    let before = clock.last();
    assert_eq!(clock.update(older), Ok(Hlc(before.0 + 1)));
}

#[test]
fn update_too_far_ahead_is_refused_and_changes_nothing() {
    let (_physical, clock) = clock_at(START_MS);
    let before = clock.now();
    let remote = Hlc::new(START_MS + MAX_OFFSET_MS + 1, 0);
    assert_eq!(
        clock.update(remote),
        Err(ClockError::TooFarAhead {
            remote_ms: START_MS + MAX_OFFSET_MS + 1,
            local_ms: START_MS,
            offset_ms: 501,
            max_offset_ms: MAX_OFFSET_MS,
        })
    );
    assert_eq!(clock.last(), before);
    let at_the_limit = Hlc::new(START_MS + MAX_OFFSET_MS, 0);
    assert!(clock.update(at_the_limit).is_ok());
}

#[test]
fn observe_raises_the_clock_without_a_guard() {
    let (_physical, clock) = clock_at(START_MS);
    let stored = Hlc::new(START_MS + 3_600_000, 4);
    clock.observe(stored);
    assert_eq!(clock.last(), stored);
    assert_eq!(clock.now(), Hlc::new(START_MS + 3_600_000, 5));
    clock.observe(Hlc::new(START_MS, 0));
    assert_eq!(clock.last(), Hlc::new(START_MS + 3_600_000, 5));
}

#[test]
fn offset_of_is_remote_minus_local_physical_time() {
    let (_physical, clock) = clock_at(START_MS);
    assert_eq!(clock.offset_of(Hlc::new(START_MS + 40, 0)), 40);
    assert_eq!(clock.offset_of(Hlc::new(START_MS - 75, 12)), -75);
    assert_eq!(clock.max_offset(), Duration::from_millis(MAX_OFFSET_MS));
}

#[test]
fn concurrent_callers_never_share_a_timestamp() {
    let (_physical, clock) = clock_at(START_MS);
    let clock = Arc::new(clock);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let clock = clock.clone();
            std::thread::spawn(move || (0..5_000).map(|_| clock.now()).collect::<Vec<_>>())
        })
        .collect();
    let mut seen = HashSet::new();
    for handle in handles {
        let issued = handle.join().expect("clock threads do not panic");
        assert!(issued.windows(2).all(|pair| pair[0] < pair[1]));
        for stamp in issued {
            assert!(seen.insert(stamp), "{stamp} issued twice");
        }
    }
    assert_eq!(seen.len(), 20_000);
}

#[derive(Debug, Clone)]
enum Op {
    Now,
    /// A remote timestamp this many ms from current physical time.
    Update(i64, u16),
    /// A stored timestamp this many ms from current physical time.
    Observe(i64, u16),
    /// Moves physical time by this many ms, backwards too.
    Shift(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let offset = MAX_OFFSET_MS as i64;
    prop_oneof![
        4 => Just(Op::Now),
        3 => (-3 * offset..3 * offset, any::<u16>()).prop_map(|(d, l)| Op::Update(d, l)),
        1 => (-3 * offset..3 * offset, any::<u16>()).prop_map(|(d, l)| Op::Observe(d, l)),
        2 => (-2_000i64..2_000).prop_map(Op::Shift),
    ]
}

fn shifted(ms: u64, delta: i64) -> u64 {
    ms.saturating_add_signed(delta)
}

proptest! {
    #[test]
    fn clock_laws_hold_over_random_interleavings(ops in prop::collection::vec(op(), 1..200)) {
        let (physical, clock) = clock_at(START_MS);
        // Everything issued, accepted or observed so far: the next issued
        // timestamp must be above it.
        let mut floor = Hlc(0);
        // The highest physical reading the clock has taken.
        let mut max_physical = 0u64;
        // The largest input the clock took in (physical readings, accepted
        // remotes, observed values), and the same with each accepted remote
        // replaced by the most the guard lets through.
        let mut ceiling = Hlc(0);
        let mut guard_ceiling = Hlc(0);
        let mut issued = 0u64;

        for op in ops {
            let now_ms = physical.now_ms();
            match op {
                Op::Now => {
                    max_physical = max_physical.max(now_ms);
                    ceiling = ceiling.max(Hlc::new(now_ms, 0));
                    let stamp = clock.now();
                    prop_assert!(stamp > floor, "{stamp} not above {floor}");
                    floor = stamp;
                    issued += 1;
                }
                Op::Update(delta, logical) => {
                    max_physical = max_physical.max(now_ms);
                    let remote = Hlc::new(shifted(now_ms, delta), logical);
                    let before = clock.last();
                    match clock.update(remote) {
                        Ok(stamp) => {
                            prop_assert!(remote.millis() <= now_ms + MAX_OFFSET_MS);
                            prop_assert!(stamp > floor && stamp > remote);
                            ceiling = ceiling.max(remote).max(Hlc::new(now_ms, 0));
                            floor = stamp;
                            issued += 1;
                        }
                        Err(ClockError::TooFarAhead { remote_ms, local_ms, .. }) => {
                            prop_assert!(remote.millis() > now_ms + MAX_OFFSET_MS);
                            prop_assert_eq!((remote_ms, local_ms), (remote.millis(), now_ms));
                            prop_assert_eq!(clock.last(), before);
                        }
                    }
                }
                Op::Observe(delta, logical) => {
                    let stored = Hlc::new(shifted(now_ms, delta), logical);
                    clock.observe(stored);
                    floor = floor.max(stored);
                    ceiling = ceiling.max(stored);
                    guard_ceiling = guard_ceiling.max(stored);
                }
                Op::Shift(delta) => physical.set(shifted(now_ms, delta)),
            }
            // Causality: the clock never reads below anything it has seen.
            prop_assert!(clock.last() >= floor);
            // Bounded drift: each issued timestamp adds at most one tick to
            // the largest input, so ticking alone cannot run away...
            prop_assert!(clock.last().0 <= ceiling.0 + issued);
            // ...and accepted remotes are at most max_offset ahead, so the
            // clock stays within max_offset of the physical time it has seen.
            let allowed = guard_ceiling.max(Hlc::new(max_physical + MAX_OFFSET_MS, u16::MAX));
            prop_assert!(clock.last().0 <= allowed.0 + issued);
        }
    }

    #[test]
    fn without_remotes_the_clock_tracks_physical_time(
        shifts in prop::collection::vec(-1_000i64..1_000, 1..100),
    ) {
        let (physical, clock) = clock_at(START_MS);
        let mut max_physical = 0;
        let mut previous = Hlc(0);
        for (calls, delta) in (1u64..).zip(shifts) {
            physical.set(shifted(physical.now_ms(), delta));
            max_physical = max_physical.max(physical.now_ms());
            let stamp = clock.now();
            prop_assert!(stamp > previous);
            // Fewer than 65,536 calls: never past the highest physical
            // millisecond seen.
            prop_assert_eq!(stamp.millis(), max_physical);
            prop_assert!(u64::from(stamp.logical()) < calls);
            previous = stamp;
        }
    }
}
