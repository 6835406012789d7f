//! Partition shapes and the directed region pairs each one blocks, decided
//! without touching the network so the shapes can be tested on their own.

use std::collections::BTreeSet;

use rand::Rng;
use rand::seq::SliceRandom;

/// A way to split the mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partition {
    /// One region cut off from all others, both ways.
    Isolate(String),
    /// Two sides; no traffic crosses between them either way.
    Split {
        /// The smaller side.
        minority: Vec<String>,
        /// The larger side.
        majority: Vec<String>,
    },
    /// `a`–`bridge` and `bridge`–`b` stay up, `a`–`b` is cut: `bridge` sees
    /// both, they do not see each other.
    Bridge {
        /// One end.
        a: String,
        /// The region that sees both.
        bridge: String,
        /// The other end.
        b: String,
    },
    /// Traffic from `from` to `to` is dropped; the other way flows.
    OneWay {
        /// The sender whose packets are dropped.
        from: String,
        /// The receiver.
        to: String,
    },
}

impl Partition {
    /// A random shape over `regions` (at least two).
    pub fn random(regions: &[String], rng: &mut impl Rng) -> Self {
        let mut shuffled = regions.to_vec();
        shuffled.shuffle(rng);
        let choice = if regions.len() >= 3 {
            rng.gen_range(0..4)
        } else {
            // Two regions: isolating one is the only split; no bridge.
            [0, 3][rng.gen_range(0..2)]
        };
        match choice {
            0 => Self::Isolate(shuffled[0].clone()),
            1 => {
                // With three regions a minority is one region: the same as
                // isolating it, so both shapes are kept for bigger meshes.
                let size = rng.gen_range(1..=(regions.len() - 1) / 2);
                let minority = shuffled[..size].to_vec();
                let majority = shuffled[size..].to_vec();
                Self::Split { minority, majority }
            }
            2 => Self::Bridge {
                a: shuffled[0].clone(),
                bridge: shuffled[1].clone(),
                b: shuffled[2].clone(),
            },
            _ => Self::OneWay {
                from: shuffled[0].clone(),
                to: shuffled[1].clone(),
            },
        }
    }

    /// Every (from, to) pair whose traffic is blocked, given all `regions`.
    pub fn blocked(&self, regions: &[String]) -> BTreeSet<(String, String)> {
        let mut pairs = BTreeSet::new();
        let mut both = |a: &str, b: &str| {
            pairs.insert((a.to_owned(), b.to_owned()));
            pairs.insert((b.to_owned(), a.to_owned()));
        };
        match self {
            Self::Isolate(region) => {
                for other in regions.iter().filter(|r| *r != region) {
                    both(region, other);
                }
            }
            Self::Split { minority, majority } => {
                for a in minority {
                    for b in majority {
                        both(a, b);
                    }
                }
            }
            Self::Bridge { a, b, .. } => both(a, b),
            Self::OneWay { from, to } => {
                pairs.insert((from.clone(), to.clone()));
            }
        }
        pairs
    }

    /// The regions the shape names.
    pub fn regions(&self) -> Vec<String> {
        match self {
            Self::Isolate(region) => vec![region.clone()],
            Self::Split { minority, majority } => {
                minority.iter().chain(majority).cloned().collect()
            }
            Self::Bridge { a, bridge, b } => vec![a.clone(), bridge.clone(), b.clone()],
            Self::OneWay { from, to } => vec![from.clone(), to.clone()],
        }
    }

    /// How the history describes it.
    pub fn describe(&self) -> String {
        match self {
            Self::Isolate(region) => format!("isolate {region}"),
            Self::Split { minority, majority } => {
                format!("split {} | {}", minority.join(","), majority.join(","))
            }
            Self::Bridge { a, bridge, b } => format!("bridge {a} - {bridge} - {b} ({a}-{b} cut)"),
            Self::OneWay { from, to } => format!("one-way {from} -> {to} dropped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn shapes_block_what_they_say() {
        let regions = names(3);
        let isolate = Partition::Isolate("r0".to_owned()).blocked(&regions);
        assert_eq!(isolate.len(), 4);
        assert!(isolate.contains(&("r0".to_owned(), "r2".to_owned())));
        assert!(!isolate.contains(&("r1".to_owned(), "r2".to_owned())));

        let bridge = Partition::Bridge {
            a: "r0".to_owned(),
            bridge: "r1".to_owned(),
            b: "r2".to_owned(),
        }
        .blocked(&regions);
        let expected: BTreeSet<_> = [("r0", "r2"), ("r2", "r0")]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(bridge, expected);

        let one_way = Partition::OneWay {
            from: "r1".to_owned(),
            to: "r0".to_owned(),
        }
        .blocked(&regions);
        assert_eq!(one_way.len(), 1);
        assert!(one_way.contains(&("r1".to_owned(), "r0".to_owned())));
    }

    proptest! {
        #[test]
        fn random_shapes_block_only_existing_pairs(
            n in 2usize..6,
            seed in any::<u64>(),
        ) {
            let regions = names(n);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let shape = Partition::random(&regions, &mut rng);
            let blocked = shape.blocked(&regions);
            prop_assert!(!blocked.is_empty());
            if n >= 3 {
                // Only two regions can be cut apart entirely.
                prop_assert!(blocked.len() < n * (n - 1), "some link stays up: {shape:?}");
            }
            for (a, b) in &blocked {
                prop_assert!(a != b);
                prop_assert!(regions.contains(a) && regions.contains(b));
            }
            if let Partition::Split { minority, majority } = &shape {
                prop_assert!(minority.len() <= majority.len());
                prop_assert_eq!(minority.len() + majority.len(), n);
            }
        }
    }
}
