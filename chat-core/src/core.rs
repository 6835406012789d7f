//! [`ChatCore`]: one chat's state in one region, and the dispatch of its
//! inputs. The rules live in sibling modules, one idea each: `send`
//! (sequencing and forwarding), `change` (membership), `create` (new
//! chats), `replica` (applying the home's entries), `marks`, `typing` and
//! `meta`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use protocol::Hlc;
use protocol::chats::{Chat, MemberInfo};
use protocol::frames::ServerFrame;
use protocol::records::{ChatRecord, ChatState, Marks, MemberRecord};
use sync::replication::Millis;

use crate::ChatError;
use crate::io::{Appended, Input, MetaFields, Output, Reply, Token, Write};
use crate::members::{Members, Recipients};
use crate::sabotage::Sabotage;

/// How long receipt marks wait to be written together.
pub const MARKS_DELAY: Duration = Duration::from_millis(50);
/// Typing expires without a refresh after this long.
pub const TYPING_TTL: Duration = Duration::from_secs(6);

/// The region's hybrid logical clock, as the core sees it: every call
/// answers a timestamp greater than any it answered or took in before.
pub trait Stamp: Send + Sync {
    /// The next timestamp.
    fn stamp(&self) -> Hlc;
}

/// What every chat core of a region shares.
#[derive(Clone)]
pub struct CoreConfig {
    /// This region's name.
    pub region: String,
    /// The region's clock.
    pub clock: Arc<dyn Stamp>,
    /// A deliberate defect, in consistency tests only.
    pub sabotage: Option<Sabotage>,
}

impl std::fmt::Debug for CoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreConfig")
            .field("region", &self.region)
            .field("sabotage", &self.sabotage)
            .finish_non_exhaustive()
    }
}

/// What the store holds of a chat, loaded by the shell.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The record, if the chat exists here.
    pub record: Option<ChatRecord>,
    /// Every member record.
    pub members: Vec<MemberRecord>,
    /// The last `seq` stored.
    pub last_seq: u64,
    /// Stored marks by user.
    pub marks: HashMap<String, Marks>,
    /// The merged metadata document's values, if any edit was merged.
    pub meta: Option<MetaFields>,
}

/// One chat in one region.
#[derive(Debug)]
pub struct ChatCore {
    pub(crate) config: CoreConfig,
    pub(crate) chat_id: String,
    pub(crate) record: Option<ChatRecord>,
    pub(crate) members: Members,
    pub(crate) last_seq: u64,
    pub(crate) marks: HashMap<String, Marks>,
    pub(crate) dirty: HashMap<String, Marks>,
    pub(crate) marks_waiting: Vec<Token>,
    pub(crate) flush_at: Option<Millis>,
    pub(crate) typing: HashMap<String, Millis>,
    pub(crate) meta: Option<MetaFields>,
    /// Sends of the current batch, by `(author, client_msg_id)`.
    pub(crate) in_batch: HashMap<(String, String), Appended>,
    pub(crate) out: Vec<Output>,
}

impl ChatCore {
    /// The core of `chat_id` from what the store holds.
    pub fn new(config: CoreConfig, chat_id: &str, loaded: Loaded) -> Self {
        Self {
            config,
            chat_id: chat_id.to_owned(),
            record: loaded.record,
            members: Members::new(loaded.members),
            last_seq: loaded.last_seq,
            marks: loaded.marks,
            dirty: HashMap::new(),
            marks_waiting: Vec::new(),
            flush_at: None,
            typing: HashMap::new(),
            meta: loaded.meta,
            in_batch: HashMap::new(),
            out: Vec::new(),
        }
    }

    /// The chat's id.
    pub fn chat_id(&self) -> &str {
        &self.chat_id
    }

    /// Whether the chat exists here.
    pub fn exists(&self) -> bool {
        self.record.is_some()
    }

