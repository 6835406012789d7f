//! The chat domain: chats, membership, messages, receipts and typing.
//!
//! - [`keys`]: store layout.
//! - [`records`]: stored records.
//! - [`sequencer`]: the per-chat task that orders and writes everything.
//! - [`registry`]: one task per active chat.
//! - [`reads`]: history, chat lists and replay, straight from the store.
//!
//! History visibility: a member added later sees the whole earlier history
//! (the group is a shared room, as in Slack). A removed member may read up
//! to the `seq` of the message that removed them, and receives nothing
//! after it.

mod direct;
pub mod keys;
pub mod meta;
pub mod reads;
pub mod records;
pub mod registry;
pub mod sequencer;

use std::sync::Arc;

use protocol::ErrorCode;
use protocol::chats::{
    Chat, ChatKind, Message, MessageKind, Role, SendMessageResponse, SystemEvent,
};
use protocol::frames::{MAX_TEXT_BYTES, ServerFrame};
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

use crate::accounts::records::{decode, encode, user_key};
use crate::error::ApiError;
use crate::hlc::HlcClock;
use crate::hub::{Hub, Outbound};
use crate::mesh::peer::MeshDelta;
use crate::mesh::{Mesh, PeerRequest};
pub use direct::DirectCreated;
use records::{ChatRecord, MemberRecord};
use sequencer::{Appended, Change, Command, MAX_MEMBERS};

/// What chat tasks share.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub db: store::Database,
    pub hub: Hub,
    pub hlc: Arc<HlcClock>,
    pub region: String,
    pub tracker: TaskTracker,
    pub mesh: Option<Mesh>,
    /// A deliberate defect, in consistency tests only.
    pub sabotage: Option<crate::testing::Sabotage>,
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

/// 1–256 characters, not blank.
pub fn validate_title(title: &str) -> Result<(), ApiError> {
    let count = title.chars().count();
    if count == 0 || title.trim().is_empty() {
        return Err(ApiError::bad_request("title must not be empty"));
    }
    if count > 256 {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            "title is over 256 characters",
        ));
    }
    Ok(())
}

/// Up to 4,096 characters.
pub fn validate_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > 4096 {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            "description is over 4096 characters",
        ));
    }
    Ok(())
}

/// 1 byte to 64 KiB of text and a 1–128 character idempotency key.
pub fn validate_send(client_msg_id: &str, text: &str) -> Result<(), ApiError> {
    if client_msg_id.is_empty() || client_msg_id.chars().count() > 128 {
        return Err(ApiError::bad_request(
            "client_msg_id must be 1 to 128 characters",
        ));
    }
    if text.is_empty() {
        return Err(ApiError::bad_request("text must not be empty"));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ApiError::new(ErrorCode::TooLarge, "text is over 64 KiB"));
    }
    Ok(())
}

impl Chats {
    /// The chat service of this node.
    pub fn new(
        db: store::Database,
        hub: Hub,
        hlc: Arc<HlcClock>,
        region: &str,
        tracker: TaskTracker,
        mesh: Option<Mesh>,
        sabotage: Option<crate::testing::Sabotage>,
    ) -> Self {
        let ctx = Ctx {
            db,
            hub,
            hlc,
            region: region.to_owned(),
            tracker,
            mesh,
            sabotage,
        };
        Self {
            registry: registry::Registry::new(ctx.clone()),
            ctx,
        }
    }

    /// The store.
    pub fn db(&self) -> &store::Database {
        &self.ctx.db
    }

