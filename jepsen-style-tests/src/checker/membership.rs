//! `membership_violation` (guarantee 6, membership is respected). Who was a
//! member when is read from the system messages of each chat's final log:
//! the sender of seq 1 and the `user_ids` of a `chat_created` at seq 1 are
//! members from the start; `member_added` makes its users members from its
//! seq on; `member_removed` (or `member_left`) at seq n lets its users see
//! up to n and nothing after, until they are added again. A user who was
//! never a member (when the initial members are known) may see nothing.
//! Users not yet added are not judged on earlier seqs: a chat shows its
//! whole history to a new member, and so to a member added again, once an
//! `add_member` for them was invoked before the observation ended.
//!
//! Violations: a read or push to a device of a user showing a seq that
//! user may not see. Sends are not judged: guarantee 6 is about what
//! members receive, and a send a non-home region took while the sender was
//! a member there is sequenced even if a removal overtook it.

use std::collections::{BTreeMap, BTreeSet};

use super::Input;
use super::calls::{Body, Call};
use super::finals::Canonical;
use super::outcome::{Anomaly, Class, Findings};

/// Membership of one chat over its seqs.
#[derive(Debug, Default)]
struct Roster {
    /// user → (seq, added?) in seq order.
    events: BTreeMap<String, Vec<(u64, bool)>>,
    /// The members from seq 1, when the log says who they were.
    initial: Option<BTreeSet<String>>,
}

impl Roster {
    fn from_log(canonical: &Canonical) -> Self {
        let mut roster = Roster::default();
        for msg in canonical.by_seq.values() {
            if msg.seq == 1 {
                roster.add(&msg.sender, 1, true);
                if msg.event.as_deref() == Some("chat_created")
                    && let Some(users) = &msg.user_ids
                {
                    let mut initial: BTreeSet<String> = users.iter().cloned().collect();
                    initial.insert(msg.sender.clone());
                    roster.initial = Some(initial);
                }
            }
            if msg.kind != "system" {
                continue;
            }
            let added = match msg.event.as_deref() {
                Some("member_added") => true,
                Some("member_removed" | "member_left") => false,
                _ => continue,
            };
            match &msg.user_ids {
                Some(users) => {
                    for user in users {
                        roster.add(user, msg.seq, added);
                    }
                }
                // Someone leaving is the actor of their own event.
                None if !added => roster.add(&msg.sender, msg.seq, false),
                None => {}
            }
        }
        roster
    }

    fn add(&mut self, user: &str, seq: u64, added: bool) {
        self.events
            .entry(user.to_owned())
            .or_default()
            .push((seq, added));
    }

    /// Whether `user` may see the message at `seq`; when not, why.
    fn refuses(&self, user: &str, seq: u64) -> Option<String> {
        let events = self.events.get(user).map(Vec::as_slice).unwrap_or_default();
        // An add counts from its own seq, a removal from the seq after it.
        let last = events
            .iter()
            .filter(|(at, added)| if *added { *at <= seq } else { *at < seq })
            .max_by_key(|(at, _)| *at);
        match last {
            Some((at, false)) => Some(format!("{user} was removed at seq {at}")),
            Some((_, true)) => None,
            None => {
                let never_added = !events.iter().any(|(_, added)| *added);
                match &self.initial {
                    Some(initial) if never_added && !initial.contains(user) => {
                        Some(format!("{user} was never a member"))
                    }
                    _ => None,
                }
            }
        }
    }
}

impl Roster {
    /// Whether `user` was added again at some seq after `seq`.
    fn added_after(&self, user: &str, seq: u64) -> bool {
        self.events
            .get(user)
            .is_some_and(|events| events.iter().any(|(at, added)| *added && *at > seq))
    }
}

/// (chat, user) → history positions where adding that user was invoked.
fn add_invokes(input: &Input<'_>) -> BTreeMap<(String, String), Vec<usize>> {
    let mut adds: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for call in &input.calls {
        let Some(op) = input.ops.get(call.invoke) else {
            continue;
        };
        if op.f != crate::history::F::AddMember {
            continue;
        }
        if let Ok(add) = op.value_as::<crate::history::Membership>() {
            adds.entry((add.chat, add.member))
                .or_default()
                .push(call.invoke);
        }
    }
    adds
}

