//! The chat task: one per active chat, the only writer of its log.
//!
//! It owns the chat's sequencer, membership and receipt marks in memory, so
//! a chat takes one write at a time without locks. Sends queued together are
//! appended in one store transaction (and the store's group commit merges
//! transactions of different chats into one fsync); `sent` is answered only
//! after the commit. Committed messages are encoded once and fanned out to
//! every connection of every member through the hub.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use protocol::Hlc;
use protocol::chats::{
    Chat, ChatKind, MemberInfo, Message, MessageKind, Role, SendStatus, SystemEvent,
};
use protocol::frames::ServerFrame;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

mod forward;
mod meta;

pub(crate) use forward::error_code;

use super::Ctx;
use super::keys;
use super::records::{ChatRecord, Marks, MemberRecord};
use crate::accounts::records::{decode, encode};
use crate::error::ApiError;
use crate::hub::Outbound;
use crate::mesh::peer::MeshDelta;
use crate::testing::Sabotage;
use protocol::ErrorCode;

/// Largest group, owner included.
pub const MAX_MEMBERS: usize = 1000;
/// How long receipt marks wait to be written together.
const MARKS_DELAY: Duration = Duration::from_millis(50);
/// Typing expires without a refresh after this long.
const TYPING_TTL: Duration = Duration::from_secs(6);
/// A chat task with nothing to do for this long stops.
const IDLE: Duration = Duration::from_secs(300);
/// Most commands handled in one batch.
const BATCH: usize = 512;

/// A committed send.
#[derive(Debug, Clone, Copy)]
pub struct Appended {
    /// Its position (0 while only accepted).
    pub seq: u64,
    /// Its clock.
    pub hlc: Hlc,
    /// Sequenced by the home, or only accepted here.
    pub status: SendStatus,
}

/// A change to the chat's membership or existence, decided by its home
/// and written as a system message. (Title and description are edited in
/// any region: see `chat::meta`.)
#[derive(Debug, Clone)]
pub enum Change {
    /// Add these users.
    AddMembers(Vec<String>),
    /// Remove this user (the actor themself: leave).
    Remove(String),
    /// Delete the group.
    Delete,
}

