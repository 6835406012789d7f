//! Replies, edits, deletes and reactions at a chat's home, one rule at a
//! time: each allowed write is sequenced and folded into its target; each
//! refused one gets its error and changes nothing (no entry, no write).
//! The shell's part — the store's rows, the dedup and target lookups — is
//! played in memory, folding with the same function region nodes use.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chat_core::fold::{erase, fold};
use chat_core::{
    Action, Appended, Change, ChatCore, ChatError, CoreConfig, Input, Loaded, Output, Reply, Send,
    Stamp, Write,
};
use protocol::Hlc;
use protocol::chats::{Message, MessageKind};
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

/// A home core over an in-memory store.
struct Home {
    core: ChatCore,
    messages: BTreeMap<u64, Message>,
    dedup: HashMap<(String, String), u64>,
    shipped: Vec<protocol::peer::LogEntry>,
    next_key: u64,
}

impl Home {
    /// A group of `u0` (its owner) and members `u1`..`u3`; `u0` wrote seq 2
    /// "hello", `u1` seq 3 "hi there".
    fn new() -> Self {
        let config = CoreConfig {
            region: "home".into(),
            clock: Arc::new(Counter::default()),
            sabotage: None,
        };
        let mut home = Self {
            core: ChatCore::new(config, "c1", Loaded::default()),
            messages: BTreeMap::new(),
            dedup: HashMap::new(),
            shipped: Vec::new(),
            next_key: 0,
        };
        let outputs = home.core.handle(
            Millis(0),
            Input::CreateGroup {
                token: 0,
                owner: "u0".into(),
                members: ["u0", "u1", "u2", "u3"].map(String::from).to_vec(),
                title: "t".into(),
                description: String::new(),
            },
        );
        home.commit(outputs);
        home.text("u0", "hello").expect("u0 writes");
        home.text("u1", "hi there").expect("u1 writes");
        home
    }

    fn commit(&mut self, outputs: Vec<Output>) -> Vec<Result<Reply, ChatError>> {
        let mut replies = Vec::new();
        for output in outputs {
            match output {
                Output::Write(Write::Message(m)) => {
                    self.messages.insert(m.seq, m);
                }
                Output::Write(Write::Action(mut entry)) => {
                    if let Some(target) = entry.target_seq.and_then(|t| self.messages.get_mut(&t)) {
                        for seq in fold(target, &mut entry) {
                            erase(self.messages.get_mut(&seq).expect("erased edit exists"));
                        }
                    }
                    self.messages.insert(entry.seq, entry);
                }
                Output::Write(Write::Dedup {
                    sender,
                    client_msg_id,
                    seq,
                }) => {
                    self.dedup.insert((sender, client_msg_id), seq);
                }
                Output::Reply { reply, .. } => replies.push(reply),
                Output::Ship(entry) => self.shipped.push(entry),
                _ => {}
            }
        }
        self.core.batch_committed();
        replies
    }

    /// The input the shell would hand in, with its lookups done.
    fn input(&mut self, author: &str, key: &str, text: &str, action: Action) -> Input {
        let stored = self
            .dedup
            .get(&(author.to_owned(), key.to_owned()))
            .map(|seq| (*seq, self.messages[seq].hlc));
        let target = action
            .refers_to()
            .and_then(|seq| self.messages.get(&seq).cloned())
            .map(Box::new);
        Input::Send(Send {
            token: 0,
            author: author.into(),
            client_msg_id: key.into(),
            text: text.into(),
            action,
            target,
            forwarded: false,
            stored,
            blocked: false,
        })
    }

    fn write_as(
        &mut self,
        author: &str,
        key: &str,
        text: &str,
        action: Action,
    ) -> Result<Appended, ChatError> {
        let input = self.input(author, key, text, action);
        let outputs = self.core.handle(Millis(0), input);
        match self.commit(outputs).pop().expect("a send is answered") {
            Ok(Reply::Sent(appended)) => Ok(appended),
            Ok(other) => panic!("a send answered {other:?}"),
            Err(error) => Err(error),
        }
    }

    fn write(&mut self, author: &str, text: &str, action: Action) -> Result<Appended, ChatError> {
        self.next_key += 1;
        let key = format!("k{}", self.next_key);
        self.write_as(author, &key, text, action)
    }

    fn text(&mut self, author: &str, text: &str) -> Result<Appended, ChatError> {
        self.write(author, text, Action::Text { reply_to: None })
    }

    fn edit(&mut self, author: &str, seq: u64, text: &str) -> Result<Appended, ChatError> {
        self.write(author, text, Action::Edit { target_seq: seq })
    }

