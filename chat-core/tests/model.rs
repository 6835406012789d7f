//! The chat core against a simple model, with no runtime: random sends
//! (retried ones among them), membership changes and marks at a home, and
//! the shipped entries applied at a replica in random runs, repeated and
//! split. What must hold: `seq` is gapless, each `(sender,
//! client_msg_id)` is sequenced once and a retry answers the same `seq`,
//! every delivery goes to exactly the members at the entry's `seq`, the
//! replica holds what the home holds and delivers the same, and marks
//! never go backwards.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chat_core::{
    Appended, Change, ChatCore, CoreConfig, Input, Loaded, Output, Reply, Send, Stamp, Write,
};
use proptest::prelude::*;
use protocol::Hlc;
use protocol::chats::{Message, MessageKind, Role};
use protocol::frames::ServerFrame;
use protocol::peer::LogEntry;
use protocol::records::{Marks, MemberRecord};
use sync::replication::Millis;

/// A clock that ticks by one on every stamp.
#[derive(Default)]
struct Counter(AtomicU64);

impl Stamp for Counter {
    fn stamp(&self) -> Hlc {
        Hlc::new(
            1_700_000_000_000 + self.0.fetch_add(1, Ordering::Relaxed),
            0,
        )
    }
}

/// The shell's part, played in memory: the store's rows and what was delivered.
#[derive(Default)]
struct Shell {
    messages: BTreeMap<u64, Message>,
    last_seq: u64,
    dedup: HashMap<(String, String), u64>,
    members: BTreeMap<String, MemberRecord>,
    marks: HashMap<String, Marks>,
    /// `seq` → who it was delivered to.
    delivered: BTreeMap<u64, Vec<String>>,
    shipped: Vec<LogEntry>,
    replies: HashMap<u64, Result<Reply, chat_core::ChatError>>,
}

impl Shell {
    fn run(&mut self, core: &mut ChatCore, input: Input) {
        let outputs = core.handle(Millis(0), input);
        self.carry_out(outputs);
        core.batch_committed();
    }

    fn carry_out(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Write(write) => self.write(write),
                Output::Reply { token, reply } => {
                    self.replies.insert(token, reply);
                }
                Output::Deliver {
                    frame: ServerFrame::Message(message),
                    seq,
                    recipients,
                } => {
                    assert_eq!(seq, Some(message.seq));
                    let mut to: Vec<String> = recipients.to_vec();
                    to.sort();
                    assert!(
                        self.delivered.insert(message.seq, to).is_none(),
                        "seq {} delivered twice",
                        message.seq
                    );
                }
                Output::Deliver { .. } | Output::Gossip(_) | Output::Forward { .. } => {}
                Output::Ship(entry) => self.shipped.push(entry),
            }
        }
    }

    fn write(&mut self, write: Write) {
        match write {
            Write::Message(message) => {
                assert!(
                    self.messages.insert(message.seq, message).is_none(),
                    "a seq is written twice"
                );
            }
            Write::LastSeq(seq) => self.last_seq = seq,
            Write::Dedup {
                sender,
                client_msg_id,
                seq,
            } => {
                assert!(
                    self.dedup.insert((sender, client_msg_id), seq).is_none(),
                    "a send is sequenced twice"
                );
            }
            Write::Member(member) => {
                self.members.insert(member.user_id.clone(), member);
            }
            Write::Marks { user, marks } => {
                let before = self.marks.get(&user).copied().unwrap_or_default();
                assert!(
                    marks.delivered_seq >= before.delivered_seq
                        && marks.read_seq >= before.read_seq,
                    "marks of {user} went backwards: {before:?} -> {marks:?}"
                );
                self.marks.insert(user, marks);
            }
            Write::Record(_)
            | Write::MembersCount(_)
            | Write::ClaimDirect { .. }
            | Write::Direct { .. }
            | Write::MessageSwappedWithPrevious(_) => {}
        }
    }

    fn stored(&self, author: &str, client_msg_id: &str) -> Option<(u64, Hlc)> {
        let seq = self
            .dedup
            .get(&(author.to_owned(), client_msg_id.to_owned()))?;
        Some((*seq, self.messages.get(seq)?.hlc))
    }
}

