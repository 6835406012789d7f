//! The chat task: the async shell around one chat's [`ChatCore`], and the
//! only writer of that chat's keys in this region. Commands queued
//! together are one batch: the shell looks up what the core needs from
//! the store (dedup keys, messages referred to), feeds the core, commits every write of the
//! batch in one transaction (the store's group commit merges transactions
//! of different chats into one fsync), and only then answers, delivers,
//! ships and gossips. A failed commit answers the batch with the failure
//! and rebuilds the core from the store. While the store cannot be read
//! (storage unavailable) the core is stale: nothing is handled until a
//! reload succeeds, so a commit whose result was unknown (it failed, yet
//! may have reached the disk) is seen before the next sequence number is
//! given out.

use std::collections::HashMap;
use std::time::Duration;

use chat_core::{ChatCore, ChatError, Gossip, Input, Output, Reply, Token, Write};
use protocol::peer::{LogEntry, MeshDelta};
use sync::replication::Millis;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::command::{Answer, Command};
use super::{Ctx, Error, forward, meta, store};
use crate::accounts::settings;
use crate::hub::Outbound;

/// A chat task with nothing to do for this long stops.
const IDLE: Duration = Duration::from_secs(300);
/// Most commands handled in one batch.
const BATCH: usize = 512;
/// How long a stale chat waits before its timers try to reload it again.
const STALE_PAUSE: Duration = Duration::from_millis(200);

/// One chat's task.
pub(crate) struct ChatTask {
    ctx: Ctx,
    core: ChatCore,
    waiting: HashMap<Token, Answer>,
    next_token: Token,
    /// A commit failed and the core could not be rebuilt from the store.
    stale: bool,
}

impl ChatTask {
    /// Loads the chat and serves `rx` until idle or closed; `exit` is
    /// called once every write of this task is done.
    pub(crate) async fn run(
        ctx: Ctx,
        chat_id: String,
        rx: mpsc::Receiver<Command>,
        exit: impl FnOnce() + Send,
    ) {
        let span = tracing::info_span!("chat", chat = %chat_id);
        async move {
            match store::load(&ctx.db, &chat_id).await {
                Ok(loaded) => {
                    let core = ChatCore::new(ctx.core.clone(), &chat_id, loaded);
                    let task = Self {
                        ctx,
                        core,
                        waiting: HashMap::new(),
                        next_token: 0,
                        stale: false,
                    };
                    task.serve(rx).await;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot load the chat");
                    refuse_all(rx, &error).await;
                }
            }
            exit();
        }
        .instrument(span)
        .await;
    }

