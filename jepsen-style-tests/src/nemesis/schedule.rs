//! The seeded plan of faults: when each starts, how long it holds, and what
//! it targets, computed up front from the seed alone so a run's faults can
//! be replayed.
//!
//! Each kind of fault has its own lane: faults of one kind follow each other
//! with quiet gaps, while different kinds run independently and may overlap.
//! Kills and pauses never hit a region another kill or pause holds at the
//! same time, so a fault's stop always undoes its own start.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::cluster::LinkFaults;

use super::Kind;
use super::fault::FaultSpec;
use super::partition::Partition;

/// One planned fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// When it starts, from the start of the workload.
    pub at: Duration,
    /// How long it holds.
    pub hold: Duration,
    /// What it does.
    pub fault: FaultSpec,
}

/// What a plan is made from.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// The kinds of fault to inject.
    pub kinds: Vec<Kind>,
    /// The regions, in topology order.
    pub regions: Vec<String>,
    /// How long the workload runs; every fault ends by then.
    pub duration: Duration,
    /// The mesh's largest accepted clock offset.
    pub max_offset_ms: u64,
    /// The run's seed.
    pub seed: u64,
}

/// Longest single fault.
const MAX_HOLD_MS: u64 = 15_000;

/// The plan, ordered by start time.
pub fn plan(settings: &PlanSettings) -> Vec<Planned> {
    let mut all = Vec::new();
    for kind in &settings.kinds {
        if kind.needs_links() && settings.regions.len() < 2 {
            // Links need two regions; process and clock faults still apply.
            continue;
        }
        let mut rng = StdRng::seed_from_u64(lane_seed(settings.seed, *kind));
        let windows = windows(*kind, settings.duration, &mut rng);
        let beyond_at = (*kind == Kind::Skew && windows.len() >= 2).then_some(windows.len() / 2);
        for (i, (at, hold)) in windows.into_iter().enumerate() {
            let fault = target(*kind, settings, beyond_at == Some(i), &mut rng);
            all.push(Planned { at, hold, fault });
        }
    }
    all.sort_by_key(|p| p.at);
    separate_process_faults(all, &settings.regions, settings.seed)
}

