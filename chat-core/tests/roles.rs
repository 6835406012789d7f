//! Roles and blocks in the chat core, without a runtime: only the owner
//! changes roles; each change is a system message with its own `seq`,
//! delivered to the members and applied by a replica; admins may then do
//! what admins do; refusals write nothing. A direct chat refuses the sends
//! of a user the other has blocked, forwarded ones included.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chat_core::{
    Change, ChatCore, ChatError, CoreConfig, Input, Loaded, Output, Reply, Send, Stamp, Write,
};
use protocol::Hlc;
use protocol::chats::{Message, Role, SystemEvent};
use protocol::frames::ServerFrame;
use protocol::peer::LogEntry;
use protocol::records::{ChatRecord, ChatState, MemberRecord};
use sync::replication::Millis;

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

fn config(region: &str, clock: Arc<Counter>) -> CoreConfig {
    CoreConfig {
        region: region.into(),
        clock,
        sabotage: None,
    }
}

/// What one core's outputs amount to.
#[derive(Default)]
struct Seen {
    writes: usize,
    messages: BTreeMap<u64, (Message, Vec<String>)>,
    shipped: Vec<LogEntry>,
    reply: Option<Result<Reply, ChatError>>,
    forwarded: bool,
}

fn run(core: &mut ChatCore, input: Input) -> Seen {
    let mut seen = Seen::default();
    for output in core.handle(Millis(0), input) {
        match output {
            Output::Write(Write::Message(_)) => seen.writes += 1,
            Output::Write(_) => seen.writes += 1,
            Output::Deliver {
                frame: ServerFrame::Message(message),
                recipients,
                ..
            } => {
                let mut to = recipients.to_vec();
                to.sort();
                seen.messages.insert(message.seq, (message, to));
            }
            Output::Ship(entry) => seen.shipped.push(entry),
            Output::Reply { reply, .. } => seen.reply = Some(reply),
            Output::Forward { .. } => seen.forwarded = true,
            Output::Deliver { .. } | Output::Gossip(_) => {}
        }
    }
    core.batch_committed();
    seen
}

fn change(core: &mut ChatCore, actor: &str, change: Change) -> Seen {
    let actor = actor.to_owned();
    run(
        core,
        Input::Change {
            token: 1,
            actor,
            change,
        },
    )
}

fn role_of(core: &ChatCore, user: &str) -> Option<Role> {
    let chat = core.view().unwrap();
    chat.members
        .iter()
        .find(|m| m.user_id == user)
        .map(|m| m.role)
}

fn group(clock: Arc<Counter>) -> (ChatCore, Vec<LogEntry>) {
    let mut home = ChatCore::new(config("home", clock), "c1", Loaded::default());
    let seen = run(
        &mut home,
        Input::CreateGroup {
            token: 1,
            owner: "owner".into(),
            members: vec!["owner".into(), "ann".into(), "bob".into()],
            title: "t".into(),
            description: String::new(),
        },
    );
    (home, seen.shipped)
}