    async fn serve(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut last_command = Instant::now();
        loop {
            let deadline = self
                .core
                .poll_timeout()
                .map(|at| self.ctx.start + Duration::from_millis(at.0));
            tokio::select! {
                command = rx.recv() => {
                    let Some(first) = command else { break };
                    last_command = Instant::now();
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(command) => batch.push(command),
                            Err(_) => break,
                        }
                    }
                    self.handle(batch).await;
                }
                () = sleep_until(deadline) => {
                    if self.refresh().await.is_err() {
                        // Ticks wait for the store; the next command retries the reload.
                        tokio::time::sleep(STALE_PAUSE).await;
                        continue;
                    }
                    let outputs = self.core.handle(self.ctx.now(), Input::Tick);
                    self.carry_out(outputs).await;
                }
                () = tokio::time::sleep_until(last_command + IDLE), if self.core.is_idle() => break,
                () = self.ctx.stop.cancelled() => break,
            }
            // A chat that does not exist here keeps no task.
            if !self.core.exists() && self.core.is_idle() {
                break;
            }
        }
        // Stop taking commands, then finish every one already queued and
        // whatever the core still holds, before the registry may start
        // another task for this chat.
        rx.close();
        while let Some(command) = rx.recv().await {
            self.handle(vec![command]).await;
        }
        if self.refresh().await.is_ok() {
            let outputs = self.core.handle(Millis(u64::MAX), Input::Tick);
            self.carry_out(outputs).await;
        }
        tracing::debug!("chat task stopped");
    }

    /// Rebuilds a stale core from the store.
    async fn refresh(&mut self) -> Result<(), Error> {
        if !self.stale {
            return Ok(());
        }
        let chat = self.core.chat_id().to_owned();
        let loaded = store::load(&self.ctx.db, &chat).await?;
        self.core = ChatCore::new(self.ctx.core.clone(), &chat, loaded);
        self.stale = false;
        tracing::info!("chat reloaded after a failed commit");
        Ok(())
    }

    async fn handle(&mut self, batch: Vec<Command>) {
        if let Err(error) = self.refresh().await {
            for command in batch {
                refuse(command, &error);
            }
            return;
        }
        let mut inputs = Vec::with_capacity(batch.len());
        for command in batch {
            match command {
                Command::Core { mut input, answer } => {
                    if let Some(answer) = answer {
                        self.wait(&mut input, answer);
                    }
                    inputs.push(input);
                }
                Command::EditMeta {
                    actor,
                    title,
                    description,
                    answer,
                } => {
                    if let Some(input) = self.edit_meta(&actor, title, description, answer).await {
                        inputs.push(input);
                    }
                }
                Command::MergeMeta { doc, editor } => {
                    let chat = self.core.chat_id().to_owned();
                    match meta::merge(&self.ctx.db, &self.ctx.region, &chat, &doc, &editor).await {
                        Ok(Some(fields)) => inputs.push(Input::Meta {
                            token: None,
                            fields,
                        }),
                        Ok(None) => {}
                        Err(error) => tracing::debug!(%error, "metadata not merged"),
                    }
                }
            }
        }
        self.look_up(&mut inputs).await;
        self.look_up_blocks(&mut inputs).await;
        let now = self.ctx.now();
        let mut outputs = Vec::new();
        for input in inputs {
            outputs.extend(self.core.handle(now, input));
        }
        self.carry_out(outputs).await;
    }

    /// Registers `answer` under a fresh token set into `input`.
    fn wait(&mut self, input: &mut Input, answer: Answer) {
        self.next_token += 1;
        let token = self.next_token;
        if set_token(input, token) {
            self.waiting.insert(token, answer);
        }
    }

    async fn edit_meta(
        &mut self,
        actor: &str,
        title: Option<String>,
        description: Option<String>,
        answer: Answer,
    ) -> Option<Input> {
        let chat = self.core.chat_id().to_owned();
        let edited = meta::edit(
            &self.ctx.db,
            &self.ctx.region,
            &chat,
            actor,
            title.as_deref(),
            description.as_deref(),
        )
        .await;
        match edited {
            Ok((doc, fields)) => {
                if let Some(link) = &self.ctx.link {
                    link.broadcast_reliable(&MeshDelta::ChatMeta {
                        chat_id: chat,
                        doc: meta::encode(&doc),
                        editor: actor.to_owned(),
                    });
                }
                let mut input = Input::Meta {
                    token: None,
                    fields,
                };
                self.wait(&mut input, answer);
                Some(input)
            }
            Err(error) => {
                answer.send(Err(error));
                None
            }
        }
    }

    /// Fills in what the store holds for each send: at the home, its dedup
    /// row; everywhere, the message it refers to.
    async fn look_up(&mut self, inputs: &mut Vec<Input>) {
        let tx = self.ctx.db.begin();
        let chat = self.core.chat_id().to_owned();
        let home = self.core.is_home();
        let mut kept = Vec::with_capacity(inputs.len());
        for mut input in inputs.drain(..) {
            if let Input::Send(send) = &mut input {
                let found = async {
                    if home {
                        send.stored =
                            store::dedup(&tx, &chat, &send.author, &send.client_msg_id).await?;
                    }
                    if let Some(seq) = send.action.refers_to() {
                        send.target = store::message(&tx, &chat, seq).await?.map(Box::new);
                    }
                    Ok::<_, Error>(())
                };
                if let Err(error) = found.await {
                    self.answer(send.token, Err(error));
                    continue;
                }
            }
            kept.push(input);
        }
        *inputs = kept;
    }

    /// Marks each send of a direct chat whose other user blocks its author,
    /// as this region's replica of the account logs says; the core refuses
    /// them, here and at the home alike.
    async fn look_up_blocks(&mut self, inputs: &mut [Input]) {
        let tx = self.ctx.db.begin();
        let mut failed = Vec::new();
        for input in inputs.iter_mut() {
            let Input::Send(send) = input else { continue };
            let Some(peer) = self.core.direct_peer(&send.author) else {
                continue;
            };
            match settings::blocks(&tx, peer, &send.author).await {
                Ok(blocked) => send.blocked = blocked,
                Err(error) => {
                    tracing::error!(%error, "cannot read a block");
                    failed.push(send.token);
                    // Refused below, and never sequenced unchecked.
                    send.blocked = true;
                }
            }
        }
        for token in failed {
            self.answer(
                token,
                Err(ChatError::Storage("cannot read the other user's blocks".into()).into()),
            );
        }
    }

    fn answer(&mut self, token: Token, result: Result<Reply, Error>) {
        if let Some(answer) = self.waiting.remove(&token) {
            answer.send(result);
        }
    }

    /// Commits the writes among `outputs`, then carries out the rest.
    async fn carry_out(&mut self, outputs: Vec<Output>) {
        let mut writes: Vec<Write> = Vec::new();
        let mut effects = Vec::with_capacity(outputs.len());
        for output in outputs {
            match output {
                Output::Write(write) => writes.push(write),
                other => effects.push(other),
            }
        }
        if !writes.is_empty() {
            let chat = self.core.chat_id().to_owned();
            if let Err(error) = store::commit(&self.ctx.db, &chat, writes).await {
                self.failed(effects, &error).await;
                return;
            }
        }
        self.core.batch_committed();
        // Answers first: a session's `sent` then joins the message's own
        // frame in one write to the socket.
        let mut rest = Vec::with_capacity(effects.len());
        for effect in effects {
            match effect {
                Output::Reply { token, reply } => self.answer(token, reply.map_err(Error::from)),
                other => rest.push(other),
            }
        }
        let mut shipped: Vec<LogEntry> = Vec::new();
        for effect in rest {
            match effect {
                Output::Reply { .. } => {}
                Output::Deliver {
                    frame,
                    seq,
                    recipients,
                } => {
                    let bytes = crate::codec::frame(&frame);
                    let out = match seq {
                        Some(seq) => Outbound::message(self.core.chat_id(), seq, bytes),
                        None => Outbound::frame(bytes),
                    };
                    self.ctx
                        .hub
                        .send_to(recipients.iter().map(String::as_str), &out, None);
                }
                Output::Ship(entry) => shipped.push(entry),
                Output::Forward {
                    token,
                    home,
                    item,
                    pending_to,
                } => {
                    let answer = self.waiting.remove(&token);
                    forward::spawn(&self.ctx, home, item, pending_to, answer);
                }
                Output::Gossip(gossip) => self.gossip(gossip),
                Output::Write(_) => {}
            }
        }
        if let (Some(link), Some(last)) = (&self.ctx.link, shipped.last()) {
            let seq = last.seq;
            link.committed_entries(self.core.chat_id(), seq, shipped);
        }
    }

    /// A commit failed: nobody hears success, and the core starts again
    /// from what the store holds.
    async fn failed(&mut self, effects: Vec<Output>, error: &Error) {
        tracing::error!(%error, "chat commit failed");
        for effect in effects {
            if let Output::Reply { token, .. } | Output::Forward { token, .. } = effect {
                self.answer(token, Err(error.duplicate()));
            }
        }
        let chat = self.core.chat_id().to_owned();
        match store::load(&self.ctx.db, &chat).await {
            Ok(loaded) => self.core = ChatCore::new(self.ctx.core.clone(), &chat, loaded),
            Err(error) => {
                tracing::warn!(%error, "cannot reload the chat after a failed commit; it waits for the store");
                self.stale = true;
            }
        }
    }

    fn gossip(&self, gossip: Gossip) {
        let Some(link) = &self.ctx.link else {
            return;
        };
        let chat_id = self.core.chat_id().to_owned();
        match gossip {
            Gossip::Marks { user, marks } => link.broadcast_reliable(&MeshDelta::Marks {
                chat_id,
                user_id: user,
                delivered: marks.delivered_seq,
                read: marks.read_seq,
            }),
            Gossip::Typing { user, active } => link.broadcast_datagram(&MeshDelta::Typing {
                chat_id,
                user_id: user,
                active,
            }),
        }
    }
}

/// Sets the token of an input that has one; false for one that has none.
fn set_token(input: &mut Input, value: Token) -> bool {
    let slot = match input {
        Input::Send(send) => &mut send.token,
        Input::CreateGroup { token, .. }
        | Input::CreateDirect { token, .. }
        | Input::Adopt { token, .. }
        | Input::Change { token, .. }
        | Input::Marks { token, .. }
        | Input::Replicated { token, .. }
        | Input::View { token } => token,
        Input::Meta { token, .. } | Input::Typing { token, .. } => token.insert(0),
        Input::RemoteMarks { .. } | Input::Tick => return false,
    };
    *slot = value;
    true
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Answers every queued command with the failure that stopped the task.
async fn refuse_all(mut rx: mpsc::Receiver<Command>, error: &Error) {
    rx.close();
    while let Some(command) = rx.recv().await {
        refuse(command, error);
    }
}

/// Answers `command` with `error`, if anyone waits for it.
fn refuse(command: Command, error: &Error) {
    let answer = match command {
        Command::Core { answer, .. } => answer,
        Command::EditMeta { answer, .. } => Some(answer),
        Command::MergeMeta { .. } => None,
    };
    if let Some(answer) = answer {
        answer.send(Err(error.duplicate()));
    }
}
