//! Which operation a client process performs next, drawn from its seeded
//! random stream. Pure, so the mix can be tested without a mesh.

use rand::Rng;

/// A client operation to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Send a message (or retry an unanswered one).
    Send,
    /// Read a chat's history.
    Read,
    /// Move the read mark.
    MarkRead,
    /// Read a chat's title and description.
    GetMeta,
    /// Change a chat's title or description (admins).
    SetMeta,
    /// Add or remove a member (admins).
    Membership,
}

/// Relative weights: mostly sends and reads, so histories are rich in
/// ordering facts, with a steady trickle of metadata and membership changes.
const WEIGHTS: [(Choice, u32); 6] = [
    (Choice::Send, 45),
    (Choice::Read, 20),
    (Choice::MarkRead, 10),
    (Choice::GetMeta, 10),
    (Choice::SetMeta, 8),
    (Choice::Membership, 7),
];

/// Draws the next operation; `admin` says whether the process's user
/// administers any chat (otherwise admin-only operations are never drawn).
pub fn next(rng: &mut impl Rng, admin: bool) -> Choice {
    let allowed = |c: Choice| admin || !matches!(c, Choice::SetMeta | Choice::Membership);
    let total: u32 = WEIGHTS
        .iter()
        .filter(|(c, _)| allowed(*c))
        .map(|(_, w)| w)
        .sum();
    let mut pick = rng.gen_range(0..total);
    for (choice, weight) in WEIGHTS.iter().filter(|(c, _)| allowed(*c)) {
        if pick < *weight {
            return *choice;
        }
        pick -= weight;
    }
    Choice::Send
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    proptest! {
        #[test]
        fn members_never_draw_admin_operations(seed in any::<u64>()) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for _ in 0..200 {
                let c = next(&mut rng, false);
                prop_assert!(!matches!(c, Choice::SetMeta | Choice::Membership));
            }
        }
    }

    #[test]
    fn admins_draw_every_operation_and_sends_most() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..5_000 {
            *counts.entry(next(&mut rng, true)).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 6, "{counts:?}");
        let sends = counts[&Choice::Send];
        assert!(counts.values().all(|c| *c <= sends), "{counts:?}");
    }
}