    fn delete(&mut self, author: &str, seq: u64) -> Result<Appended, ChatError> {
        self.write(author, "", Action::Delete { target_seq: seq })
    }

    fn react(
        &mut self,
        author: &str,
        seq: u64,
        emoji: &str,
        on: bool,
    ) -> Result<Appended, ChatError> {
        let action = Action::React {
            target_seq: seq,
            emoji: emoji.into(),
            on,
        };
        self.write(author, "", action)
    }

    /// Asserts `result` is refused as `expected` says and nothing changed.
    fn refused(
        &mut self,
        expected: fn(&ChatError) -> bool,
        write: impl FnOnce(&mut Self) -> Result<Appended, ChatError>,
    ) {
        let before = (self.messages.clone(), self.core.last_seq());
        let result = write(self);
        assert!(
            matches!(&result, Err(e) if expected(e)),
            "unexpected answer {result:?}"
        );
        assert_eq!(before, (self.messages.clone(), self.core.last_seq()));
    }
}

#[test]
fn an_edit_by_the_sender_folds_into_the_message_and_keeps_history() {
    let mut home = Home::new();
    let done = home.edit("u1", 3, "hi, there").unwrap();
    assert_eq!(done.seq, 4);
    let entry = &home.messages[&4];
    assert_eq!(
        (entry.kind, entry.target_seq, entry.text.as_str()),
        (MessageKind::Edit, Some(3), "hi, there")
    );
    let message = &home.messages[&3];
    assert_eq!(message.text, "hi, there");
    assert_eq!(message.edited_at, Some(done.hlc.millis()));
    assert_eq!(message.history[0].text, "hi there");
    assert_eq!(message.history[0].replaced_by, 4);
}

#[test]
fn bad_edits_are_refused_and_change_nothing() {
    let mut home = Home::new();
    home.refused(
        |e| matches!(e, ChatError::Forbidden(_)),
        |h| h.edit("u0", 3, "mine now"),
    );
    home.refused(
        |e| matches!(e, ChatError::Invalid(_)),
        |h| h.edit("u0", 1, "not a text"),
    );
    home.refused(
        |e| matches!(e, ChatError::NotFound(_)),
        |h| h.edit("u1", 99, "nothing there"),
    );
    home.refused(
        |e| matches!(e, ChatError::NotFound(_)),
        |h| h.edit("u1", 0, "nothing there"),
    );
    home.refused(
        |e| matches!(e, ChatError::Invalid(_)),
        |h| h.edit("u1", 3, ""),
    );
    home.refused(
        |e| matches!(e, ChatError::TooLarge(_)),
        |h| h.edit("u1", 3, &"x".repeat(64 * 1024 + 1)),
    );
    home.refused(
        |e| matches!(e, ChatError::NotMember),
        |h| h.edit("u9", 3, "x"),
    );
    home.delete("u1", 3).unwrap();
    home.refused(
        |e| matches!(e, ChatError::Conflict(_)),
        |h| h.edit("u1", 3, "too late"),
    );
    // An edit entry is not a message to edit.
    let edit = home.edit("u0", 2, "hello!").unwrap().seq;
    home.refused(
        |e| matches!(e, ChatError::Invalid(_)),
        |h| h.edit("u0", edit, "again"),
    );
}

#[test]
fn a_delete_erases_the_text_and_every_edit_of_it() {
    let mut home = Home::new();
    let first = home.edit("u1", 3, "secret one").unwrap().seq;
    let second = home.edit("u1", 3, "secret two").unwrap().seq;
    let delete = home.delete("u1", 3).unwrap().seq;
    let message = &home.messages[&3];
    assert!(message.deleted);
    assert!(message.text.is_empty() && message.history.is_empty());
    for seq in [first, second] {
        assert!(home.messages[&seq].text.is_empty(), "edit {seq} erased");
    }
    // The entries stay, in order.
    assert_eq!(home.messages[&delete].kind, MessageKind::Delete);
    assert_eq!(home.messages.len() as u64, home.core.last_seq());
    let stored: String = home
        .messages
        .values()
        .map(|m| serde_json::to_string(m).unwrap())
        .collect();
    assert!(!stored.contains("secret") && !stored.contains("hi there"));
}

#[test]
fn deletes_by_admins_only_and_only_once() {
    let mut home = Home::new();
    home.refused(
        |e| matches!(e, ChatError::Forbidden(_)),
        |h| h.delete("u2", 3),
    );
    // The owner may delete anyone's message.
    home.delete("u0", 3).unwrap();
    home.refused(
        |e| matches!(e, ChatError::Conflict(_)),
        |h| h.delete("u1", 3),
    );
    home.refused(
        |e| matches!(e, ChatError::Invalid(_)),
        |h| h.delete("u0", 1),
    );
    home.refused(
        |e| matches!(e, ChatError::NotFound(_)),
        |h| h.delete("u0", 50),
    );
}

