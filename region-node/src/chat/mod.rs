//! The chat domain: chats, membership, messages, receipts and typing.
//!
//! Each chat's rules are a [`ChatCore`](chat_core::ChatCore) (the
//! `chat-core` crate, no I/O); here is its async shell and the service the
//! edges and the replication driver call.
//!
//! - [`shell`]: the per-chat task, the only writer of its chat's keys.
//! - `command`: what a task is asked, and where its answers go.
//! - [`registry`]: at most one task per chat.
//! - [`store`]: loading a core, committing a batch's writes.
//! - `fold`: action entries folded into their targets in the store.
//! - `forward`: sends to chats homed in other regions.
//! - [`outbox`]: such sends held durably while their home is unreachable.
//! - [`direct`]: one direct chat per pair of users across the mesh.
//! - [`meta`]: titles and descriptions, editable in any region.
//! - [`reads`]: history, chat lists and replay, straight from the store.
//! - [`co_members`]: who shares a chat with whom.
//! - [`keys`]: store layout.
//! - [`error`]: the domain's errors.
//!
//! History visibility: a member added later sees the whole earlier history
//! (the group is a shared room, as in Slack). A removed member may read up
//! to the `seq` of the message that removed them, and receives nothing
//! after it.

pub mod co_members;
mod command;
pub mod direct;
pub mod error;
mod fold;
mod forward;
pub mod keys;
pub mod meta;
pub mod outbox;
pub mod reads;
pub mod registry;
pub mod shell;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use chat_core::{
    Action, Appended, Change, ChatError, CoreConfig, Input, Reply, Sabotage, Send, Stamp,
    rules::{MAX_MEMBERS, validate_description, validate_id, validate_title, validate_write},
};
use protocol::Hlc;
use protocol::chats::{Chat, SendMessageResponse};
use protocol::peer::{LogEntry, PeerReply, PeerRequest};
use sync::replication::Millis;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use command::{Answer, Command};
pub use direct::DirectCreated;
pub use error::Error;

use crate::hlc::HlcClock;
use crate::hub::Hub;
use crate::link::Link;

/// What chat tasks share.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub db: ::store::Database,
    pub hub: Hub,
    pub region: String,
    pub tracker: TaskTracker,
    /// Cancelled when the node shuts down: tasks finish what they hold and stop.
    pub stop: CancellationToken,
    pub link: Option<Link>,
    pub core: CoreConfig,
    /// The start of the cores' monotonic time.
    pub start: Instant,
}

impl Ctx {
    /// The cores' time now.
    pub fn now(&self) -> Millis {
        Millis::since(self.start.into_std(), Instant::now().into_std())
    }
}

/// The owner and `members` without repeats, in order; a list over
/// [`MAX_MEMBERS`] entries is refused before any per-member work, repeats
/// or not, and so is an id over the id limit.
fn group_members(owner: &str, members: &[String]) -> Result<Vec<String>, Error> {
    if members.len() > MAX_MEMBERS {
        return Err(
            ChatError::TooLarge(format!("a group has at most {MAX_MEMBERS} members")).into(),
        );
    }
    for id in members {
        validate_id("members", id)?;
    }
    let mut seen = std::collections::HashSet::with_capacity(members.len() + 1);
    let all: Vec<String> = std::iter::once(owner)
        .chain(members.iter().map(String::as_str))
        .filter(|id| seen.insert(*id))
        .map(str::to_owned)
        .collect();
    if all.len() > MAX_MEMBERS {
        return Err(
            ChatError::TooLarge(format!("a group has at most {MAX_MEMBERS} members")).into(),
        );
    }
    Ok(all)
}

/// The region's clock as the cores stamp with it.
struct Clock(Arc<HlcClock>);

impl Stamp for Clock {
    fn stamp(&self) -> Hlc {
        self.0.now()
    }
}

/// The chat service; cheap to clone.
#[derive(Clone)]
pub struct Chats {
    ctx: Ctx,
    registry: registry::Registry,
}

fn new_chat_id() -> String {
    format!("c_{}", uuid::Uuid::now_v7().simple())
}

/// How long a group created elsewhere is awaited in this region's replica.
const REPLICA_WAIT: Duration = Duration::from_secs(3);

/// How long a change waits for the chat's home.
const REMOTE_CHANGE_WAIT: Duration = Duration::from_secs(5);