fn config(region: &str, clock: Arc<Counter>) -> CoreConfig {
    CoreConfig {
        region: region.to_owned(),
        clock,
        sabotage: None,
    }
}

/// One step of the workload.
#[derive(Debug, Clone)]
enum Op {
    Send { user: usize, key: usize },
    Add { user: usize },
    Remove { user: usize },
    Mark { user: usize, back: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..6usize, 0..8usize).prop_map(|(user, key)| Op::Send { user, key }),
        1 => (1..6usize).prop_map(|user| Op::Add { user }),
        1 => (1..6usize).prop_map(|user| Op::Remove { user }),
        1 => (0..6usize, 0..4u64).prop_map(|(user, back)| Op::Mark { user, back }),
    ]
}

fn user(i: usize) -> String {
    format!("u{i}")
}

/// The model's membership: who is a member after each `seq`.
fn members_at(history: &[(u64, Vec<String>)], seq: u64) -> Vec<String> {
    history
        .iter()
        .rev()
        .find(|(at, _)| *at <= seq)
        .map(|(_, m)| m.clone())
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_home_and_its_replica_keep_every_guarantee(
        ops in proptest::collection::vec(op(), 1..120),
        cuts in proptest::collection::vec(1..6usize, 1..40),
    ) {
        let clock = Arc::new(Counter::default());
        let mut home = ChatCore::new(config("home", clock.clone()), "c1", Loaded::default());
        let mut shell = Shell::default();
        let mut token = 0;
        shell.run(&mut home, Input::CreateGroup {
            token,
            owner: user(0),
            members: vec![user(0), user(1), user(2)],
            title: "t".into(),
            description: String::new(),
        });
        // (seq, members after it)
        let mut history = vec![(1, vec![user(0), user(1), user(2)])];
        let mut current: Vec<String> = history[0].1.clone();
        let mut answered: HashMap<(String, String), Appended> = HashMap::new();
        for op in ops {
            token += 1;
            match op {
                Op::Send { user: u, key } => {
                    let (author, cmid) = (user(u), format!("m{key}"));
                    let stored = shell.stored(&author, &cmid);
                    shell.run(&mut home, Input::Send(Send {
                        token,
                        author: author.clone(),
                        client_msg_id: cmid.clone(),
                        text: format!("{author} {cmid}"),
                        forwarded: false,
                        stored,
                        blocked: false,
                    }));
                    let reply = shell.replies.remove(&token).expect("every send is answered");
                    match reply {
                        Ok(Reply::Sent(appended)) => {
                            prop_assert!(current.contains(&author));
                            if let Some(first) = answered.get(&(author.clone(), cmid.clone())) {
                                prop_assert_eq!(first.seq, appended.seq, "a retry answers the first seq");
                            }
                            answered.insert((author, cmid), appended);
                        }
                        Err(chat_core::ChatError::NotMember) => prop_assert!(!current.contains(&author)),
                        other => prop_assert!(false, "unexpected answer {:?}", other),
                    }
                }
                Op::Add { user: u } => {
                    shell.run(&mut home, Input::Change { token, actor: user(0), change: Change::AddMembers(vec![user(u)]) });
                    prop_assert!(shell.replies.remove(&token).is_some_and(|r| r.is_ok()));
                    if !current.contains(&user(u)) {
                        current.push(user(u));
                        current.sort();
                        history.push((shell.last_seq, current.clone()));
                    }
                }
                Op::Remove { user: u } => {
                    shell.run(&mut home, Input::Change { token, actor: user(0), change: Change::Remove(user(u)) });
                    let reply = shell.replies.remove(&token).expect("answered");
                    if current.contains(&user(u)) {
                        prop_assert!(reply.is_ok());
                        let seq = shell.last_seq;
                        // The removed member receives the removal.
                        let mut at_removal = current.clone();
                        current.retain(|m| m != &user(u));
                        history.push((seq, at_removal.clone()));
                        at_removal.retain(|m| m != &user(u));
                        history.push((seq + 1, at_removal));
                    } else {
                        prop_assert!(reply.is_err());
                    }
                }
                Op::Mark { user: u, back } => {
                    let seq = shell.last_seq.saturating_sub(back);
                    shell.run(&mut home, Input::Marks { token, user: user(u), delivered: seq, read: seq });
                    // Flush the batch of marks.
                    let outputs = home.handle(Millis(1_000), Input::Tick);
                    shell.carry_out(outputs);
                    home.batch_committed();
                }
            }
        }
        // Gapless, and every message delivered to the members at its seq.
        let seqs: Vec<u64> = shell.messages.keys().copied().collect();
        prop_assert_eq!(seqs, (1..=shell.last_seq).collect::<Vec<_>>());
        for (seq, to) in &shell.delivered {
            let expected = members_at(&history, *seq);
            prop_assert_eq!(to, &expected, "recipients of seq {}", seq);
        }
        prop_assert_eq!(shell.delivered.len() as u64, shell.last_seq);
        // Every text message is one the model answered, once.
        let texts = shell.messages.values().filter(|m| m.kind == MessageKind::Text).count();
        prop_assert_eq!(texts, answered.len());

        // The replica, fed the shipped entries in uneven runs, some twice.
        let mut replica = ChatCore::new(config("replica", clock), "c1", Loaded::default());
        let mut copy = Shell::default();
        let entries = shell.shipped.clone();
        let mut at = 0;
        let mut cut = cuts.iter().cycle();
        while at < entries.len() {
            let len = *cut.next().unwrap_or(&1);
            let end = (at + len).min(entries.len());
            let start = at.saturating_sub(len % 2);
            token += 1;
            copy.run(&mut replica, Input::Replicated { token, entries: entries[start..end].to_vec() });
            let applied = copy.replies.remove(&token);
            prop_assert!(matches!(applied, Some(Ok(Reply::Applied(seq))) if seq == entries[end - 1].seq), "{:?}", applied);
            at = end;
        }
        prop_assert_eq!(&copy.messages, &shell.messages);
        prop_assert_eq!(&copy.delivered, &shell.delivered);
        prop_assert_eq!(replica.view().map(|c| c.members), home.view().map(|c| c.members));
        // A gap is refused and changes nothing.
        if let Some(last) = entries.last() {
            let mut ahead = last.clone();
            ahead.seq += 2;
            token += 1;
            let outputs = replica.handle(Millis(0), Input::Replicated { token, entries: vec![ahead] });
            prop_assert!(outputs.iter().all(|o| !matches!(o, Output::Write(_))));
        }
    }
}