/// A change ready to be written as a system message.
pub(crate) struct SystemChange {
    /// The chat's record afterwards.
    pub(crate) record: ChatRecord,
    /// Its members afterwards.
    pub(crate) members: BTreeMap<String, MemberRecord>,
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

/// What a chat task does.
pub enum Command {
    /// Append a text message.
    Append {
        /// Sender.
        author: String,
        /// Idempotency key.
        client_msg_id: String,
        /// Text.
        text: String,
        /// Forwarded by another region, which took it while the sender was
        /// a member there.
        forwarded: bool,
        /// Answer.
        reply: oneshot::Sender<Result<Appended, ApiError>>,
    },
    /// Change membership, or delete the group.
    Change {
        /// Who asks.
        actor: String,
        /// What.
        change: Change,
        /// Answer: the chat afterwards.
        reply: oneshot::Sender<Result<Chat, ApiError>>,
    },
    /// Move a member's delivered/read marks forward.
    Marks {
        /// Whose.
        user: String,
        /// Delivered up to.
        delivered: u64,
        /// Read up to.
        read: u64,
        /// Answered once written.
        reply: oneshot::Sender<Result<(), ApiError>>,
    },
    /// Typing started or stopped.
    Typing {
        /// Who.
        user: String,
        /// Started or stopped.
        active: bool,
        /// Reported by another region (not passed on again).
        remote: bool,
    },
    /// The chat's metadata document changed (edited here or merged from
    /// another region): take its values into the chat.
    Meta {
        /// Answered with the chat afterwards, when someone waits.
        reply: Option<oneshot::Sender<Result<Chat, ApiError>>>,
    },
    /// Another region's view of a member's marks, merged as max-registers.
    RemoteMarks {
        /// Whose.
        user: String,
        /// Delivered up to.
        delivered: u64,
        /// Read up to.
        read: u64,
    },
}

/// A queued send: author, client_msg_id, text, whether another region
/// forwarded it, and where to answer.
type PendingAppend = (
    String,
    String,
    String,
    bool,
    oneshot::Sender<Result<Appended, ApiError>>,
);

/// The state a chat task owns.
pub(crate) struct ChatTask {
    ctx: Ctx,
    record: ChatRecord,
    members: BTreeMap<String, MemberRecord>,
    last_seq: u64,
    marks: HashMap<String, Marks>,
    dirty: HashMap<String, Marks>,
    waiting: Vec<oneshot::Sender<Result<(), ApiError>>>,
    flush_at: Option<Instant>,
    typing: HashMap<String, Instant>,
}

impl ChatTask {
    /// Loads the chat from the store; `not_found` if it does not exist.
    pub(crate) async fn load(ctx: Ctx, chat_id: &str) -> Result<Self, ApiError> {
        let tx = ctx.db.begin();
        let record: ChatRecord = match tx.get(&keys::meta(chat_id)).await? {
            Some(bytes) => decode(&bytes)?,
            None => return Err(ApiError::not_found("no such chat")),
        };
        let last_seq = read_seq(&tx, &keys::last_seq(chat_id)).await?;
        let mut members = BTreeMap::new();
        for (_, value) in tx
            .get_range(store::RangeOption::subspace(&keys::members(chat_id)))
            .await?
        {
            let member: MemberRecord = decode(&value)?;
            members.insert(member.user_id.clone(), member);
        }
        let mut marks = HashMap::new();
        for user in members.keys() {
            if let Some(bytes) = tx.get(&keys::receipt(chat_id, user)).await? {
                marks.insert(user.clone(), decode::<Marks>(&bytes)?);
            }
        }
        Ok(Self {
            ctx,
            record,
            members,
            last_seq,
            marks,
            dirty: HashMap::new(),
            waiting: Vec::new(),
            flush_at: None,
            typing: HashMap::new(),
        })
    }