impl Chats {
    /// The chat service of this node; its tasks run on `tracker` and stop
    /// once `stop` is cancelled.
    pub fn new(
        db: ::store::Database,
        hub: Hub,
        hlc: Arc<HlcClock>,
        region: &str,
        (tracker, stop): (TaskTracker, CancellationToken),
        link: Option<Link>,
        sabotage: Option<Sabotage>,
    ) -> Self {
        let ctx = Ctx {
            db,
            hub,
            region: region.to_owned(),
            tracker,
            stop,
            link,
            core: CoreConfig {
                region: region.to_owned(),
                clock: Arc::new(Clock(hlc)),
                sabotage,
            },
            start: Instant::now(),
        };
        Self {
            registry: registry::Registry::new(ctx.clone()),
            ctx,
        }
    }

    /// The store.
    pub fn db(&self) -> &::store::Database {
        &self.ctx.db
    }

    /// Hands an input to the chat's task and waits for its answer.
    async fn ask(&self, chat_id: &str, input: Input) -> Result<Reply, Error> {
        let (answer, reply) = oneshot::channel();
        self.tell(chat_id, input, Some(Answer::Waiter(answer)))
            .await?;
        reply
            .await
            .map_err(|_| Error::TaskGone(chat_id.to_owned()))?
    }

    /// Hands an input to the chat's task.
    async fn tell(&self, chat_id: &str, input: Input, answer: Option<Answer>) -> Result<(), Error> {
        self.registry
            .send(chat_id, Command::Core { input, answer })
            .await
    }

    async fn ask_chat(&self, chat_id: &str, input: Input) -> Result<Chat, Error> {
        match self.ask(chat_id, input).await? {
            Reply::Chat(chat) => Ok(*chat),
            other => Err(unexpected(chat_id, &other)),
        }
    }

    /// A new group owned by `owner`, homed here, with `chat_created` as its
    /// first message.
    #[tracing::instrument(skip(self, members, description))]
    pub async fn create_group(
        &self,
        owner: &str,
        title: &str,
        members: &[String],
        description: Option<&str>,
    ) -> Result<Chat, Error> {
        validate_title(title)?;
        let description = description.unwrap_or_default();
        validate_description(description)?;
        let all = group_members(owner, members)?;
        self.check_users(&all).await?;
        let input = Input::CreateGroup {
            token: 0,
            owner: owner.to_owned(),
            members: all,
            title: title.to_owned(),
            description: description.to_owned(),
        };
        self.ask_chat(&new_chat_id(), input).await
    }

    /// Refuses users this region does not know.
    async fn check_users(&self, users: &[String]) -> Result<(), Error> {
        let tx = self.ctx.db.begin();
        for id in users {
            if tx
                .get_snapshot(&crate::accounts::records::user_key(id))
                .await?
                .is_none()
            {
                return Err(Error::not_found(format!("no such user {id}")));
            }
        }
        Ok(())
    }

