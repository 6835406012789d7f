//! What the client processes share: the users and groups of the run, and
//! who the harness believes is a member of each group, so membership
//! changes go one at a time per group and removed users come back.

use std::collections::BTreeSet;
use std::sync::Mutex;

use rand::Rng;

use super::setup::{Group, User};

/// A membership change to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add this user (by index) back.
    Add(usize),
    /// Remove this user.
    Remove(usize),
}

#[derive(Debug, Default)]
struct Members {
    /// Users removed (or whose removal may have happened).
    removed: BTreeSet<usize>,
    /// A change is in flight.
    busy: bool,
}

/// The run's users and groups, and the membership the harness believes in.
pub struct Shared {
    /// The users.
    pub users: Vec<User>,
    /// The groups.
    pub groups: Vec<Group>,
    members: Vec<Mutex<Members>>,
}

/// Most members of one group removed at once: the group stays busy.
const MAX_REMOVED: usize = 2;

impl Shared {
    /// Every user a member of every group.
    pub fn new(users: Vec<User>, groups: Vec<Group>) -> Self {
        let members = groups.iter().map(|_| Mutex::default()).collect();
        Self {
            users,
            groups,
            members,
        }
    }

    fn lock(&self, group: usize) -> std::sync::MutexGuard<'_, Members> {
        self.members[group]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `user` is believed to be a member of `group`.
    pub fn is_member(&self, group: usize, user: usize) -> bool {
        !self.lock(group).removed.contains(&user)
    }

    /// Claims `group` for one membership change and picks it: a removed user
    /// back, or a member (never the owner) out. `None` while another change
    /// is in flight or nothing can change.
    pub fn begin_change(&self, group: usize, rng: &mut impl Rng) -> Option<Change> {
        let owner = self.groups[group].owner;
        let mut members = self.lock(group);
        if members.busy {
            return None;
        }
        let removable: Vec<usize> = (0..self.users.len())
            .filter(|u| *u != owner && !members.removed.contains(u))
            .collect();
        let add_back = !members.removed.is_empty()
            && (members.removed.len() >= MAX_REMOVED || removable.is_empty() || rng.gen_bool(0.5));
        let change = if add_back {
            let removed: Vec<usize> = members.removed.iter().copied().collect();
            Change::Add(removed[rng.gen_range(0..removed.len())])
        } else if removable.is_empty() {
            return None;
        } else {
            Change::Remove(removable[rng.gen_range(0..removable.len())])
        };
        members.busy = true;
        Some(change)
    }

    /// Ends the change begun on `group`. A change that may have happened
    /// (`maybe`) counts as done: adding a member twice or removing a
    /// non-member is harmless, while forgetting a removal would leave the
    /// user out for good.
    pub fn end_change(&self, group: usize, change: Change, maybe: bool) {
        let mut members = self.lock(group);
        members.busy = false;
        if maybe {
            match change {
                Change::Add(user) => members.removed.remove(&user),
                Change::Remove(user) => members.removed.insert(user),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn shared(users: usize) -> Shared {
        let users = (0..users)
            .map(|i| User {
                username: format!("u{i}"),
                user_id: format!("u_{i}"),
            })
            .collect();
        let groups = vec![Group {
            chat_id: "c_1".into(),
            owner: 0,
            home: "eu-west".into(),
        }];
        Shared::new(users, groups)
    }

    #[test]
    fn one_change_at_a_time_per_group() {
        let s = shared(4);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let first = s.begin_change(0, &mut rng).expect("a change");
        assert_eq!(s.begin_change(0, &mut rng), None, "busy");
        s.end_change(0, first, false);
        assert!(s.begin_change(0, &mut rng).is_some());
    }

    proptest! {
        #[test]
        fn the_owner_stays_and_few_are_out_at_once(seed in any::<u64>(), steps in 1usize..60) {
            let s = shared(6);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for _ in 0..steps {
                let Some(change) = s.begin_change(0, &mut rng) else { continue };
                match change {
                    Change::Remove(user) => {
                        prop_assert!(user != 0, "never the owner");
                        prop_assert!(s.is_member(0, user));
                    }
                    Change::Add(user) => prop_assert!(!s.is_member(0, user)),
                }
                let happened = rng.gen_bool(0.8);
                s.end_change(0, change, happened);
                prop_assert!(s.lock(0).removed.len() <= MAX_REMOVED);
                prop_assert!(s.is_member(0, 0));
            }
        }
    }
}