    /// Serves commands until idle or the registry drops the channel.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let flush_at = self.flush_at;
            tokio::select! {
                command = tokio::time::timeout(IDLE, rx.recv()) => {
                    let Ok(Some(first)) = command else { break };
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(c) => batch.push(c),
                            Err(_) => break,
                        }
                    }
                    self.handle(batch).await;
                }
                () = async { if let Some(at) = flush_at { tokio::time::sleep_until(at).await } else { std::future::pending().await } } => {
                    self.flush_marks().await;
                }
                _ = tick.tick(), if !self.typing.is_empty() => self.expire_typing(),
            }
        }
        if !self.dirty.is_empty() {
            self.flush_marks().await;
        }
        tracing::debug!(chat = %self.record.chat_id, "chat task stopped");
    }

    async fn handle(&mut self, batch: Vec<Command>) {
        let mut appends = Vec::new();
        for command in batch {
            match command {
                Command::Append {
                    author,
                    client_msg_id,
                    text,
                    forwarded,
                    reply,
                } => {
                    appends.push((author, client_msg_id, text, forwarded, reply));
                }
                other => {
                    if !appends.is_empty() {
                        self.append(std::mem::take(&mut appends)).await;
                    }
                    match other {
                        Command::Change {
                            actor,
                            change,
                            reply,
                        } => {
                            let _ = reply.send(self.change(&actor, change).await);
                        }
                        Command::Marks {
                            user,
                            delivered,
                            read,
                            reply,
                        } => self.mark(user, delivered, read, reply),
                        Command::Typing {
                            user,
                            active,
                            remote,
                        } => self.set_typing(&user, active, remote),
                        Command::RemoteMarks {
                            user,
                            delivered,
                            read,
                        } => self.merge_remote_marks(user, delivered, read),
                        Command::Meta { reply } => {
                            let result = self.reconcile_meta().await.map(|()| self.view());
                            if let Err(error) = &result {
                                tracing::warn!(chat = %self.record.chat_id, %error, "metadata not taken in");
                            }
                            if let Some(reply) = reply {
                                let _ = reply.send(result);
                            }
                        }
                        Command::Append { .. } => {}
                    }
                }
            }
        }
        if !appends.is_empty() {
            self.append(appends).await;
        }
    }

    /// Sequences sends here, or forwards them to the chat's home region.
    async fn append(&mut self, appends: Vec<PendingAppend>) {
        if self.is_replica() {
            self.forward(appends).await;
        } else {
            self.sequence(appends).await;
        }
    }

    fn is_current(&self, user: &str) -> bool {
        self.members.get(user).is_some_and(MemberRecord::is_current)
    }

    fn current_members(&self) -> impl Iterator<Item = &str> {
        self.members
            .values()
            .filter(|m| m.is_current())
            .map(|m| m.user_id.as_str())
    }

    /// The chat as clients see it.
    pub(crate) fn view(&self) -> Chat {
        Chat {
            chat_id: self.record.chat_id.clone(),
            kind: self.record.kind,
            title: self.record.title.clone(),
            description: self.record.description.clone(),
            home_region: self.record.home_region.clone(),
            created_at: self.record.created_at,
            last_seq: self.last_seq,
            members: self
                .members
                .values()
                .filter(|m| m.is_current())
                .map(|m| MemberInfo {
                    user_id: m.user_id.clone(),
                    role: m.role,
                    joined_seq: m.joined_seq,
                })
                .collect(),
            deleted: self.record.deleted,
        }
    }

    async fn sequence(&mut self, appends: Vec<PendingAppend>) {
        let chat = self.record.chat_id.clone();
        let tx = self.ctx.db.begin();
        // Reading the counter with a conflict makes a second writer of this chat
        // (there should be none) fail instead of forking the order.
        let stored = match read_seq(&tx, &keys::last_seq(&chat)).await {
            Ok(seq) => seq,
            Err(e) => return fail_all(appends, &e),
        };
        if stored != self.last_seq {
            tracing::warn!(%chat, stored, memory = self.last_seq, "chat counter moved under the task; reloading");
            self.last_seq = stored;
        }
        let mut next = self.last_seq;
        let mut fresh: Vec<Message> = Vec::new();
        let mut outcomes: Vec<Result<Appended, ApiError>> = Vec::with_capacity(appends.len());
        let mut in_batch: HashMap<(String, String), Appended> = HashMap::new();
        for (author, client_msg_id, text, forwarded, _) in &appends {
            if self.record.deleted {
                outcomes.push(Err(ApiError::not_found("chat was deleted")));
                continue;
            }
            // A send another region forwarded was taken there while the
            // sender was a member as that region knew it; it may already have
            // been answered `accepted`, a promise to sequence it, so a removal
            // that overtook it does not refuse it.
            let was_member = *forwarded && self.members.contains_key(author);
            if !self.is_current(author) && !was_member {
                outcomes.push(Err(ApiError::new(
                    ErrorCode::NotMember,
                    "not a member of this chat",
                )));
                continue;
            }
            if let Some(done) = in_batch.get(&(author.clone(), client_msg_id.clone())) {
                outcomes.push(Ok(*done));
                continue;
            }
            match self.find_duplicate(&tx, author, client_msg_id).await {
                Ok(Some(done)) => {
                    outcomes.push(Ok(done));
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            }
            next += 1;
            let mut hlc = self.ctx.hlc.now();
            if self.sabotaged(Sabotage::HlcBackwards, next) {
                hlc = Hlc::new(hlc.millis().saturating_sub(1000), 0);
            }
            let message = Message {
                chat_id: chat.clone(),
                seq: next,
                hlc,
                sender_id: author.clone(),
                client_msg_id: client_msg_id.clone(),
                kind: MessageKind::Text,
                text: text.clone(),
                event: None,
                user_ids: None,
                title: None,
                sent_at: hlc.millis(),
            };
            let done = Appended {
                seq: next,
                hlc,
                status: SendStatus::Sent,
            };
            if self.sabotaged(Sabotage::DropAcked, next) {
                // Acknowledged, never stored, and its seq goes to the next message.
                outcomes.push(Ok(done));
                next -= 1;
                continue;
            }
            tx.set(&keys::message(&chat, next), &encode(&message));
            tx.set(
                &keys::dedup(&chat, author, client_msg_id),
                &next.to_le_bytes(),
            );
            if self.sabotaged(Sabotage::Duplicate, next) {
                next += 1;
                let copy = Message {
                    seq: next,
                    hlc: self.ctx.hlc.now(),
                    ..message.clone()
                };
                tx.set(&keys::message(&chat, next), &encode(&copy));
                fresh.push(copy);
            }
            in_batch.insert((author.clone(), client_msg_id.clone()), done);
            outcomes.push(Ok(done));
            fresh.push(message);
        }
        // A sender has read what they sent.
        let mut moved = Vec::new();
        for message in &fresh {
            let marks = self
                .marks
                .get(&message.sender_id)
                .copied()
                .unwrap_or_default();
            let merged = marks.merge(message.seq, message.seq);
            self.marks.insert(message.sender_id.clone(), merged);
            self.dirty.remove(&message.sender_id);
            moved.push((message.sender_id.clone(), merged));
        }
        // A sender's marks move to a seq above any stored mark of this chat,
        // so writing them cannot move a max-register backwards.
        for (user, marks) in &moved {
            tx.set(&keys::receipt(&chat, user), &encode(marks));
        }
        if !fresh.is_empty() {
            tx.set(&keys::last_seq(&chat), &next.to_le_bytes());
        }
        if let Err(error) = tx.commit().await {
            let error = ApiError::from(error);
            tracing::error!(%chat, %error, "append commit failed");
            return fail_all(appends, &error);
        }
        self.last_seq = next;
        self.committed();
        for ((_, _, _, _, reply), outcome) in appends.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
        for message in &fresh {
            self.fan_out(message, None);
        }
    }

    /// Tells the mesh this chat's log grew, so peers get the new entries.
    fn committed(&self) {
        if let Some(mesh) = &self.ctx.mesh {
            mesh.committed(&self.record.chat_id, self.last_seq);
        }
    }

    /// Whether another region sequences this chat.
    fn is_replica(&self) -> bool {
        self.record.home_region != self.ctx.region
    }

    async fn find_duplicate(
        &self,
        tx: &store::Transaction,
        author: &str,
        client_msg_id: &str,
    ) -> Result<Option<Appended>, ApiError> {
        let chat = &self.record.chat_id;
        let Some(bytes) = tx.get(&keys::dedup(chat, author, client_msg_id)).await? else {
            return Ok(None);
        };
        let seq = u64::try_from(store::decode_counter(&bytes)).unwrap_or(0);
        let message: Message = match tx.get_snapshot(&keys::message(chat, seq)).await? {
            Some(bytes) => decode(&bytes)?,
            None => {
                return Err(ApiError::internal(&format!(
                    "dedup key of {chat} points at missing seq {seq}"
                )));
            }
        };
        Ok(Some(Appended {
            seq,
            hlc: message.hlc,
            status: SendStatus::Sent,
        }))
    }

    fn fan_out(&self, message: &Message, extra: Option<&str>) {
        let frame = crate::ws::encode(&ServerFrame::Message(message.clone()));
        let out = Outbound::message(&message.chat_id, message.seq, frame);
        if self.ctx.sabotage == Some(Sabotage::IgnoreRemoval) {
            let everyone = self.members.keys().map(String::as_str);
            self.ctx.hub.send_to(everyone.chain(extra), &out, None);
            return;
        }
        self.ctx
            .hub
            .send_to(self.current_members().chain(extra), &out, None);
    }

    /// Whether the deliberate defect `mode` (consistency tests only)
    /// applies to message `seq`.
    fn sabotaged(&self, mode: Sabotage, seq: u64) -> bool {
        self.ctx.sabotage == Some(mode) && Sabotage::hits(seq)
    }

    fn broadcast_chat(&self, extra: Option<&str>) {
        let frame = crate::ws::encode(&ServerFrame::Chat { chat: self.view() });
        self.ctx.hub.send_to(
            self.current_members().chain(extra),
            &Outbound::frame(frame),
            None,
        );
    }

    async fn change(&mut self, actor: &str, change: Change) -> Result<Chat, ApiError> {
        if self.record.deleted {
            return Err(ApiError::not_found("chat was deleted"));
        }
        let Some(actor_role) = self
            .members
            .get(actor)
            .filter(|m| m.is_current())
            .map(|m| m.role)
        else {
            return Err(ApiError::new(
                ErrorCode::NotMember,
                "not a member of this chat",
            ));
        };
        if self.record.kind == ChatKind::Direct {
            return Err(ApiError::bad_request("direct chats cannot change members"));
        }
        let is_admin = actor_role >= Role::Admin;
        let forbidden = |what: &str| ApiError::new(ErrorCode::Forbidden, format!("only {what}"));
        let seq = self.last_seq + 1;
        let mut record = self.record.clone();
        let mut members = self.members.clone();
        let (event, user_ids, title, text) = match &change {
            Change::AddMembers(ids) => {
                if !is_admin {
                    return Err(forbidden("admins may add members"));
                }
                let mut added = Vec::new();
                for id in ids {
                    if self.is_current(id) || added.contains(id) {
                        continue;
                    }
                    if self
                        .ctx
                        .db
                        .begin()
                        .get_snapshot(&crate::accounts::records::user_key(id))
                        .await?
                        .is_none()
                    {
                        return Err(ApiError::not_found(format!("no such user {id}")));
                    }
                    added.push(id.clone());
                }
                if added.is_empty() {
                    return Ok(self.view());
                }
                if self.current_members().count() + added.len() > MAX_MEMBERS {
                    return Err(ApiError::new(
                        ErrorCode::TooLarge,
                        format!("a group has at most {MAX_MEMBERS} members"),
                    ));
                }
                for id in &added {
                    members.insert(
                        id.clone(),
                        MemberRecord {
                            user_id: id.clone(),
                            role: Role::Member,
                            joined_seq: seq,
                            removed_seq: None,
                        },
                    );
                }
                let text = format!("added {}", added.join(", "));
                (SystemEvent::MemberAdded, Some(added), None, text)
            }
            Change::Remove(target) => {
                let Some(target_role) = self
                    .members
                    .get(target)
                    .filter(|m| m.is_current())
                    .map(|m| m.role)
                else {
                    return Err(ApiError::not_found("not a member of this chat"));
                };
                if target != actor
                    && !(is_admin && (actor_role == Role::Owner || target_role == Role::Member))
                {
                    return Err(forbidden(
                        "admins may remove members, and only the owner may remove admins",
                    ));
                }
                if let Some(m) = members.get_mut(target) {
                    m.removed_seq = Some(seq);
                }
                if target_role == Role::Owner {
                    let heir = members
                        .values()
                        .filter(|m| m.is_current())
                        .max_by_key(|m| (m.role, std::cmp::Reverse(m.joined_seq)))
                        .map(|m| m.user_id.clone());
                    if let Some(heir) = heir.and_then(|h| members.get_mut(&h)) {
                        heir.role = Role::Owner;
                    }
                }
                let text = if target == actor {
                    "left".to_owned()
                } else {
                    format!("removed {target}")
                };
                (
                    SystemEvent::MemberRemoved,
                    Some(vec![target.clone()]),
                    None,
                    text,
                )
            }
            Change::Delete => {
                if actor_role != Role::Owner {
                    return Err(forbidden("the owner may delete the group"));
                }
                record.deleted = true;
                (
                    SystemEvent::ChatDeleted,
                    None,
                    None,
                    "deleted the group".to_owned(),
                )
            }
        };
        let removed = match &change {
            Change::Remove(target) => Some(target.clone()),
            _ => None,
        };
        self.commit_change(
            actor,
            SystemChange {
                record,
                members,
                event,
                user_ids,
                title,
                text,
                removed,
            },
        )
        .await
    }

    /// Writes a change as the next system message, with the chat's record
    /// and members afterwards, and shows it to the members.
    async fn commit_change(&mut self, actor: &str, change: SystemChange) -> Result<Chat, ApiError> {
        let SystemChange {
            record,
            members,
            event,
            user_ids,
            title,
            text,
            removed,
        } = change;
        let seq = self.last_seq + 1;
        let chat = record.chat_id.clone();
        let hlc = self.ctx.hlc.now();
        let message = Message {
            chat_id: chat.clone(),
            seq,
            hlc,
            sender_id: actor.to_owned(),
            client_msg_id: format!("system-{seq}"),
            kind: MessageKind::System,
            text,
            event: Some(event),
            user_ids,
            title,
            sent_at: hlc.millis(),
        };
        let tx = self.ctx.db.begin();
        if read_seq(&tx, &keys::last_seq(&chat)).await? != self.last_seq {
            return Err(ApiError::conflict("the chat changed concurrently; retry"));
        }
        tx.set(&keys::message(&chat, seq), &encode(&message));
        tx.set(&keys::last_seq(&chat), &seq.to_le_bytes());
        tx.set(&keys::meta(&chat), &encode(&record));
        for (id, member) in &members {
            if self.members.get(id) != Some(member) {
                tx.set(&keys::member(&chat, id), &encode(member));
                tx.set(&keys::user_chat(id, &chat), b"");
            }
        }
        let count = members.values().filter(|m| m.is_current()).count() as u64;
        tx.set(&keys::members_count(&chat), &count.to_le_bytes());
        tx.commit().await?;

        self.record = record;
        self.members = members;
        self.last_seq = seq;
        self.committed();
        // The removed member still receives the message that removes them, and nothing after.
        self.fan_out(&message, removed.as_deref());
        self.broadcast_chat(removed.as_deref());
        tracing::info!(%chat, seq, ?event, "chat changed");
        Ok(self.view())
    }

    fn mark(
        &mut self,
        user: String,
        delivered: u64,
        read: u64,
        reply: oneshot::Sender<Result<(), ApiError>>,
    ) {
        let Some(member) = self.members.get(&user) else {
            let _ = reply.send(Err(ApiError::new(
                ErrorCode::NotMember,
                "not a member of this chat",
            )));
            return;
        };
        let limit = member
            .read_limit()
            .unwrap_or(self.last_seq)
            .min(self.last_seq);
        if delivered.max(read) > limit {
            let _ = reply.send(Err(ApiError::bad_request(format!(
                "seq is beyond the last message you can see ({limit})"
            ))));
            return;
        }
        let before = self.marks.get(&user).copied().unwrap_or_default();
        let after = before.merge(delivered, read);
        if after != before {
            self.marks.insert(user.clone(), after);
            self.dirty.insert(user, after);
        }
        self.waiting.push(reply);
        if self.flush_at.is_none() {
            self.flush_at = Some(Instant::now() + MARKS_DELAY);
        }
    }

    async fn flush_marks(&mut self) {
        self.flush_at = None;
        let dirty = std::mem::take(&mut self.dirty);
        let waiting = std::mem::take(&mut self.waiting);
        let chat = self.record.chat_id.clone();
        let result: Result<HashMap<String, Marks>, ApiError> = if dirty.is_empty() {
            Ok(dirty)
        } else {
            // Merged with what is stored, in one retried transaction: another
            // task of this chat (an evicted one finishing) may have written
            // higher marks, and a max-register never goes backwards.
            let chat = chat.clone();
            self.ctx
                .db
                .run(|tx| {
                    let (dirty, chat) = (dirty.clone(), chat.clone());
                    async move {
                        let mut merged = dirty;
                        for (user, marks) in &mut merged {
                            if let Some(bytes) = tx.get(&keys::receipt(&chat, user)).await? {
                                let stored: Marks = decode(&bytes)?;
                                *marks = marks.merge(stored.delivered_seq, stored.read_seq);
                            }
                            tx.set(&keys::receipt(&chat, user), &encode(&*marks));
                        }
                        Ok(merged)
                    }
                })
                .await
        };
        if let Ok(merged) = &result {
            for (user, marks) in merged {
                let current = self.marks.get(user).copied().unwrap_or_default();
                let combined = current.merge(marks.delivered_seq, marks.read_seq);
                self.marks.insert(user.clone(), combined);
            }
        }
        match &result {
            Ok(dirty) => {
                for (user, marks) in dirty {
                    let frame = crate::ws::encode(&ServerFrame::Receipt {
                        chat_id: chat.clone(),
                        user_id: user.clone(),
                        delivered_seq: marks.delivered_seq,
                        read_seq: marks.read_seq,
                    });
                    self.ctx
                        .hub
                        .send_to(self.current_members(), &Outbound::frame(frame), None);
                    // Max-registers: passing on a merge that changed
                    // nothing elsewhere is harmless, and the exchange stops
                    // once every region holds the maximum.
                    if let Some(mesh) = &self.ctx.mesh {
                        mesh.broadcast_reliable(&MeshDelta::Marks {
                            chat_id: chat.clone(),
                            user_id: user.clone(),
                            delivered: marks.delivered_seq,
                            read: marks.read_seq,
                        });
                    }
                }
            }
            Err(error) => tracing::error!(%chat, %error, "write receipts"),
        }
        for reply in waiting {
            let _ = reply.send(match &result {
                Ok(_) => Ok(()),
                Err(e) => Err(ApiError::new(e.code, e.message.clone())),
            });
        }
    }

    fn set_typing(&mut self, user: &str, active: bool, remote: bool) {
        if !self.is_current(user) {
            return;
        }
        let was = self.typing.contains_key(user);
        if active {
            self.typing
                .insert(user.to_owned(), Instant::now() + TYPING_TTL);
        } else {
            self.typing.remove(user);
        }
        if was != active {
            self.send_typing(user, active);
        }
        if !remote && let Some(mesh) = &self.ctx.mesh {
            mesh.broadcast_datagram(&MeshDelta::Typing {
                chat_id: self.record.chat_id.clone(),
                user_id: user.to_owned(),
                active,
            });
        }
    }

    /// Merges marks another region reported; unlike a local `ack`/`read`
    /// they are not checked against this replica's last `seq`, which may
    /// be behind the region that saw them.
    fn merge_remote_marks(&mut self, user: String, delivered: u64, read: u64) {
        if !self.members.contains_key(&user) {
            return;
        }
        let before = self.marks.get(&user).copied().unwrap_or_default();
        let after = before.merge(delivered, read);
        if after != before {
            self.marks.insert(user.clone(), after);
            self.dirty.insert(user, after);
            if self.flush_at.is_none() {
                self.flush_at = Some(Instant::now() + MARKS_DELAY);
            }
        }
    }

    fn expire_typing(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .typing
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for user in expired {
            self.typing.remove(&user);
            self.send_typing(&user, false);
        }
    }

    fn send_typing(&self, user: &str, active: bool) {
        let frame = crate::ws::encode(&ServerFrame::Typing {
            chat_id: self.record.chat_id.clone(),
            user_id: user.to_owned(),
            active,
        });
        let others = self.current_members().filter(|m| *m != user);
        self.ctx.hub.send_to(others, &Outbound::frame(frame), None);
    }
}

fn fail_all(appends: Vec<PendingAppend>, error: &ApiError) {
    for (_, _, _, _, reply) in appends {
        let _ = reply.send(Err(ApiError::new(error.code, error.message.clone())));
    }
}

/// Reads an 8-byte little-endian sequence number (0 when absent).
pub(crate) async fn read_seq(tx: &store::Transaction, key: &[u8]) -> Result<u64, ApiError> {
    Ok(tx
        .get(key)
        .await?
        .map_or(0, |b| u64::try_from(store::decode_counter(&b)).unwrap_or(0)))
}
