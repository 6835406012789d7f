//! One client process: a device of a user in one region, performing random
//! operations at its share of the run's rate until the run ends, and
//! recording each as an `invoke` and a completion. What its WebSocket
//! observes is recorded between its operations, so its events stay
//! sequential.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use client::{Client, ClientError};
use protocol::chats::{SendMessageResponse, SendStatus, UpdateChatRequest};
use rand::Rng;
use rand::rngs::StdRng;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::history::{
    ChatRef, F, MarkRead, Membership, MetaSet, Msg, OpType, ReadInvoke, ReadOk, Recv, Resolve,
    SendInvoke, SendOk,
};

use super::auth::DeviceAuth;
use super::choose::{self, Choice};
use super::convert;
use super::outcome::{self, Failure};
use super::push::Observation;
use super::recorder::{Actor, Recorder};
use super::shared::{Change, Shared};

/// Unanswered sends kept for a retry; older ones are dropped (they stay
/// `info` in the history).
const MAX_PENDING: usize = 32;
/// History page size while reading to the tip.
const PAGE: u32 = 200;
/// Share of fresh sends that are an edit, delete, reaction or reply.
const ACTION_SHARE: f64 = 0.35;
/// The emoji reactions use.
const EMOJIS: [&str; 3] = ["👍", "🎉", "❤️"];

/// A client process and what it knows.
pub struct ClientProcess {
    /// Who it records as.
    pub actor: Actor,
    /// Index of its user.
    pub user: usize,
    /// Its region's anonymous client (tokens are attached per request).
    pub http: Client,
    /// Its device's tokens.
    pub auth: Arc<DeviceAuth>,
    /// The run's users, groups and memberships.
    pub shared: Arc<Shared>,
    /// The history.
    pub recorder: Recorder,
    /// Its random stream.
    pub rng: StdRng,
    /// Mean time between its operations.
    pub interval: Duration,
    /// How long an operation may take before it is recorded `info`.
    pub op_timeout: Duration,
    /// Highest `seq` seen per chat (reads, pushes, own sends).
    known: BTreeMap<String, u64>,
    /// Text messages seen per chat, `seq` → sender: what edits, deletes,
    /// reactions and replies pick from.
    texts: BTreeMap<String, BTreeMap<u64, String>>,
    /// Sends without a definite answer, to retry with the same key.
    pending: Vec<SendInvoke>,
    /// Sends answered `accepted`, waiting for their final `sent`.
    accepted: BTreeMap<String, String>,
    sent: u64,
}