/// Spreads the seed per kind (SplitMix64's finaliser), so adding a kind does
/// not change the others' lanes.
fn lane_seed(seed: u64, kind: Kind) -> u64 {
    let mut z = seed.wrapping_add((kind as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The (start, hold) windows of one lane: a quiet start, then faults of a
/// few seconds to ~15 s with quiet gaps, all ending by `duration`.
fn windows(kind: Kind, duration: Duration, rng: &mut StdRng) -> Vec<(Duration, Duration)> {
    let (min_hold, max_hold) = match kind {
        Kind::Partition => (4_000, MAX_HOLD_MS),
        Kind::Slow => (4_000, 12_000),
        Kind::Kill => (2_000, 8_000),
        Kind::Pause => (2_000, 8_000),
        Kind::Skew => (4_000, 10_000),
    };
    let end = duration.as_millis() as u64;
    let mut t = rng.gen_range(1_000..=4_000);
    let mut out = Vec::new();
    while t + min_hold <= end.saturating_sub(1_000) {
        let latest = end.saturating_sub(1_000) - t;
        let hold = rng.gen_range(min_hold..=max_hold.min(latest));
        out.push((Duration::from_millis(t), Duration::from_millis(hold)));
        t += hold + rng.gen_range(2_000..=6_000);
    }
    out
}

/// Picks what a fault of `kind` targets.
fn target(kind: Kind, settings: &PlanSettings, beyond_max: bool, rng: &mut StdRng) -> FaultSpec {
    let regions = &settings.regions;
    let any_region = |rng: &mut StdRng| regions[rng.gen_range(0..regions.len())].clone();
    match kind {
        Kind::Partition => FaultSpec::Partition(Partition::random(regions, rng)),
        Kind::Slow => {
            let pairs: Vec<(String, String)> = regions
                .iter()
                .enumerate()
                .flat_map(|(i, a)| regions[i + 1..].iter().map(move |b| (a.clone(), b.clone())))
                .collect();
            let links = if rng.gen_bool(0.5) {
                pairs
            } else {
                let region = any_region(rng);
                pairs
                    .into_iter()
                    .filter(|(a, b)| *a == region || *b == region)
                    .collect()
            };
            let delay = rng.gen_range(80..=300);
            FaultSpec::Slow {
                links,
                faults: LinkFaults {
                    delay: Duration::from_millis(delay),
                    jitter: Duration::from_millis(rng.gen_range(0..=delay / 4)),
                    loss: f64::from(rng.gen_range(5u32..=20)) / 100.0,
                    duplicate: f64::from(rng.gen_range(0u32..=5)) / 100.0,
                },
            }
        }
        // Chosen again by `separate_process_faults`.
        Kind::Kill => FaultSpec::Kill(any_region(rng)),
        Kind::Pause => FaultSpec::Pause(any_region(rng)),
        Kind::Skew => {
            let max = settings.max_offset_ms as i64;
            let magnitude = if beyond_max {
                max + rng.gen_range(300..=1_000)
            } else {
                // Within what the mesh accepts, with room for the offset
                // peers already have between them.
                let bound = (max * 4 / 5).clamp(1, 1_500);
                rng.gen_range((bound / 4).max(1)..=bound)
            };
            let sign = if rng.gen_bool(0.5) { 1 } else { -1 };
            FaultSpec::Skew {
                region: any_region(rng),
                skew_ms: sign * magnitude,
                beyond_max,
            }
        }
    }
}

/// Re-targets kills and pauses, in start order, at regions no other kill
/// or pause holds during their window; drops one when every region is busy.
fn separate_process_faults(planned: Vec<Planned>, regions: &[String], seed: u64) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_0FC0_FFEE);
    let mut busy: Vec<(String, Duration)> = Vec::new();
    let mut out = Vec::with_capacity(planned.len());
    for mut p in planned {
        let region = match &mut p.fault {
            FaultSpec::Kill(region) | FaultSpec::Pause(region) => region,
            _ => {
                out.push(p);
                continue;
            }
        };
        busy.retain(|(_, until)| *until > p.at);
        let mut free: Vec<&String> = regions
            .iter()
            .filter(|r| !busy.iter().any(|(b, _)| b == *r))
            .collect();
        free.shuffle(&mut rng);
        let Some(choice) = free.first() else {
            continue;
        };
        *region = (*choice).clone();
        busy.push((region.clone(), p.at + p.hold));
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn settings(kinds: Vec<Kind>, secs: u64, seed: u64) -> PlanSettings {
        PlanSettings {
            kinds,
            regions: vec!["eu-west".into(), "us-east".into(), "ap-south".into()],
            duration: Duration::from_secs(secs),
            max_offset_ms: 500,
            seed,
        }
    }

    #[test]
    fn a_forty_second_run_gets_every_kind_asked_for() {
        let kinds = vec![Kind::Partition, Kind::Kill, Kind::Pause, Kind::Slow];
        let plan = plan(&settings(kinds.clone(), 40, 7));
        for kind in kinds {
            assert!(
                plan.iter().any(|p| p.fault.kind() == kind),
                "{kind:?} missing from {plan:?}"
            );
        }
    }

    #[test]
    fn skew_goes_beyond_the_max_offset_once_and_stays_within_it_otherwise() {
        let plan = plan(&settings(vec![Kind::Skew], 120, 3));
        let skews: Vec<(i64, bool)> = plan
            .iter()
            .filter_map(|p| match &p.fault {
                FaultSpec::Skew {
                    skew_ms,
                    beyond_max,
                    ..
                } => Some((*skew_ms, *beyond_max)),
                _ => None,
            })
            .collect();
        assert!(skews.len() >= 2, "{skews:?}");
        assert_eq!(skews.iter().filter(|(_, beyond)| *beyond).count(), 1);
        for (ms, beyond) in skews {
            if beyond {
                assert!(ms.unsigned_abs() > 500);
            } else {
                assert!(ms.unsigned_abs() <= 400 && ms != 0);
            }
        }
    }

    #[test]
    fn no_kinds_no_faults() {
        assert!(plan(&settings(Vec::new(), 60, 1)).is_empty());
    }

    proptest! {
        #[test]
        fn plans_are_replayable_in_bounds_and_never_stack_process_faults(
            seed in any::<u64>(),
            secs in 5u64..200,
            mask in 1u8..32,
        ) {
            let kinds: Vec<Kind> = Kind::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, k)| *k)
                .collect();
            let s = settings(kinds, secs, seed);
            let a = plan(&s);
            prop_assert_eq!(&a, &plan(&s));
            for p in &a {
                prop_assert!(p.at + p.hold <= s.duration);
                prop_assert!(p.hold >= Duration::from_secs(2));
                prop_assert!(p.hold <= Duration::from_millis(MAX_HOLD_MS));
            }
            for w in a.windows(2) {
                prop_assert!(w[0].at <= w[1].at);
            }
            for kind in Kind::ALL {
                let lane: Vec<&Planned> = a.iter().filter(|p| p.fault.kind() == kind).collect();
                for w in lane.windows(2) {
                    prop_assert!(w[0].at + w[0].hold < w[1].at, "{kind:?} faults overlap");
                }
            }
            let process: Vec<&Planned> = a
                .iter()
                .filter(|p| matches!(p.fault, FaultSpec::Kill(_) | FaultSpec::Pause(_)))
                .collect();
            for (i, x) in process.iter().enumerate() {
                for y in &process[i + 1..] {
                    let overlap = x.at < y.at + y.hold && y.at < x.at + x.hold;
                    prop_assert!(!(overlap && x.fault.regions() == y.fault.regions()));
                }
            }
        }
    }
}