#[test]
fn owners_and_admins_decide_and_members_do_not() {
    let clock = Arc::new(Counter::default());
    let mut home = ChatCore::new(config("home", clock), "c1", Loaded::default());
    let mut shell = Shell::default();
    shell.run(
        &mut home,
        Input::CreateGroup {
            token: 0,
            owner: user(0),
            members: vec![user(0), user(1)],
            title: "t".into(),
            description: String::new(),
        },
    );
    shell.run(
        &mut home,
        Input::Change {
            token: 1,
            actor: user(1),
            change: Change::AddMembers(vec![user(2)]),
        },
    );
    assert!(matches!(
        shell.replies.remove(&1),
        Some(Err(chat_core::ChatError::Forbidden(_)))
    ));
    shell.run(
        &mut home,
        Input::Change {
            token: 2,
            actor: user(1),
            change: Change::Delete,
        },
    );
    assert!(matches!(
        shell.replies.remove(&2),
        Some(Err(chat_core::ChatError::Forbidden(_)))
    ));
    // The owner leaving hands the group to the longest-standing member.
    shell.run(
        &mut home,
        Input::Change {
            token: 3,
            actor: user(0),
            change: Change::Remove(user(0)),
        },
    );
    assert!(matches!(shell.replies.remove(&3), Some(Ok(_))));
    assert_eq!(shell.members[&user(1)].role, Role::Owner);
    // Nothing changed by a refusal: seq 1 created, seq 2 the leave.
    assert_eq!(shell.last_seq, 2);
}