    /// A new group homed in another region of the mesh, `home`: created
    /// there, then awaited here (briefly) so the caller can use it at once.
    #[tracing::instrument(skip(self, members, description))]
    pub async fn create_group_at(
        &self,
        home: &str,
        owner: &str,
        title: &str,
        members: &[String],
        description: Option<&str>,
    ) -> Result<Chat, Error> {
        validate_title(title)?;
        validate_description(description.unwrap_or_default())?;
        let Some(link) = &self.ctx.link else {
            return Err(Error::invalid(format!(
                "no region {home:?}: this region is not part of a mesh"
            )));
        };
        if !link.config().topology.names().any(|n| n == home) {
            return Err(Error::invalid(format!("no region {home:?} in this mesh")));
        }
        let request = PeerRequest::CreateGroup {
            owner: owner.to_owned(),
            title: title.to_owned(),
            members: members.to_vec(),
            description: description.map(str::to_owned),
        };
        let chat = chat_reply(link.request(home, &request, REMOTE_CHANGE_WAIT).await?)?;
        let deadline = Instant::now() + REPLICA_WAIT;
        while Instant::now() < deadline {
            if let Ok(here) = reads::load_chat(&self.ctx.db, &chat.chat_id).await {
                return Ok(here);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(chat)
    }

    /// Sends a text message, or an edit, delete or reaction (`action`);
    /// idempotent on (chat, sender, client_msg_id).
    pub async fn send(
        &self,
        sender: &str,
        chat_id: &str,
        draft: Draft<'_>,
    ) -> Result<SendMessageResponse, Error> {
        let client_msg_id = draft.client_msg_id;
        let input = send_input(sender, draft, false)?;
        match self.ask(chat_id, input).await? {
            Reply::Sent(appended) => Ok(sent(chat_id, client_msg_id, appended)),
            other => Err(unexpected(chat_id, &other)),
        }
    }

    /// Queues a send in the chat's order and calls `then` with its outcome
    /// from the chat's task, once committed (or refused): for callers that
    /// would otherwise keep a task per send waiting.
    pub async fn send_then(
        &self,
        sender: &str,
        chat_id: &str,
        draft: Draft<'_>,
        forwarded: bool,
        then: impl FnOnce(Result<Appended, Error>) + std::marker::Send + 'static,
    ) -> Result<(), Error> {
        let input = send_input(sender, draft, forwarded)?;
        let chat = chat_id.to_owned();
        let call = move |result: Result<Reply, Error>| {
            then(match result {
                Ok(Reply::Sent(appended)) => Ok(appended),
                Ok(other) => Err(unexpected(&chat, &other)),
                Err(error) => Err(error),
            });
        };
        self.tell(chat_id, input, Some(Answer::Call(Box::new(call))))
            .await
    }

    /// Applies a change to a group and answers the chat afterwards; a chat
    /// homed in another region is changed there.
    pub async fn change(&self, actor: &str, chat_id: &str, change: Change) -> Result<Chat, Error> {
        let chat = reads::load_chat(&self.ctx.db, chat_id).await?;
        if chat.home_region != self.ctx.region
            && let Some(link) = &self.ctx.link
        {
            let request = PeerRequest::ChangeChat {
                chat_id: chat_id.to_owned(),
                actor: actor.to_owned(),
                change: to_wire(change),
            };
            return chat_reply(
                link.request(&chat.home_region, &request, REMOTE_CHANGE_WAIT)
                    .await?,
            );
        }
        self.local_change(actor, chat_id, change).await
    }

    /// Applies a change to a group homed here.
    pub async fn local_change(
        &self,
        actor: &str,
        chat_id: &str,
        change: Change,
    ) -> Result<Chat, Error> {
        if let Change::AddMembers(users) = &change {
            self.check_users(users).await?;
        }
        let input = Input::Change {
            token: 0,
            actor: actor.to_owned(),
            change,
        };
        self.ask_chat(chat_id, input).await
    }

    /// Edits a group's title and/or description here, in whatever region
    /// the chat is homed: the edit goes into the chat's metadata document,
    /// which every other region merges. Answers the chat afterwards.
    #[tracing::instrument(skip(self, title, description))]
    pub async fn edit_meta(
        &self,
        actor: &str,
        chat_id: &str,
        title: Option<&str>,
        description: Option<&str>,
    ) -> Result<Chat, Error> {
        if let Some(title) = title {
            validate_title(title)?;
        }
        if let Some(description) = description {
            validate_description(description)?;
        }
        meta::authorize(&self.ctx.db, chat_id, actor).await?;
        let (answer, reply) = oneshot::channel();
        let command = Command::EditMeta {
            actor: actor.to_owned(),
            title: title.map(str::to_owned),
            description: description.map(str::to_owned),
            answer: Answer::Waiter(answer),
        };
        self.registry.send(chat_id, command).await?;
        match reply
            .await
            .map_err(|_| Error::TaskGone(chat_id.to_owned()))??
        {
            Reply::Chat(chat) => Ok(*chat),
            other => Err(unexpected(chat_id, &other)),
        }
    }

    /// Merges a group's metadata document another region sent. A document
    /// for a chat this region does not hold yet is kept: the chat's record
    /// takes its values when it arrives.
    pub async fn merge_meta(&self, chat_id: &str, doc: &str, editor: &str) -> Result<(), Error> {
        let command = Command::MergeMeta {
            doc: doc.to_owned(),
            editor: editor.to_owned(),
        };
        self.registry.send(chat_id, command).await
    }

    /// Moves the user's delivered/read marks; answers once written.
    pub async fn marks(
        &self,
        user: &str,
        chat_id: &str,
        delivered: u64,
        read: u64,
    ) -> Result<(), Error> {
        let input = Input::Marks {
            token: 0,
            user: user.to_owned(),
            delivered,
            read,
        };
        self.ask(chat_id, input).await.map(drop)
    }

    /// Marks another region reported for `user`.
    pub async fn remote_marks(
        &self,
        user: &str,
        chat_id: &str,
        delivered: u64,
        read: u64,
    ) -> Result<(), Error> {
        let input = Input::RemoteMarks {
            user: user.to_owned(),
            delivered,
            read,
        };
        self.tell(chat_id, input, None).await
    }

    /// Typing another region reported.
    pub async fn remote_typing(
        &self,
        user: &str,
        chat_id: &str,
        active: bool,
    ) -> Result<(), Error> {
        let input = Input::Typing {
            token: None,
            user: user.to_owned(),
            active,
            remote: true,
        };
        self.tell(chat_id, input, None).await
    }

    /// Typing started or stopped; not stored. Queued in the chat's order;
    /// the answer says whether the chat exists.
    pub async fn typing(
        &self,
        user: &str,
        chat_id: &str,
        active: bool,
    ) -> Result<oneshot::Receiver<Result<Reply, Error>>, Error> {
        let (answer, reply) = oneshot::channel();
        let input = Input::Typing {
            token: None,
            user: user.to_owned(),
            active,
            remote: false,
        };
        self.tell(chat_id, input, Some(Answer::Waiter(answer)))
            .await?;
        Ok(reply)
    }

    /// Applies a contiguous run of the home's entries of `chat_id` through
    /// its task; answers the last `seq` held.
    pub async fn apply_replicated(
        &self,
        chat_id: &str,
        entries: Vec<LogEntry>,
    ) -> Result<u64, Error> {
        let input = Input::Replicated { token: 0, entries };
        match self.ask(chat_id, input).await? {
            Reply::Applied(seq) => Ok(seq),
            other => Err(unexpected(chat_id, &other)),
        }
    }
}

/// A user's write to a chat: a text message, or an edit, delete or
/// reaction.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// The idempotency key.
    pub client_msg_id: &'a str,
    /// The text (empty for deletes and reactions).
    pub text: &'a str,
    /// What it is.
    pub action: Action,
}

/// A checked write (a text message or an action) for a chat's task.
fn send_input(sender: &str, draft: Draft<'_>, forwarded: bool) -> Result<Input, Error> {
    let Draft {
        client_msg_id,
        text,
        action,
    } = draft;
    validate_write(client_msg_id, text, &action)?;
    Ok(Input::Send(Send {
        token: 0,
        author: sender.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        text: text.to_owned(),
        action,
        target: None,
        forwarded,
        stored: None,
        blocked: false,
    }))
}

/// The chat a peer answered with.
fn chat_reply(reply: PeerReply) -> Result<Chat, Error> {
    match reply {
        PeerReply::Chat { chat } => Ok(chat),
        PeerReply::Err { code, message } => Err(ChatError::from_code(code, message).into()),
        other => Err(ChatError::Storage(format!("a peer answered {other:?} for a chat")).into()),
    }
}

fn unexpected(chat_id: &str, reply: &Reply) -> Error {
    ChatError::Storage(format!("chat {chat_id} answered {reply:?}")).into()
}

/// A change as it travels between regions.
pub fn to_wire(change: Change) -> protocol::peer::ChatChange {
    use protocol::peer::ChatChange;
    match change {
        Change::AddMembers(user_ids) => ChatChange::AddMembers { user_ids },
        Change::Remove(user_id) => ChatChange::Remove { user_id },
        Change::SetRole(user_id, role) => ChatChange::SetRole { user_id, role },
        Change::Delete => ChatChange::Delete,
    }
}

/// A change as it arrived from another region.
pub fn from_wire(change: protocol::peer::ChatChange) -> Change {
    use protocol::peer::ChatChange;
    match change {
        ChatChange::AddMembers { user_ids } => Change::AddMembers(user_ids),
        ChatChange::Remove { user_id } => Change::Remove(user_id),
        ChatChange::SetRole { user_id, role } => Change::SetRole(user_id, role),
        ChatChange::Delete => Change::Delete,
    }
}

/// The `sent` answer of a committed send.
pub fn sent(chat_id: &str, client_msg_id: &str, appended: Appended) -> SendMessageResponse {
    SendMessageResponse {
        chat_id: chat_id.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        seq: appended.seq,
        hlc: appended.hlc,
        status: appended.status,
    }
}