#[test]
fn a_retried_delete_answers_its_first_seq() {
    let mut home = Home::new();
    let first = home
        .write_as("u1", "del", "", Action::Delete { target_seq: 3 })
        .unwrap();
    let again = home
        .write_as("u1", "del", "", Action::Delete { target_seq: 3 })
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(home.core.last_seq(), first.seq);
}

#[test]
fn reactions_are_one_per_user_and_emoji() {
    let mut home = Home::new();
    home.react("u2", 3, "👍", true).unwrap();
    home.react("u3", 3, "👍", true).unwrap();
    home.react("u2", 3, "🎉", true).unwrap();
    home.refused(
        |e| matches!(e, ChatError::Conflict(_)),
        |h| h.react("u2", 3, "👍", true),
    );
    home.react("u2", 3, "👍", false).unwrap();
    home.refused(
        |e| matches!(e, ChatError::Conflict(_)),
        |h| h.react("u2", 3, "👍", false),
    );
    let reactions = &home.messages[&3].reactions;
    assert_eq!(reactions["👍"], ["u3"]);
    assert_eq!(reactions["🎉"], ["u2"]);
}

#[test]
fn bad_reactions_are_refused_and_change_nothing() {
    let mut home = Home::new();
    home.refused(
        |e| matches!(e, ChatError::TooLarge(_)),
        |h| h.react("u2", 3, &"x".repeat(1 << 20), true),
    );
    for bad in ["ok", "👍👍", "", "a👍"] {
        home.refused(
            |e| matches!(e, ChatError::Invalid(_)),
            |h| h.react("u2", 3, bad, true),
        );
    }
    home.refused(
        |e| matches!(e, ChatError::NotMember),
        |h| h.react("u9", 3, "👍", true),
    );
    home.refused(
        |e| matches!(e, ChatError::Invalid(_)),
        |h| h.react("u2", 1, "👍", true),
    );
    home.delete("u1", 3).unwrap();
    home.refused(
        |e| matches!(e, ChatError::Conflict(_)),
        |h| h.react("u2", 3, "👍", true),
    );
}

#[test]
fn replies_answer_a_readable_message() {
    let mut home = Home::new();
    let reply = home
        .write("u2", "yes", Action::Text { reply_to: Some(3) })
        .unwrap();
    assert_eq!(home.messages[&reply.seq].reply_to, Some(3));
    home.refused(
        |e| matches!(e, ChatError::NotFound(_)),
        |h| h.write("u2", "to nothing", Action::Text { reply_to: Some(40) }),
    );
    let edit = home.edit("u1", 3, "changed").unwrap().seq;
    home.refused(
        |e| matches!(e, ChatError::Invalid(_)),
        |h| {
            h.write(
                "u2",
                "to an edit",
                Action::Text {
                    reply_to: Some(edit),
                },
            )
        },
    );
    // A removed member's forwarded write (taken while they were a member)
    // may not refer to what came after their removal.
    let outputs = home.core.handle(
        Millis(0),
        Input::Change {
            token: 0,
            actor: "u0".into(),
            change: Change::Remove("u3".into()),
        },
    );
    home.commit(outputs);
    let removed_at = home.core.last_seq();
    // A member added later reads, and may answer, the earlier history.
    let outputs = home.core.handle(
        Millis(0),
        Input::Change {
            token: 0,
            actor: "u0".into(),
            change: Change::AddMembers(vec!["u5".into()]),
        },
    );
    home.commit(outputs);
    home.react("u5", 3, "👍", true).unwrap();
    let later = home.text("u0", "after").unwrap().seq;
    for (seq, allowed) in [(3, true), (removed_at, true), (later, false)] {
        let Input::Send(mut send) = home.input(
            "u3",
            &format!("r{seq}"),
            "re",
            Action::Text {
                reply_to: Some(seq),
            },
        ) else {
            unreachable!()
        };
        send.forwarded = true;
        let outputs = home.core.handle(Millis(0), Input::Send(send));
        let reply = home.commit(outputs).pop().unwrap();
        assert_eq!(reply.is_ok(), allowed, "reply to {seq}: {reply:?}");
    }
}