/// Whether `call` ended after adding `user` to its chat again was invoked.
fn after_an_add(adds: &BTreeMap<(String, String), Vec<usize>>, call: &Call, user: &str) -> bool {
    let end = call.complete.unwrap_or(call.invoke);
    adds.get(&(call.chat.clone(), user.to_owned()))
        .is_some_and(|invokes| invokes.iter().any(|at| *at < end))
}

/// Reports messages seen by users who were not members then.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
    let adds = add_invokes(input);
    let rosters: BTreeMap<&str, (Roster, &Canonical)> = input
        .finals
        .canonical
        .iter()
        .map(|(chat, canonical)| (chat.as_str(), (Roster::from_log(canonical), canonical)))
        .collect();
    for call in &input.calls {
        let (Some(user), Some((roster, canonical))) = (&call.user, rosters.get(call.chat.as_str()))
        else {
            continue;
        };
        let readded = |seq: u64| roster.added_after(user, seq) && after_an_add(&adds, call, user);
        let refuses = |seq: u64| roster.refuses(user, seq).filter(|_| !readded(seq));
        let problem = match &call.body {
            Body::Read { ok: Some(read), .. } => read
                .messages
                .iter()
                .filter(|m| m.seq > 0)
                .find_map(|m| refuses(m.seq).map(|why| (m.seq, "read", why))),
            Body::Recv { ok: Some(recv) } if recv.message.seq > 0 => {
                refuses(recv.message.seq).map(|why| (recv.message.seq, "was pushed", why))
            }
            _ => None,
        };
        if let Some((seq, what, why)) = problem {
            let mut ops = input.call_ops(call);
            ops.push(canonical.op);
            let mut anomaly = Anomaly::new(
                Class::MembershipViolation,
                ops,
                format!("{user} {what} seq {seq}, but {why}"),
            )
            .chat(call.chat.clone());
            anomaly.region = call.region.clone();
            findings.add(anomaly);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{H, flagged, msg, system};
    use super::*;
    use crate::history::{F, OpType};

    fn log() -> Vec<crate::history::Msg> {
        vec![
            system(1, 1, "u1", "chat_created", &["u2", "u3"]),
            msg(2, 2, "u2", "a"),
            system(3, 3, "u1", "member_removed", &["u2"]),
            msg(4, 4, "u1", "b"),
            system(5, 5, "u1", "member_added", &["u2", "u4"]),
            msg(6, 6, "u2", "c"),
        ]
    }

    #[test]
    fn members_see_their_intervals() {
        let log = log();
        let mut h = H::default();
        h.read(2, "c", 0, &log[..3]);
        h.recv(2, "c", &log[4]);
        h.read(3, "c", 0, &log);
        h.read(4, "c", 0, &log);
        h.send(2, "c", "c").sent(2, "c", "c", 6, 6);
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn a_removed_member_seeing_later_messages_is_a_violation() {
        let log = log();
        let mut h = H::default();
        h.recv(2, "c", &log[3]);
        h.read(5, "c", 0, &log[..1]);
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert_eq!(flagged(&report), vec![Class::MembershipViolation]);
        assert_eq!(report.anomalies[&Class::MembershipViolation].count, 2);
    }

    #[test]
    fn a_member_added_again_sees_what_was_sent_while_away_only_after_the_add() {
        let log = log();
        let add = serde_json::json!({"chat": "c", "member": "u2"});
        // Pushed seq 4 while still removed: a violation.
        let mut early = H::default();
        early.recv(2, "c", &log[3]);
        early.invoke(1, F::AddMember, add.clone());
        early.done(1, OpType::Ok, F::AddMember, add.clone());
        early.final_read("r1", "c", &log);
        assert_eq!(flagged(&early.check()), vec![Class::MembershipViolation]);
        // Once the add was asked for, the whole history may show.
        let mut late = H::default();
        late.invoke(1, F::AddMember, add.clone());
        late.done(1, OpType::Ok, F::AddMember, add);
        late.recv(2, "c", &log[3]);
        late.read(2, "c", 0, &log);
        late.final_read("r1", "c", &log);
        let report = late.check();
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn a_send_overtaken_by_its_senders_removal_is_not_judged() {
        let mut log = log();
        log[3] = msg(4, 4, "u2", "late");
        let mut h = H::default();
        h.send(2, "c", "late").sent(2, "c", "late", 4, 4);
        h.final_read("r1", "c", &log);
        let report = h.check();
        assert!(report.is_valid(), "{report:?}");
    }
}