impl ClientProcess {
    /// A process that has done nothing yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        actor: Actor,
        user: usize,
        http: Client,
        auth: Arc<DeviceAuth>,
        shared: Arc<Shared>,
        recorder: Recorder,
        rng: StdRng,
        interval: Duration,
        op_timeout: Duration,
    ) -> Self {
        Self {
            actor,
            user,
            http,
            auth,
            shared,
            recorder,
            rng,
            interval,
            op_timeout,
            known: BTreeMap::new(),
            texts: BTreeMap::new(),
            pending: Vec::new(),
            accepted: BTreeMap::new(),
            sent: 0,
        }
    }

    fn process_id(&self) -> String {
        match &self.actor.process {
            crate::history::Process::Client(id) => id.to_string(),
            crate::history::Process::Named(name) => name.clone(),
        }
    }

    /// Runs operations until `cancel`, then records what is still queued.
    pub async fn run(
        mut self,
        mut observations: mpsc::UnboundedReceiver<Observation>,
        cancel: CancellationToken,
    ) {
        let admin = self
            .shared
            .groups
            .iter()
            .any(|group| group.owner == self.user);
        loop {
            let gap = self.interval.mul_f64(self.rng.gen_range(0.5..1.5));
            let until = tokio::time::Instant::now() + gap;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => break,
                    () = cancel.cancelled() => break,
                    observed = observations.recv() => match observed {
                        Some(o) => self.record_observation(o),
                        None => break,
                    },
                }
            }
            while let Ok(o) = observations.try_recv() {
                self.record_observation(o);
            }
            if cancel.is_cancelled() {
                break;
            }
            match choose::next(&mut self.rng, admin) {
                Choice::Send => self.send().await,
                Choice::Read => self.read().await,
                Choice::MarkRead => self.mark_read().await,
                Choice::GetMeta => self.get_meta().await,
                Choice::SetMeta => self.set_meta().await,
                Choice::Membership => self.membership().await,
            }
        }
        while let Ok(o) = observations.try_recv() {
            self.record_observation(o);
        }
    }

    fn learn(&mut self, chat: &str, seq: u64) {
        let known = self.known.entry(chat.to_owned()).or_insert(0);
        *known = (*known).max(seq);
    }

    /// Remembers the text messages among `messages` (and forgets deleted
    /// ones).
    fn learn_texts(&mut self, chat: &str, messages: &[Msg]) {
        let texts = self.texts.entry(chat.to_owned()).or_default();
        for m in messages {
            if m.kind == "text" && !m.deleted {
                texts.insert(m.seq, m.sender.clone());
            } else if m.kind == "delete"
                && let Some(target) = m.target_seq
            {
                texts.remove(&target);
            }
        }
    }

    fn record_observation(&mut self, observation: Observation) {
        match observation {
            Observation::Message { chat, message } => {
                self.learn(&chat, message.seq);
                self.learn_texts(&chat, std::slice::from_ref(&message));
                self.recorder
                    .observe(&self.actor, F::Recv, &Recv { chat, message });
            }
            Observation::Sent {
                chat,
                client_msg_id,
                seq,
                hlc,
            } => {
                // Only the final answer of our own accepted sends; a `sent`
                // for anything else says nothing new.
                if self.accepted.remove(&client_msg_id).is_none() {
                    return;
                }
                self.pending.retain(|p| p.client_msg_id != client_msg_id);
                self.learn(&chat, seq);
                let resolve = Resolve {
                    chat,
                    client_msg_id,
                    seq,
                    hlc,
                };
                self.recorder.observe(&self.actor, F::Resolve, &resolve);
            }
            Observation::Marks(marks) => {
                self.recorder.observe(&self.actor, F::Marks, &marks);
            }
        }
    }

    fn client(&self) -> (Client, String) {
        let token = self.auth.access();
        (self.http.with_token(&token), token)
    }

    /// Runs one request under the operation timeout; refreshes the tokens
    /// when they are refused.
    async fn attempt<T>(
        &self,
        token: &str,
        request: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.op_timeout, request).await {
            Err(_) => Err(Failure::timeout()),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if outcome::is_unauthorized(&error)
                    && let Err(refresh) = self.auth.refresh(&self.http, token).await
                {
                    tracing::warn!(error = %refresh, "refresh the device's tokens");
                }
                Err(outcome::classify(&error))
            }
        }
    }

    fn invoke(&self, f: F, value: &impl Serialize) {
        self.recorder
            .record(&self.actor, OpType::Invoke, f, value, None);
    }

    fn complete<T: Serialize>(&self, f: F, result: Result<&T, &Failure>, invoked: &impl Serialize) {
        match result {
            Ok(value) => self
                .recorder
                .record(&self.actor, OpType::Ok, f, value, None),
            Err(Failure::Fail(reason)) => {
                self.recorder
                    .record(&self.actor, OpType::Fail, f, invoked, Some(reason.clone()))
            }
            Err(Failure::Info(reason)) => {
                self.recorder
                    .record(&self.actor, OpType::Info, f, invoked, Some(reason.clone()))
            }
        }
    }

    fn random_group(&mut self) -> usize {
        self.rng.gen_range(0..self.shared.groups.len())
    }

    fn chat(&self, group: usize) -> String {
        self.shared.groups[group].chat_id.clone()
    }

    async fn send(&mut self) {
        let retry = !self.pending.is_empty() && self.rng.gen_bool(0.4);
        let invoke = if retry {
            let i = self.rng.gen_range(0..self.pending.len());
            self.pending.remove(i)
        } else {
            // Mostly to groups the user is (believed) in; sometimes to any,
            // so refusals of non-members are exercised too.
            let member_of: Vec<usize> = (0..self.shared.groups.len())
                .filter(|g| self.shared.is_member(*g, self.user))
                .collect();
            let group = if member_of.is_empty() || self.rng.gen_bool(0.05) {
                self.random_group()
            } else {
                member_of[self.rng.gen_range(0..member_of.len())]
            };
            self.sent += 1;
            let chat = self.chat(group);
            let mut invoke = SendInvoke {
                client_msg_id: format!("p{}-{}", self.process_id(), self.sent),
                text: format!("message {} of process {}", self.sent, self.process_id()),
                chat,
                kind: None,
                reply_to: None,
                target_seq: None,
                emoji: None,
                on: None,
            };
            if self.rng.gen_bool(ACTION_SHARE) {
                self.pick_action(&mut invoke);
            }
            invoke
        };
        self.invoke(F::Send, &invoke);
        let (client, token) = self.client();
        let answer = self.attempt(&token, write(&client, &invoke)).await;
        match answer {
            Ok(response) => {
                let status = if response.status == SendStatus::Sent {
                    self.learn(&invoke.chat, response.seq);
                    self.accepted.remove(&invoke.client_msg_id);
                    self.pending
                        .retain(|p| p.client_msg_id != invoke.client_msg_id);
                    "sent"
                } else {
                    self.accepted
                        .insert(invoke.client_msg_id.clone(), invoke.chat.clone());
                    // Retrying an accepted send later answers its final seq.
                    self.keep_pending(invoke.clone());
                    "accepted"
                };
                let ok = SendOk {
                    chat: invoke.chat.clone(),
                    client_msg_id: invoke.client_msg_id.clone(),
                    status: status.to_owned(),
                    seq: (response.status == SendStatus::Sent).then_some(response.seq),
                    hlc: Some(response.hlc.to_string()),
                };
                self.complete(F::Send, Ok(&ok), &invoke);
            }
            Err(Failure::Fail(reason)) if retry => {
                // An earlier attempt of this key may have landed, so a
                // refusal of the retry does not prove the message absent.
                let failure = Failure::Info(format!("{reason} (retry of an unanswered send)"));
                self.complete::<()>(F::Send, Err(&failure), &invoke);
            }
            Err(failure @ Failure::Fail(_)) => {
                self.complete::<()>(F::Send, Err(&failure), &invoke);
            }
            Err(failure @ Failure::Info(_)) => {
                self.complete::<()>(F::Send, Err(&failure), &invoke);
                self.keep_pending(invoke);
            }
        }
    }

    /// Turns a fresh send into an edit of one of the user's messages, a
    /// delete (of one's own, or of any as the group's owner), a reaction or
    /// a reply, on a text message this process has seen; a plain text when
    /// there is none to pick.
    fn pick_action(&mut self, invoke: &mut SendInvoke) {
        let me = self.shared.users[self.user].user_id.clone();
        let owner = self
            .shared
            .groups
            .iter()
            .any(|g| g.chat_id == invoke.chat && g.owner == self.user);
        let texts = self.texts.get(&invoke.chat).cloned().unwrap_or_default();
        let roll = self.rng.gen_range(0..10);
        let candidates: Vec<u64> = texts
            .iter()
            .filter(|(_, sender)| match roll {
                0..=2 => **sender == me,
                3..=4 => owner || **sender == me,
                _ => true,
            })
            .map(|(seq, _)| *seq)
            .collect();
        if candidates.is_empty() {
            return;
        }
        let target = candidates[self.rng.gen_range(0..candidates.len())];
        match roll {
            0..=2 => {
                invoke.kind = Some("edit".into());
                invoke.target_seq = Some(target);
                invoke.text = format!("edit {} of process {}", self.sent, self.process_id());
            }
            3..=4 => {
                invoke.kind = Some("delete".into());
                invoke.target_seq = Some(target);
                invoke.text = String::new();
            }
            5..=8 => {
                invoke.kind = Some("reaction".into());
                invoke.target_seq = Some(target);
                invoke.emoji = Some(EMOJIS[self.rng.gen_range(0..EMOJIS.len())].into());
                invoke.on = Some(self.rng.gen_bool(0.75));
                invoke.text = String::new();
            }
            _ => invoke.reply_to = Some(target),
        }
    }

    fn keep_pending(&mut self, invoke: SendInvoke) {
        if self
            .pending
            .iter()
            .any(|p| p.client_msg_id == invoke.client_msg_id)
        {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(invoke);
    }

    async fn read(&mut self) {
        let group = self.random_group();
        let chat = self.chat(group);
        let known = self.known.get(&chat).copied().unwrap_or(0);
        let after = if self.rng.gen_bool(0.25) {
            0
        } else {
            known.saturating_sub(self.rng.gen_range(0..=5))
        };
        let invoke = ReadInvoke {
            chat: chat.clone(),
            after,
        };
        self.invoke(F::Read, &invoke);
        let (client, token) = self.client();
        let answer = self.attempt(&token, read_all(&client, &chat, after)).await;
        if let Ok(messages) = &answer
            && let Some(last) = messages.last()
        {
            self.learn(&chat, last.seq);
            self.learn_texts(&chat, messages);
        }
        let ok = answer.map(|messages| ReadOk {
            chat,
            after,
            messages,
        });
        self.complete(F::Read, ok.as_ref(), &invoke);
    }

    async fn mark_read(&mut self) {
        let seen: Vec<(String, u64)> = self
            .known
            .iter()
            .filter(|(_, seq)| **seq > 0)
            .map(|(c, s)| (c.clone(), *s))
            .collect();
        if seen.is_empty() {
            return self.read().await;
        }
        let (chat, top) = seen[self.rng.gen_range(0..seen.len())].clone();
        let mark = MarkRead {
            chat,
            seq: self.rng.gen_range(1..=top),
        };
        self.invoke(F::MarkRead, &mark);
        let (client, token) = self.client();
        let answer = self
            .attempt(&token, client.mark_read(&mark.chat, mark.seq))
            .await;
        let answer = answer.map(|()| mark.clone());
        self.complete(F::MarkRead, answer.as_ref(), &mark);
    }

    async fn get_meta(&mut self) {
        let group = self.random_group();
        let invoke = ChatRef {
            chat: self.chat(group),
        };
        self.invoke(F::GetMeta, &invoke);
        let (client, token) = self.client();
        let answer = self.attempt(&token, client.chat(&invoke.chat)).await;
        let meta = answer.map(|chat| convert::meta(&chat));
        self.complete(F::GetMeta, meta.as_ref(), &invoke);
    }

    fn owned_group(&mut self) -> Option<usize> {
        let owned: Vec<usize> = (0..self.shared.groups.len())
            .filter(|g| self.shared.groups[*g].owner == self.user)
            .collect();
        (!owned.is_empty()).then(|| owned[self.rng.gen_range(0..owned.len())])
    }

    async fn set_meta(&mut self) {
        let Some(group) = self.owned_group() else {
            return self.get_meta().await;
        };
        let tag = format!(
            "{}-{}",
            self.process_id(),
            self.rng.gen_range(0..1_000_000u32)
        );
        let (title, description) = match self.rng.gen_range(0..3) {
            0 => (Some(format!("title {tag}")), None),
            1 => (None, Some(format!("description {tag}"))),
            _ => (
                Some(format!("title {tag}")),
                Some(format!("description {tag}")),
            ),
        };
        let invoke = MetaSet {
            chat: self.chat(group),
            title: title.clone(),
            description: description.clone(),
        };
        self.invoke(F::SetMeta, &invoke);
        let update = UpdateChatRequest { title, description };
        let (client, token) = self.client();
        let answer = self
            .attempt(&token, client.update_chat(&invoke.chat, &update))
            .await;
        let meta = answer.map(|chat| convert::meta(&chat));
        self.complete(F::SetMeta, meta.as_ref(), &invoke);
    }

    async fn membership(&mut self) {
        let Some(group) = self.owned_group() else {
            return self.get_meta().await;
        };
        let Some(change) = self.shared.begin_change(group, &mut self.rng) else {
            return self.get_meta().await;
        };
        let chat = self.chat(group);
        let (f, user) = match change {
            Change::Add(user) => (F::AddMember, user),
            Change::Remove(user) => (F::RemoveMember, user),
        };
        let member = self.shared.users[user].user_id.clone();
        let invoke = Membership {
            chat: chat.clone(),
            member: member.clone(),
        };
        self.invoke(f, &invoke);
        let (client, token) = self.client();
        let answer = match change {
            Change::Add(_) => {
                self.attempt(
                    &token,
                    client.add_members(&chat, std::slice::from_ref(&member)),
                )
                .await
            }
            Change::Remove(_) => {
                self.attempt(&token, client.remove_member(&chat, &member))
                    .await
            }
        };
        let maybe = !matches!(answer, Err(Failure::Fail(_)));
        self.shared.end_change(group, change, maybe);
        let answer = answer.map(|_| invoke.clone());
        self.complete(f, answer.as_ref(), &invoke);
    }
}

