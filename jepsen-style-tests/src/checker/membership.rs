//! `membership_violation` (guarantee 6, membership is respected). Who was a
//! member when is read from the system messages of each chat's final log:
//! the sender of seq 1 and the `user_ids` of a `chat_created` at seq 1 are
//! members from the start; `member_added` makes its users members from its
//! seq on; `member_removed` (or `member_left`) at seq n lets its users see
//! up to n and nothing after, until they are added again. A user who was
//! never a member (when the initial members are known) may see nothing.
//! Users not yet added are not judged on earlier seqs: a chat may show
//! history to a new member.
//!
//! Violations: a read or push to a device of a user showing a seq that
//! user may not see, and an ok send whose message landed where its sender
//! was not a member.

use std::collections::{BTreeMap, BTreeSet};

use super::Input;
use super::calls::Body;
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

/// Reports messages seen or sent by users who were not members then.
pub(super) fn check(input: &Input<'_>, findings: &mut Findings) {
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
        let problem = match &call.body {
            Body::Read { ok: Some(read), .. } => read
                .messages
                .iter()
                .filter(|m| m.seq > 0)
                .find_map(|m| roster.refuses(user, m.seq).map(|why| (m.seq, "read", why))),
            Body::Recv { ok: Some(recv) } if recv.message.seq > 0 => roster
                .refuses(user, recv.message.seq)
                .map(|why| (recv.message.seq, "was pushed", why)),
            Body::Send {
                client_msg_id,
                ok: Some(_),
            } => canonical
                .find(user, client_msg_id)
                .and_then(|m| roster.refuses(user, m.seq).map(|why| (m.seq, "sent", why))),
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
    fn a_send_landing_after_removal_is_a_violation() {
        let mut log = log();
        log[3] = msg(4, 4, "u2", "late");
        let mut h = H::default();
        h.send(2, "c", "late").sent(2, "c", "late", 4, 4);
        h.final_read("r1", "c", &log);
        assert_eq!(flagged(&h.check()), vec![Class::MembershipViolation]);
    }
}
