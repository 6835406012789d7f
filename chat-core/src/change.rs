//! Changes to a group, decided at its home and written as system messages:
//! members added or removed (or leaving), the group deleted, and — from
//! the merged metadata document — renamed or described. Each change
//! carries the chat's state after it, so replicas take it as it is.

use protocol::chats::{Chat, ChatKind, Message, MessageKind, Role, SystemEvent};
use protocol::records::{MemberRecord, Spell};

use crate::ChatError;
use crate::core::ChatCore;
use crate::io::{Change, Reply};
use crate::rules::MAX_MEMBERS;

/// A change ready to be written as the next system message.
pub(crate) struct SystemChange {
    /// What happened.
    pub(crate) event: SystemEvent,
    /// Who was added or removed.
    pub(crate) user_ids: Option<Vec<String>>,
    /// The new title, for renames.
    pub(crate) title: Option<String>,
    /// The readable summary.
    pub(crate) text: String,
    /// A member removed by it, who still receives this message.
    pub(crate) removed: Option<String>,
}

impl ChatCore {
    pub(crate) fn change(&mut self, actor: &str, change: Change) -> Result<Reply, ChatError> {
        let record = self.live_record()?;
        if record.home_region != self.config.region {
            return Err(ChatError::HomeUnreachable(format!(
                "this chat is homed in region {}",
                record.home_region
            )));
        }
        let kind = record.kind;
        let actor_role = self
            .members
            .get(actor)
            .filter(|m| m.is_current())
            .map(|m| m.role)
            .ok_or(ChatError::NotMember)?;
        if kind == ChatKind::Direct {
            return Err(ChatError::Invalid(
                "direct chats cannot change members".into(),
            ));
        }
        let is_admin = actor_role >= Role::Admin;
        let forbidden = |what: &str| ChatError::Forbidden(format!("only {what}"));
        let seq = self.last_seq + 1;
        let system = match change {
            Change::AddMembers(ids) => {
                if !is_admin {
                    return Err(forbidden("admins may add members"));
                }
                let mut added: Vec<String> = Vec::new();
                for id in ids {
                    if !self.members.is_current(&id) && !added.contains(&id) {
                        added.push(id);
                    }
                }
                if added.is_empty() {
                    return self.chat_reply();
                }
                if self.members.current_count() + added.len() > MAX_MEMBERS {
                    return Err(ChatError::TooLarge(format!(
                        "a group has at most {MAX_MEMBERS} members"
                    )));
                }
                for id in &added {
                    // A former member keeps their earlier spells: replicas
                    // catching up deliver those entries to them too.
                    let earlier = match self.members.get(id) {
                        Some(former) => {
                            let mut earlier = former.earlier.clone();
                            if let Some(removed_seq) = former.removed_seq {
                                earlier.push(Spell {
                                    joined_seq: former.joined_seq,
                                    removed_seq,
                                });
                            }
                            earlier
                        }
                        None => Vec::new(),
                    };
                    self.put_member(MemberRecord {
                        user_id: id.clone(),
                        role: Role::Member,
                        joined_seq: seq,
                        removed_seq: None,
                        earlier,
                    });
                }
                SystemChange {
                    event: SystemEvent::MemberAdded,
                    text: format!("added {}", added.join(", ")),
                    user_ids: Some(added),
                    title: None,
                    removed: None,
                }
            }
            Change::Remove(target) => {
                let target_role = self
                    .members
                    .get(&target)
                    .filter(|m| m.is_current())
                    .map(|m| m.role)
                    .ok_or_else(|| ChatError::NotFound("not a member of this chat".into()))?;
                if target != actor
                    && !(is_admin && (actor_role == Role::Owner || target_role == Role::Member))
                {
                    return Err(forbidden(
                        "admins may remove members, and only the owner may remove admins",
                    ));
                }
                if let Some(member) = self.members.get(&target).cloned() {
                    self.put_member(MemberRecord {
                        removed_seq: Some(seq),
                        ..member
                    });
                }
                if target_role == Role::Owner {
                    let heir = self
                        .members
                        .current()
                        .max_by_key(|m| (m.role, std::cmp::Reverse(m.joined_seq)))
                        .cloned();
                    if let Some(heir) = heir {
                        self.put_member(MemberRecord {
                            role: Role::Owner,
                            ..heir
                        });
                    }
                }
                let text = if target == actor {
                    "left".to_owned()
                } else {
                    format!("removed {target}")
                };
                SystemChange {
                    event: SystemEvent::MemberRemoved,
                    user_ids: Some(vec![target.clone()]),
                    title: None,
                    text,
                    removed: Some(target),
                }
            }
            Change::SetRole(target, role) => {
                if actor_role != Role::Owner {
                    return Err(forbidden("the owner may change roles"));
                }
                match self.set_role(actor, &target, role)? {
                    Some(system) => system,
                    None => return self.chat_reply(),
                }
            }
            Change::Delete => {
                if actor_role != Role::Owner {
                    return Err(forbidden("the owner may delete the group"));
                }
                if let Some(mut record) = self.record.clone() {
                    record.deleted = true;
                    self.put_record(record);
                }
                SystemChange {
                    event: SystemEvent::ChatDeleted,
                    user_ids: None,
                    title: None,
                    text: "deleted the group".to_owned(),
                    removed: None,
                }
            }
        };
        self.commit_change(actor, system);
        self.chat_reply()
    }

    pub(crate) fn chat_reply(&self) -> Result<Reply, ChatError> {
        self.view().map(|chat: Chat| Reply::Chat(Box::new(chat)))
    }

    /// Writes a change (whose record and member writes are already made)
    /// as the next system message, and shows it and the chat's new state
    /// to the members.
    pub(crate) fn commit_change(&mut self, actor: &str, change: SystemChange) {
        let seq = self.last_seq + 1;
        let hlc = self.config.clock.stamp();
        let message = Message {
            chat_id: self.chat_id.clone(),
            seq,
            hlc,
            sender_id: actor.to_owned(),
            client_msg_id: format!("system-{seq}"),
            kind: MessageKind::System,
            text: change.text,
            event: Some(change.event),
            user_ids: change.user_ids,
            title: change.title,
            sent_at: hlc.millis(),
        };
        self.write(crate::io::Write::MembersCount(
            self.members.current_count() as u64
        ));
        tracing::info!(chat = %self.chat_id, seq, event = ?change.event, "chat changed");
        self.commit_entry(message, true);
        self.broadcast_chat(change.removed.as_deref());
    }
}