    /// A new group owned by `owner`, with `chat_created` as its first message.
    #[tracing::instrument(skip(self, members, description))]
    pub async fn create_group(
        &self,
        owner: &str,
        title: &str,
        members: &[String],
        description: Option<&str>,
    ) -> Result<Chat, ApiError> {
        validate_title(title)?;
        let description = description.unwrap_or_default();
        validate_description(description)?;
        let mut all = vec![owner.to_owned()];
        for m in members {
            if !all.contains(m) {
                all.push(m.clone());
            }
        }
        if all.len() > MAX_MEMBERS {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!("a group has at most {MAX_MEMBERS} members"),
            ));
        }
        let chat_id = new_chat_id();
        let hlc = self.ctx.hlc.now();
        let message = Message {
            chat_id: chat_id.clone(),
            seq: 1,
            hlc,
            sender_id: owner.to_owned(),
            client_msg_id: "system-1".to_owned(),
            kind: MessageKind::System,
            text: format!("created the group {title}"),
            event: Some(SystemEvent::ChatCreated),
            user_ids: Some(all.clone()),
            title: Some(title.to_owned()),
            sent_at: hlc.millis(),
        };
        let record = ChatRecord {
            chat_id: chat_id.clone(),
            kind: ChatKind::Group,
            title: title.to_owned(),
            description: description.to_owned(),
            home_region: self.ctx.region.clone(),
            created_at: hlc.millis(),
            deleted: false,
        };
        self.ctx
            .db
            .run(|tx| {
                let (all, message, record, chat_id) = (
                    all.clone(),
                    message.clone(),
                    record.clone(),
                    chat_id.clone(),
                );
                async move {
                    for id in &all {
                        if tx.get_snapshot(&user_key(id)).await?.is_none() {
                            return Err(ApiError::not_found(format!("no such user {id}")));
                        }
                    }
                    tx.set(&keys::meta(&chat_id), &encode(&record));
                    tx.set(&keys::homed(&record.home_region, &chat_id), b"");
                    for id in &all {
                        let role = if id == &all[0] {
                            Role::Owner
                        } else {
                            Role::Member
                        };
                        let member = MemberRecord {
                            user_id: id.clone(),
                            role,
                            joined_seq: 1,
                            removed_seq: None,
                        };
                        tx.set(&keys::member(&chat_id, id), &encode(&member));
                        tx.set(&keys::user_chat(id, &chat_id), b"");
                    }
                    tx.set(
                        &keys::members_count(&chat_id),
                        &(all.len() as u64).to_le_bytes(),
                    );
                    tx.set(&keys::message(&chat_id, 1), &encode(&message));
                    tx.set(&keys::last_seq(&chat_id), &1u64.to_le_bytes());
                    Ok(())
                }
            })
            .await?;
        if let Some(mesh) = &self.ctx.mesh {
            mesh.committed(&chat_id, 1);
        }
        let chat = reads::load_chat(&self.ctx.db, &chat_id).await?;
        self.announce(&chat);
        let frame = crate::ws::encode(&ServerFrame::Message(message));
        let out = Outbound::message(&chat_id, 1, frame);
        self.ctx
            .hub
            .send_to(all.iter().map(String::as_str), &out, None);
        tracing::info!(chat = %chat_id, members = all.len(), "group created");
        Ok(chat)
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
    ) -> Result<Chat, ApiError> {
        validate_title(title)?;
        validate_description(description.unwrap_or_default())?;
        let Some(mesh) = &self.ctx.mesh else {
            return Err(ApiError::bad_request(format!(
                "no region {home:?}: this region is not part of a mesh"
            )));
        };
        if !mesh.config().topology.names().any(|n| n == home) {
            return Err(ApiError::bad_request(format!(
                "no region {home:?} in this mesh"
            )));
        }
        let request = PeerRequest::CreateGroup {
            owner: owner.to_owned(),
            title: title.to_owned(),
            members: members.to_vec(),
            description: description.map(str::to_owned),
        };
        let value = mesh.request(home, &request, REMOTE_CHANGE_WAIT).await?;
        let chat: Chat = serde_json::from_value(value).map_err(|e| ApiError::internal(&e))?;
        let deadline = tokio::time::Instant::now() + REPLICA_WAIT;
        while tokio::time::Instant::now() < deadline {
            if let Ok(here) = reads::load_chat(&self.ctx.db, &chat.chat_id).await {
                return Ok(here);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(chat)
    }

    fn announce(&self, chat: &Chat) {
        let frame = crate::ws::encode(&ServerFrame::Chat { chat: chat.clone() });
        self.ctx.hub.send_to(
            chat.members.iter().map(|m| m.user_id.as_str()),
            &Outbound::frame(frame),
            None,
        );
    }

    /// Sends a text message; idempotent on (chat, sender, client_msg_id).
    pub async fn send(
        &self,
        sender: &str,
        chat_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<SendMessageResponse, ApiError> {
        let answer = self
            .enqueue_send(sender, chat_id, client_msg_id, text, false)
            .await?;
        let appended = answer
            .await
            .map_err(|_| ApiError::internal(&"chat task dropped a send"))??;
        Ok(sent(chat_id, client_msg_id, appended))
    }

    /// Queues a send in the chat's order and returns the pending answer, so a
    /// connection keeps its sends in order without waiting for each commit.
    pub async fn enqueue_send(
        &self,
        sender: &str,
        chat_id: &str,
        client_msg_id: &str,
        text: &str,
        forwarded: bool,
    ) -> Result<oneshot::Receiver<Result<Appended, ApiError>>, ApiError> {
        validate_send(client_msg_id, text)?;
        let (reply, answer) = oneshot::channel();
        let command = Command::Append {
            author: sender.to_owned(),
            client_msg_id: client_msg_id.to_owned(),
            text: text.to_owned(),
            forwarded,
            reply,
        };
        self.registry.send(chat_id, command).await?;
        Ok(answer)
    }

    /// Starts the chat's task afresh on its next command (replicated
    /// entries changed the chat underneath it).
    pub fn reload(&self, chat_id: &str) {
        self.registry.evict(chat_id);
    }

    /// Applies a change to a group and answers the chat afterwards; a chat
    /// homed in another region is changed there.
    pub async fn change(
        &self,
        actor: &str,
        chat_id: &str,
        change: Change,
    ) -> Result<Chat, ApiError> {
        if let Some(mesh) = &self.ctx.mesh {
            let chat = reads::load_chat(&self.ctx.db, chat_id).await?;
            if chat.home_region != self.ctx.region {
                return remote_change(mesh, &chat.home_region, actor, chat_id, change).await;
            }
        }
        self.local_change(actor, chat_id, change).await
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
    ) -> Result<Chat, ApiError> {
        if let Some(title) = title {
            validate_title(title)?;
        }
        if let Some(description) = description {
            validate_description(description)?;
        }
        meta::authorize(&self.ctx.db, chat_id, actor).await?;
        let doc = meta::edit(
            &self.ctx.db,
            &self.ctx.region,
            chat_id,
            actor,
            title,
            description,
        )
        .await?;
        if let Some(mesh) = &self.ctx.mesh {
            mesh.broadcast_reliable(&MeshDelta::ChatMeta {
                chat_id: chat_id.to_owned(),
                doc: meta::encode(&doc),
                editor: actor.to_owned(),
            });
        }
        let (reply, answer) = oneshot::channel();
        let reply = Some(reply);
        self.registry.send(chat_id, Command::Meta { reply }).await?;
        answer
            .await
            .map_err(|_| ApiError::internal(&"chat task dropped a metadata edit"))?
    }

    /// Merges a group's metadata document another region sent. A document
    /// for a chat this region does not hold yet is kept: the chat's record
    /// takes its values when it arrives.
    pub async fn merge_meta(&self, chat_id: &str, doc: &str, editor: &str) -> Result<(), ApiError> {
        let changed = meta::merge(&self.ctx.db, &self.ctx.region, chat_id, doc, editor).await?;
        if changed {
            match self
                .registry
                .send(chat_id, Command::Meta { reply: None })
                .await
            {
                Err(error) if error.code == ErrorCode::NotFound => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Applies a change to a group homed here.
    pub async fn local_change(
        &self,
        actor: &str,
        chat_id: &str,
        change: Change,
    ) -> Result<Chat, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.registry
            .send(
                chat_id,
                Command::Change {
                    actor: actor.to_owned(),
                    change,
                    reply,
                },
            )
            .await?;
        answer
            .await
            .map_err(|_| ApiError::internal(&"chat task dropped a change"))?
    }

    /// Moves the user's delivered/read marks; answers once written.
    pub async fn marks(
        &self,
        user: &str,
        chat_id: &str,
        delivered: u64,
        read: u64,
    ) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.registry
            .send(
                chat_id,
                Command::Marks {
                    user: user.to_owned(),
                    delivered,
                    read,
                    reply,
                },
            )
            .await?;
        answer
            .await
            .map_err(|_| ApiError::internal(&"chat task dropped receipts"))?
    }

    /// Marks another region reported for `user`.
    pub async fn remote_marks(
        &self,
        user: &str,
        chat_id: &str,
        delivered: u64,
        read: u64,
    ) -> Result<(), ApiError> {
        self.registry
            .send(
                chat_id,
                Command::RemoteMarks {
                    user: user.to_owned(),
                    delivered,
                    read,
                },
            )
            .await
    }

    /// Typing another region reported.
    pub async fn remote_typing(
        &self,
        user: &str,
        chat_id: &str,
        active: bool,
    ) -> Result<(), ApiError> {
        self.set_typing(user, chat_id, active, true).await
    }

    /// Typing started or stopped; not stored.
    pub async fn typing(&self, user: &str, chat_id: &str, active: bool) -> Result<(), ApiError> {
        self.set_typing(user, chat_id, active, false).await
    }

    async fn set_typing(
        &self,
        user: &str,
        chat_id: &str,
        active: bool,
        remote: bool,
    ) -> Result<(), ApiError> {
        let command = Command::Typing {
            user: user.to_owned(),
            active,
            remote,
        };
        self.registry.send(chat_id, command).await
    }
}

/// How long a group created elsewhere is awaited in this region's replica.
const REPLICA_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long a change waits for the chat's home.
const REMOTE_CHANGE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Asks the chat's home region to apply a change.
async fn remote_change(
    mesh: &Mesh,
    home: &str,
    actor: &str,
    chat_id: &str,
    change: Change,
) -> Result<Chat, ApiError> {
    let request = PeerRequest::ChangeChat {
        chat_id: chat_id.to_owned(),
        actor: actor.to_owned(),
        change: change.into(),
    };
    let value = mesh.request(home, &request, REMOTE_CHANGE_WAIT).await?;
    serde_json::from_value(value).map_err(|e| ApiError::internal(&e))
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

/// Decodes a stored message.
pub(crate) fn decode_message(bytes: &[u8]) -> Result<Message, ApiError> {
    decode(bytes)
}
