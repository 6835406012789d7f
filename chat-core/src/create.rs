//! New chats: a group created at its home (its first entry is the
//! `chat_created` system message), a direct chat created at the region the
//! pair hashes to (no entry until its first message), and a replica of a
//! direct chat adopted from its home's answer.

use protocol::chats::{ChatKind, Message, MessageKind, Role, SystemEvent};
use protocol::frames::ServerFrame;
use protocol::records::{ChatRecord, ChatState, MemberRecord};

use crate::ChatError;
use crate::core::ChatCore;
use crate::io::{Token, Write};
use crate::rules::{MAX_MEMBERS, validate_description, validate_title};

impl ChatCore {
    fn refuse_existing(&mut self, token: Token) -> bool {
        if self.record.is_some() {
            self.reply(
                token,
                Err(ChatError::Conflict(format!("chat {} exists", self.chat_id))),
            );
            return true;
        }
        false
    }

    pub(crate) fn create_group(
        &mut self,
        token: Token,
        owner: &str,
        members: &[String],
        title: String,
        description: String,
    ) {
        if self.refuse_existing(token) {
            return;
        }
        let checked = validate_title(&title)
            .and_then(|()| validate_description(&description))
            .and_then(|()| {
                if members.len() > MAX_MEMBERS {
                    Err(ChatError::TooLarge(format!(
                        "a group has at most {MAX_MEMBERS} members"
                    )))
                } else {
                    Ok(())
                }
            });
        if let Err(error) = checked {
            self.reply(token, Err(error));
            return;
        }
        let hlc = self.config.clock.stamp();
        self.put_record(ChatRecord {
            chat_id: self.chat_id.clone(),
            kind: ChatKind::Group,
            title: title.clone(),
            description,
            home_region: self.config.region.clone(),
            created_at: hlc.millis(),
            deleted: false,
        });
        for id in members {
            self.put_member(MemberRecord {
                user_id: id.clone(),
                role: if id == owner {
                    Role::Owner
                } else {
                    Role::Member
                },
                joined_seq: 1,
                removed_seq: None,
                earlier: Vec::new(),
            });
        }
        self.write(Write::MembersCount(members.len() as u64));
        let message = Message {
            chat_id: self.chat_id.clone(),
            seq: 1,
            hlc,
            sender_id: owner.to_owned(),
            client_msg_id: "system-1".to_owned(),
            kind: MessageKind::System,
            text: format!("created the group {title}"),
            event: Some(SystemEvent::ChatCreated),
            user_ids: Some(members.to_vec()),
            title: Some(title),
            sent_at: hlc.millis(),
            ..Default::default()
        };
        // The chat is shown as it is once its first entry commits.
        self.last_seq = 1;
        self.announce();
        self.commit_entry(message, true);
        tracing::info!(chat = %self.chat_id, members = members.len(), "group created");
        let reply = self.chat_reply();
        self.reply(token, reply);
    }

    pub(crate) fn create_direct(&mut self, token: Token, users: [String; 2], created_at: u64) {
        if self.refuse_existing(token) {
            return;
        }
        if users[0] == users[1] {
            self.reply(
                token,
                Err(ChatError::Invalid(
                    "a direct chat needs another user".into(),
                )),
            );
            return;
        }
        self.write(Write::ClaimDirect {
            users: users.clone(),
        });
        self.put_record(ChatRecord {
            chat_id: self.chat_id.clone(),
            kind: ChatKind::Direct,
            title: String::new(),
            description: String::new(),
            home_region: self.config.region.clone(),
            created_at,
            deleted: false,
        });
        for user in users {
            self.put_member(MemberRecord {
                user_id: user,
                role: Role::Member,
                joined_seq: 0,
                removed_seq: None,
                earlier: Vec::new(),
            });
        }
        self.write(Write::MembersCount(2));
        self.write(Write::LastSeq(0));
        self.announce();
        let reply = self.chat_reply();
        self.reply(token, reply);
    }

    pub(crate) fn adopt(&mut self, token: Token, state: ChatState) {
        if self.record.is_none() {
            self.take_state(state);
            self.write(Write::LastSeq(self.last_seq));
            self.announce();
        }
        let reply = self.chat_reply();
        self.reply(token, reply);
    }

    /// Takes the chat's record and members as its home sent them (with
    /// this region's merged metadata over the record).
    pub(crate) fn take_state(&mut self, state: ChatState) {
        let ChatState { mut chat, members } = state;
        // The home may not have merged every edit yet.
        if let Some(meta) = &self.meta {
            meta.overlay(&mut chat);
        }
        let direct = chat.kind == ChatKind::Direct;
        self.put_record(chat);
        for member in members {
            self.put_member(member);
        }
        self.write(Write::MembersCount(self.members.current_count() as u64));
        if direct {
            let pair: Vec<String> = self.members.records().map(|m| m.user_id.clone()).collect();
            if let [a, b] = pair.as_slice() {
                self.write(Write::Direct {
                    users: [a.clone(), b.clone()],
                });
            }
        }
    }

    /// Shows a new chat to its members.
    fn announce(&mut self) {
        if let Ok(chat) = self.view() {
            let recipients = self.members.current_recipients();
            self.deliver(ServerFrame::Chat { chat }, None, recipients);
        }
    }
}