    /// The last `seq` this region holds.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether this region sequences the chat.
    pub fn is_home(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| r.home_region == self.config.region)
    }

    /// In a direct chat, the member other than `user`; `None` in a group.
    pub fn direct_peer(&self, user: &str) -> Option<&str> {
        let record = self.record.as_ref()?;
        if record.kind != protocol::chats::ChatKind::Direct {
            return None;
        }
        self.members
            .records()
            .map(|m| m.user_id.as_str())
            .find(|id| *id != user)
    }

    /// Whether nothing is waiting: no marks to write, no typing to expire.
    pub fn is_idle(&self) -> bool {
        self.flush_at.is_none() && self.typing.is_empty()
    }

    /// Feeds one input; answers what to do.
    pub fn handle(&mut self, now: Millis, input: Input) -> Vec<Output> {
        match input {
            Input::Send(send) => self.send(send),
            Input::CreateGroup {
                token,
                owner,
                members,
                title,
                description,
            } => self.create_group(token, &owner, &members, title, description),
            Input::CreateDirect {
                token,
                users,
                created_at,
            } => self.create_direct(token, users, created_at),
            Input::Adopt { token, state } => self.adopt(token, state),
            Input::Change {
                token,
                actor,
                change,
            } => {
                let reply = self.change(&actor, change);
                self.reply(token, reply);
            }
            Input::Marks {
                token,
                user,
                delivered,
                read,
            } => self.mark(now, token, &user, delivered, read),
            Input::RemoteMarks {
                user,
                delivered,
                read,
            } => self.merge_remote_marks(now, &user, delivered, read),
            Input::Typing {
                token,
                user,
                active,
                remote,
            } => {
                // Only current members type; anyone else is told so.
                let allowed = self.record().and_then(|_| {
                    if self.members.is_current(&user) {
                        Ok(Reply::Done)
                    } else {
                        Err(ChatError::NotMember)
                    }
                });
                self.set_typing(now, &user, active, remote);
                if let Some(token) = token {
                    self.reply(token, allowed);
                }
            }
            Input::Meta { token, fields } => {
                let reply = self.take_meta(fields);
                if let Some(token) = token {
                    self.reply(token, reply);
                }
            }
            Input::Replicated { token, entries } => {
                let reply = self.apply_replicated(&entries);
                self.reply(token, reply);
            }
            Input::View { token } => {
                let reply = self.view().map(|chat| Reply::Chat(Box::new(chat)));
                self.reply(token, reply);
            }
            Input::Tick => self.tick(now),
        }
        std::mem::take(&mut self.out)
    }

    /// Ends a batch after its writes committed: sends of the next batch are
    /// deduplicated against the store.
    pub fn batch_committed(&mut self) {
        self.in_batch.clear();
    }

    /// When the core next wants [`Input::Tick`].
    pub fn poll_timeout(&self) -> Option<Millis> {
        let typing = self.typing.values().min().copied();
        match (self.flush_at, typing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn tick(&mut self, now: Millis) {
        if self.flush_at.is_some_and(|at| at <= now) {
            self.flush_marks();
        }
        self.expire_typing(now);
    }

    /// The chat as clients see it.
    pub fn view(&self) -> Result<Chat, ChatError> {
        let record = self.record()?;
        Ok(Chat {
            chat_id: record.chat_id.clone(),
            kind: record.kind,
            title: record.title.clone(),
            description: record.description.clone(),
            home_region: record.home_region.clone(),
            created_at: record.created_at,
            last_seq: self.last_seq,
            members: self
                .members
                .current()
                .map(|m| MemberInfo {
                    user_id: m.user_id.clone(),
                    role: m.role,
                    joined_seq: m.joined_seq,
                })
                .collect(),
            deleted: record.deleted,
            muted_until: None,
        })
    }

    /// The record and every member record.
    pub(crate) fn state(&self) -> Option<ChatState> {
        Some(ChatState {
            chat: self.record.clone()?,
            members: self.members.records().cloned().collect(),
        })
    }

    pub(crate) fn record(&self) -> Result<&ChatRecord, ChatError> {
        self.record
            .as_ref()
            .ok_or_else(|| ChatError::NotFound("no such chat".into()))
    }

    /// The record of a chat that exists and is not deleted.
    pub(crate) fn live_record(&self) -> Result<&ChatRecord, ChatError> {
        let record = self.record()?;
        if record.deleted {
            return Err(ChatError::NotFound("chat was deleted".into()));
        }
        Ok(record)
    }

    pub(crate) fn emit(&mut self, output: Output) {
        self.out.push(output);
    }

    pub(crate) fn write(&mut self, write: Write) {
        self.out.push(Output::Write(write));
    }

    pub(crate) fn reply(&mut self, token: Token, reply: Result<Reply, ChatError>) {
        self.out.push(Output::Reply { token, reply });
    }

    pub(crate) fn deliver(&mut self, frame: ServerFrame, seq: Option<u64>, recipients: Recipients) {
        self.out.push(Output::Deliver {
            frame,
            seq,
            recipients,
        });
    }

    /// Shows the chat's new state to its current members and `extra`.
    pub(crate) fn broadcast_chat(&mut self, extra: Option<&str>) {
        let Ok(chat) = self.view() else {
            return;
        };
        let mut recipients = self.members.current_recipients();
        if let Some(extra) = extra {
            recipients = recipients
                .iter()
                .cloned()
                .chain(std::iter::once(extra.to_owned()))
                .collect();
        }
        self.deliver(ServerFrame::Chat { chat }, None, recipients);
    }

    /// Who receives the entry at `seq`: the one fan-out rule, with the
    /// `ignore-removal` sabotage's hook.
    pub(crate) fn recipients_at(&mut self, seq: u64) -> Recipients {
        if Sabotage::ignores_removal(self.config.sabotage) {
            return self.members.everyone();
        }
        self.members.recipients_at(seq)
    }

    /// Writes the record and remembers it.
    pub(crate) fn put_record(&mut self, record: ChatRecord) {
        self.write(Write::Record(record.clone()));
        self.record = Some(record);
    }

    /// Writes a member record and remembers it.
    pub(crate) fn put_member(&mut self, member: MemberRecord) {
        self.write(Write::Member(member.clone()));
        self.members.put(member);
    }
}
