//! "What had this key already shown before that operation started?" — the
//! question behind the monotonic-read, read-your-writes, causality and
//! receipt checks. Observations complete at history positions; a query
//! asks, at its own position (an invoke), for the greatest value observed
//! under its key strictly before it. History order is real-time order, so
//! positions are used rather than clocks.

use std::collections::HashMap;
use std::hash::Hash;

/// A value seen under `key`, completed at history position `pos`; `op` is
/// the index of the event that showed it.
#[derive(Debug, Clone)]
pub struct Observation<K, V> {
    /// Where it completed.
    pub pos: usize,
    /// Whose observation.
    pub key: K,
    /// What was seen.
    pub value: V,
    /// The event index that showed it.
    pub op: u64,
}

/// For each query `(pos, key)`, the greatest value observed under `key` at
/// a position before `pos`, with the event that showed it. Answers come
/// back in the order of `queries`.
pub fn max_before<K, V>(
    mut observations: Vec<Observation<K, V>>,
    queries: &[(usize, K)],
) -> Vec<Option<(V, u64)>>
where
    K: Eq + Hash + Clone,
    V: PartialOrd + Clone,
{
    observations.sort_by_key(|o| o.pos);
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by_key(|&i| queries[i].0);
    let mut best: HashMap<K, (V, u64)> = HashMap::new();
    let mut answers = vec![None; queries.len()];
    let mut next = 0;
    for i in order {
        let (pos, key) = &queries[i];
        while next < observations.len() && observations[next].pos < *pos {
            let o = &observations[next];
            let better = best.get(&o.key).is_none_or(|(v, _)| o.value > *v);
            if better {
                best.insert(o.key.clone(), (o.value.clone(), o.op));
            }
            next += 1;
        }
        answers[i] = best.get(key).cloned();
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obs(pos: usize, key: u8, value: u64) -> Observation<u8, u64> {
        Observation {
            pos,
            key,
            value,
            op: pos as u64,
        }
    }

    #[test]
    fn only_earlier_observations_of_the_same_key_count() {
        let observations = vec![obs(5, 1, 7), obs(1, 1, 3), obs(2, 2, 9), obs(9, 1, 1)];
        let answers = max_before(observations, &[(6, 1), (5, 1), (1, 1), (3, 2), (10, 1)]);
        assert_eq!(
            answers,
            vec![Some((7, 5)), Some((3, 1)), None, Some((9, 2)), Some((7, 5))]
        );
    }

    proptest! {
        #[test]
        fn agrees_with_a_direct_scan(
            raw in proptest::collection::vec((0usize..50, 0u8..3, 0u64..20), 0..40),
            queries in proptest::collection::vec((0usize..55, 0u8..3), 0..20),
        ) {
            let observations: Vec<_> = raw.iter().map(|&(p, k, v)| obs(p, k, v)).collect();
            let answers = max_before(observations.clone(), &queries);
            for (answer, (pos, key)) in answers.iter().zip(&queries) {
                let direct = observations
                    .iter()
                    .filter(|o| o.pos < *pos && o.key == *key)
                    .map(|o| o.value)
                    .max();
                prop_assert_eq!(answer.as_ref().map(|a| a.0), direct);
            }
        }
    }
}