/// Carries out a send: a text message (maybe a reply), or an edit, delete
/// or reaction.
async fn write(client: &Client, send: &SendInvoke) -> Result<SendMessageResponse, ClientError> {
    let (chat, key) = (send.chat.as_str(), send.client_msg_id.as_str());
    match (send.kind.as_deref(), send.target_seq) {
        (Some("edit"), Some(seq)) => client.edit_message(chat, seq, key, &send.text).await,
        (Some("delete"), Some(seq)) => client.delete_message(chat, seq, key).await,
        (Some("reaction"), Some(seq)) => {
            let emoji = send.emoji.as_deref().unwrap_or_default();
            client
                .react(chat, seq, key, emoji, send.on.unwrap_or(true))
                .await
        }
        _ => {
            client
                .send_reply(chat, key, &send.text, send.reply_to)
                .await
        }
    }
}

/// Every message of `chat` after `after`, paging forward to the tip.
pub async fn read_all(client: &Client, chat: &str, after: u64) -> Result<Vec<Msg>, ClientError> {
    let mut messages = Vec::new();
    let mut cursor = after;
    loop {
        // Every entry, edits, deletes and reactions included: the log's
        // order is checked seq by seq.
        let query = client::chats::HistoryQuery {
            after_seq: Some(cursor),
            before_seq: None,
            limit: Some(PAGE),
            all_kinds: true,
        };
        let page = client.history_page(chat, query).await?;
        let Some(last) = page.messages.last() else {
            break;
        };
        // A page that does not move forward would loop forever; what it
        // holds is still recorded, for the checker to judge.
        let stuck = last.seq <= cursor;
        cursor = last.seq;
        messages.extend(page.messages.iter().map(convert::msg));
        if !page.has_more || stuck {
            break;
        }
    }
    Ok(messages)
}