#[test]
fn a_replica_forwards_sends_and_refuses_non_members() {
    let clock = Arc::new(Counter::default());
    let mut home = ChatCore::new(config("home", clock.clone()), "c1", Loaded::default());
    let mut shell = Shell::default();
    shell.run(
        &mut home,
        Input::CreateGroup {
            token: 0,
            owner: user(0),
            members: vec![user(0), user(1)],
            title: "t".into(),
            description: String::new(),
        },
    );
    let mut replica = ChatCore::new(config("replica", clock), "c1", Loaded::default());
    let mut copy = Shell::default();
    copy.run(
        &mut replica,
        Input::Replicated {
            token: 1,
            entries: shell.shipped.clone(),
        },
    );
    let send = |token, author: &str| {
        Input::Send(Send {
            token,
            author: author.to_owned(),
            client_msg_id: "m".into(),
            text: "hi".into(),
            forwarded: false,
            stored: None,
            blocked: false,
        })
    };
    let outputs = replica.handle(Millis(0), send(2, "u1"));
    assert!(
        matches!(&outputs[..], [Output::Forward { home, item, pending_to, .. }]
            if home == "home" && item.sender_id == "u1" && pending_to.len() == 2)
    );
    let outputs = replica.handle(Millis(0), send(3, "u9"));
    assert!(matches!(
        &outputs[..],
        [Output::Reply {
            reply: Err(chat_core::ChatError::NotMember),
            ..
        }]
    ));
}

#[test]
fn typing_expires_and_marks_wait_to_be_written_together() {
    let clock = Arc::new(Counter::default());
    let mut home = ChatCore::new(config("home", clock), "c1", Loaded::default());
    let mut shell = Shell::default();
    shell.run(
        &mut home,
        Input::CreateGroup {
            token: 0,
            owner: user(0),
            members: vec![user(0), user(1)],
            title: "t".into(),
            description: String::new(),
        },
    );
    let outputs = home.handle(
        Millis(0),
        Input::Typing {
            token: None,
            user: user(0),
            active: true,
            remote: false,
        },
    );
    assert!(outputs.iter().any(|o| matches!(o,
        Output::Deliver { frame: ServerFrame::Typing { active: true, .. }, recipients, .. } if **recipients == [user(1)])));
    assert_eq!(home.poll_timeout(), Some(Millis(6_000)));
    let outputs = home.handle(Millis(6_000), Input::Tick);
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Deliver {
            frame: ServerFrame::Typing { active: false, .. },
            ..
        }
    )));
    assert!(home.is_idle());
    let outputs = home.handle(
        Millis(10),
        Input::Marks {
            token: 1,
            user: user(1),
            delivered: 1,
            read: 0,
        },
    );
    assert!(outputs.is_empty(), "marks wait: {outputs:?}");
    assert_eq!(home.poll_timeout(), Some(Millis(60)));
    let outputs = home.handle(Millis(60), Input::Tick);
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Write(Write::Marks { .. })))
    );
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Reply {
            token: 1,
            reply: Ok(Reply::Done)
        }
    )));
    // Beyond the last seq is refused.
    let outputs = home.handle(
        Millis(70),
        Input::Marks {
            token: 2,
            user: user(1),
            delivered: 9,
            read: 9,
        },
    );
    assert!(matches!(
        &outputs[..],
        [Output::Reply {
            reply: Err(chat_core::ChatError::Invalid(_)),
            ..
        }]
    ));
}