#[test]
fn writes_of_one_batch_see_each_other() {
    let mut home = Home::new();
    // Sent, edited and reacted to before the batch commits: the shell's
    // lookups found nothing for the later two.
    let send = home.input("u2", "a", "draft", Action::Text { reply_to: None });
    let edit = home.input("u2", "b", "final", Action::Edit { target_seq: 4 });
    let react = home.input(
        "u1",
        "c",
        "",
        Action::React {
            target_seq: 4,
            emoji: "👍".into(),
            on: true,
        },
    );
    let again = home.input(
        "u1",
        "d",
        "",
        Action::React {
            target_seq: 4,
            emoji: "👍".into(),
            on: true,
        },
    );
    let mut outputs = Vec::new();
    for input in [send, edit, react, again] {
        outputs.extend(home.core.handle(Millis(0), input));
    }
    let replies = home.commit(outputs);
    assert!(replies[..3].iter().all(Result::is_ok), "{replies:?}");
    assert!(matches!(replies[3], Err(ChatError::Conflict(_))));
    let message = &home.messages[&4];
    assert_eq!(message.text, "final");
    assert_eq!(message.reactions["👍"], ["u1"]);
}

#[test]
fn a_replica_refuses_what_cannot_change_and_forwards_the_rest() {
    let mut home = Home::new();
    home.delete("u1", 3).unwrap();
    let config = CoreConfig {
        region: "replica".into(),
        clock: Arc::new(Counter::default()),
        sabotage: None,
    };
    let mut replica = ChatCore::new(config, "c1", Loaded::default());
    let entries = std::mem::take(&mut home.shipped);
    let outputs = replica.handle(Millis(0), Input::Replicated { token: 0, entries });
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::Reply {
            reply: Ok(Reply::Applied(4)),
            ..
        }
    )));
    let send = |author: &str, action: Action| {
        let target = action
            .refers_to()
            .and_then(|seq| home.messages.get(&seq).cloned())
            .map(Box::new);
        Input::Send(Send {
            token: 1,
            author: author.into(),
            client_msg_id: "k".into(),
            text: "new".into(),
            action,
            target,
            forwarded: false,
            stored: None,
            blocked: false,
        })
    };
    // One's own message is forwarded; another's is refused here, for good.
    let outputs = replica.handle(Millis(0), send("u0", Action::Edit { target_seq: 2 }));
    let outputs_other = replica.handle(Millis(0), send("u1", Action::Edit { target_seq: 2 }));
    assert!(
        matches!(outputs.as_slice(), [Output::Forward { item, .. }] if item.target_seq == Some(2))
    );
    assert!(matches!(
        outputs_other.as_slice(),
        [Output::Reply {
            reply: Err(ChatError::Forbidden(_)),
            ..
        }]
    ));
    // A message deleted in the replica's view: refused here too.
    let outputs = replica.handle(Millis(0), send("u1", Action::Edit { target_seq: 3 }));
    assert!(matches!(
        outputs.as_slice(),
        [Output::Reply {
            reply: Err(ChatError::Conflict(_)),
            ..
        }]
    ));
    // A message the replica has not received yet: the home decides.
    let outputs = replica.handle(Millis(0), send("u1", Action::Edit { target_seq: 9 }));
    assert!(matches!(outputs.as_slice(), [Output::Forward { .. }]));
}

#[test]
fn a_forwarded_write_is_sequenced_even_if_the_state_moved_meanwhile() {
    let mut home = Home::new();
    home.react("u2", 3, "👍", true).expect("u2 reacts");
    // Taken by another region before it learned of u2's reaction, and of
    // a delete of seq 3: a promise, kept as a no-op.
    for (key, action) in [
        (
            "f1",
            Action::React {
                target_seq: 3,
                emoji: "👍".into(),
                on: true,
            },
        ),
        ("f2", Action::Delete { target_seq: 3 }),
        ("f3", Action::Delete { target_seq: 3 }),
    ] {
        let Input::Send(mut send) = home.input("u2", key, "", action) else {
            unreachable!()
        };
        if key != "f1" {
            send.author = "u1".into();
        }
        send.forwarded = true;
        let outputs = home.core.handle(Millis(0), Input::Send(send));
        let reply = home.commit(outputs).pop().expect("answered");
        assert!(reply.is_ok(), "{key}: {reply:?}");
    }
    let message = &home.messages[&3];
    assert!(message.deleted && message.reactions.is_empty());
    // What cannot change is still checked: another's message.
    let Input::Send(mut send) = home.input("u2", "f4", "x", Action::Edit { target_seq: 2 }) else {
        unreachable!()
    };
    send.forwarded = true;
    let outputs = home.core.handle(Millis(0), Input::Send(send));
    assert!(matches!(
        home.commit(outputs).pop(),
        Some(Err(ChatError::Forbidden(_)))
    ));
}