#[test]
fn only_the_owner_changes_roles_and_each_change_is_a_message() {
    let clock = Arc::new(Counter::default());
    let (mut home, mut shipped) = group(clock.clone());

    // A plain member may not add members, nor change roles.
    for (actor, c) in [
        ("ann", Change::AddMembers(vec!["carl".into()])),
        ("ann", Change::SetRole("bob".into(), Role::Admin)),
        ("ann", Change::SetRole("ann".into(), Role::Owner)),
    ] {
        let seen = change(&mut home, actor, c);
        assert!(matches!(seen.reply, Some(Err(ChatError::Forbidden(_)))));
        assert_eq!((seen.writes, seen.messages.len()), (0, 0));
    }
    // Strangers and unknown targets.
    let seen = change(&mut home, "zed", Change::SetRole("ann".into(), Role::Admin));
    assert!(matches!(seen.reply, Some(Err(ChatError::NotMember))));
    let seen = change(
        &mut home,
        "owner",
        Change::SetRole("zed".into(), Role::Admin),
    );
    assert!(matches!(seen.reply, Some(Err(ChatError::NotFound(_)))));
    let seen = change(
        &mut home,
        "owner",
        Change::SetRole("owner".into(), Role::Member),
    );
    assert!(matches!(seen.reply, Some(Err(ChatError::Invalid(_)))));
    assert_eq!(home.last_seq(), 1);

    // The owner makes Ann an admin: one system message at seq 2, to all.
    let seen = change(
        &mut home,
        "owner",
        Change::SetRole("ann".into(), Role::Admin),
    );
    assert!(matches!(seen.reply, Some(Ok(Reply::Chat(_)))));
    let (message, to) = &seen.messages[&2];
    assert_eq!(message.event, Some(SystemEvent::AdminGranted));
    assert_eq!(message.user_ids.as_deref(), Some(&["ann".to_owned()][..]));
    assert_eq!(to, &["ann", "bob", "owner"]);
    assert_eq!(role_of(&home, "ann"), Some(Role::Admin));
    shipped.extend(seen.shipped);
    // Granting it again changes nothing.
    let seen = change(
        &mut home,
        "owner",
        Change::SetRole("ann".into(), Role::Admin),
    );
    assert!(matches!(seen.reply, Some(Ok(_))));
    assert_eq!((seen.writes, home.last_seq()), (0, 2));

    // Now Ann does what admins do: add a member, remove a plain one.
    let seen = change(&mut home, "ann", Change::AddMembers(vec!["carl".into()]));
    assert!(matches!(seen.reply, Some(Ok(_))), "{:?}", seen.reply);
    shipped.extend(seen.shipped);
    let seen = change(&mut home, "ann", Change::Remove("carl".into()));
    assert!(matches!(seen.reply, Some(Ok(_))));
    shipped.extend(seen.shipped);
    // But not change roles.
    let seen = change(&mut home, "ann", Change::SetRole("bob".into(), Role::Admin));
    assert!(matches!(seen.reply, Some(Err(ChatError::Forbidden(_)))));

    // The owner hands the group to Bob and becomes an admin.
    let seen = change(
        &mut home,
        "owner",
        Change::SetRole("bob".into(), Role::Owner),
    );
    assert_eq!(seen.messages[&5].0.event, Some(SystemEvent::OwnerChanged));
    shipped.extend(seen.shipped);
    assert_eq!(role_of(&home, "bob"), Some(Role::Owner));
    assert_eq!(role_of(&home, "owner"), Some(Role::Admin));
    // Bob revokes Ann's admin role; the old owner may no longer change roles.
    let seen = change(
        &mut home,
        "bob",
        Change::SetRole("ann".into(), Role::Member),
    );
    assert_eq!(seen.messages[&6].0.event, Some(SystemEvent::AdminRevoked));
    shipped.extend(seen.shipped);
    let seen = change(
        &mut home,
        "owner",
        Change::SetRole("ann".into(), Role::Admin),
    );
    assert!(matches!(seen.reply, Some(Err(ChatError::Forbidden(_)))));

    // A replica applying the shipped entries holds the same roles and
    // delivers each role change to the members at its seq.
    let mut replica = ChatCore::new(config("replica", clock), "c1", Loaded::default());
    let seen = run(
        &mut replica,
        Input::Replicated {
            token: 1,
            entries: shipped,
        },
    );
    assert!(matches!(seen.reply, Some(Ok(Reply::Applied(6)))));
    assert_eq!(
        seen.messages[&2].0.event,
        Some(SystemEvent::AdminGranted),
        "the replica delivers the role change"
    );
    for user in ["owner", "ann", "bob"] {
        assert_eq!(role_of(&replica, user), role_of(&home, user), "{user}");
    }
}

fn send(author: &str, key: &str, forwarded: bool, blocked: bool) -> Input {
    Input::Send(Send {
        token: 1,
        author: author.into(),
        client_msg_id: key.into(),
        text: "hi".into(),
        forwarded,
        stored: None,
        blocked,
    })
}

#[test]
fn a_blocked_user_cannot_send_in_the_direct_chat_even_forwarded() {
    let clock = Arc::new(Counter::default());
    let mut home = ChatCore::new(config("home", clock.clone()), "d1", Loaded::default());
    let seen = run(
        &mut home,
        Input::CreateDirect {
            token: 1,
            users: ["ann".into(), "bob".into()],
            created_at: 1,
        },
    );
    assert!(matches!(seen.reply, Some(Ok(_))));
    for forwarded in [false, true] {
        let seen = run(&mut home, send("bob", "m", forwarded, true));
        assert!(matches!(seen.reply, Some(Err(ChatError::Blocked(_)))));
        assert_eq!((seen.writes, home.last_seq()), (0, 0));
    }
    let seen = run(&mut home, send("bob", "m", false, false));
    assert!(matches!(seen.reply, Some(Ok(Reply::Sent(_)))));
    // A replica (adopting the chat as its home answered it) refuses at
    // once, without forwarding.
    let chat = home.view().unwrap();
    let state = ChatState {
        chat: ChatRecord {
            chat_id: chat.chat_id,
            kind: chat.kind,
            title: chat.title,
            description: chat.description,
            home_region: chat.home_region,
            created_at: chat.created_at,
            deleted: false,
        },
        members: chat
            .members
            .into_iter()
            .map(|m| MemberRecord {
                user_id: m.user_id,
                role: m.role,
                joined_seq: m.joined_seq,
                removed_seq: None,
                earlier: Vec::new(),
            })
            .collect(),
    };
    let mut replica = ChatCore::new(config("replica", clock), "d1", Loaded::default());
    run(&mut replica, Input::Adopt { token: 1, state });
    let seen = run(&mut replica, send("bob", "n", false, true));
    assert!(matches!(seen.reply, Some(Err(ChatError::Blocked(_)))));
    assert!(!seen.forwarded);
    let seen = run(&mut replica, send("bob", "n", false, false));
    assert!(seen.forwarded);
}

#[test]
fn groups_do_not_refuse_blocked_senders() {
    let (mut home, _) = group(Arc::new(Counter::default()));
    let seen = run(&mut home, send("bob", "m", false, true));
    assert!(matches!(seen.reply, Some(Ok(Reply::Sent(_)))));
}
