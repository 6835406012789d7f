//! Direct chats: one per pair of users in the whole mesh. Each pair hashes
//! to the one region that owns its direct chat (the same rule as usernames,
//! `Mesh::owner_of`), which creates it and is its home; another region asks
//! the owner over the mesh and keeps a replica of the chat's record and
//! members from the answer, so the pair can use it at once. Two regions
//! asking at the same moment get the same chat. Once a region holds the
//! pair's chat it answers from its replica, even while the owner is cut off.

use protocol::chats::{Chat, ChatKind, Role};
use serde::{Deserialize, Serialize};

use super::records::{ChatRecord, MemberRecord};
use super::{Chats, keys, new_chat_id, reads};
use crate::accounts::records::{encode, user_key};
use crate::error::ApiError;
use crate::mesh::PeerRequest;

/// How long a direct chat's owner region is waited for.
const OWNER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The owner region's answer to [`PeerRequest::CreateDirect`].
#[derive(Debug, Serialize, Deserialize)]
pub struct DirectCreated {
    /// The chat.
    pub chat: Chat,
    /// Whether the request created it.
    pub created: bool,
}

/// The key a pair of users hashes by: the same whichever asks.
fn pair_key(a: &str, b: &str) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("direct/{low}/{high}")
}

impl Chats {
    /// The direct chat of `user` and `peer`, created on first use; the flag
    /// tells whether this call created it.
    #[tracing::instrument(skip(self))]
    pub async fn direct(&self, user: &str, peer: &str) -> Result<(Chat, bool), ApiError> {
        if user == peer {
            return Err(ApiError::bad_request("a direct chat needs another user"));
        }
        let Some(mesh) = self.ctx.mesh.clone() else {
            return self.direct_here(user, peer).await;
        };
        let owner = mesh.owner_of(&pair_key(user, peer)).to_owned();
        if owner == self.ctx.region {
            return self.direct_here(user, peer).await;
        }
        let tx = self.ctx.db.begin();
        if tx.get_snapshot(&user_key(peer)).await?.is_none() {
            return Err(ApiError::not_found(format!("no such user {peer}")));
        }
        if let Some(id) = tx.get_snapshot(&keys::direct(user, peer)).await? {
            let chat = reads::load_chat(&self.ctx.db, &String::from_utf8_lossy(&id)).await?;
            return Ok((chat, false));
        }
        let request = PeerRequest::CreateDirect {
            user: user.to_owned(),
            peer: peer.to_owned(),
        };
        let value = mesh.request(&owner, &request, OWNER_WAIT).await?;
        let answer: DirectCreated =
            serde_json::from_value(value).map_err(|e| ApiError::internal(&e))?;
        self.adopt_direct(&answer.chat).await?;
        let chat = reads::load_chat(&self.ctx.db, &answer.chat.chat_id).await?;
        if answer.created {
            self.announce(&chat);
        }
        Ok((chat, answer.created))
    }

    /// Keeps a replica of a direct chat its owner region answered with,
    /// unless its log already brought one.
    async fn adopt_direct(&self, chat: &Chat) -> Result<(), ApiError> {
        let chat = chat.clone();
        self.ctx
            .db
            .run(|tx| {
                let chat = chat.clone();
                async move {
                    let id = &chat.chat_id;
                    if tx.get(&keys::meta(id)).await?.is_some() {
                        return Ok(());
                    }
                    let record = ChatRecord {
                        chat_id: id.clone(),
                        kind: ChatKind::Direct,
                        title: String::new(),
                        description: String::new(),
                        home_region: chat.home_region.clone(),
                        created_at: chat.created_at,
                        deleted: chat.deleted,
                    };
                    tx.set(&keys::meta(id), &encode(&record));
                    tx.set(&keys::homed(&record.home_region, id), b"");
                    for member in &chat.members {
                        let record = MemberRecord {
                            user_id: member.user_id.clone(),
                            role: member.role,
                            joined_seq: member.joined_seq,
                            removed_seq: None,
                        };
                        tx.set(&keys::member(id, &member.user_id), &encode(&record));
                        tx.set(&keys::user_chat(&member.user_id, id), b"");
                    }
                    if let [a, b] = chat.members.as_slice() {
                        tx.set(&keys::direct(&a.user_id, &b.user_id), id.as_bytes());
                    }
                    let count = chat.members.len() as u64;
                    tx.set(&keys::members_count(id), &count.to_le_bytes());
                    tx.set(&keys::last_seq(id), &0u64.to_le_bytes());
                    Ok(())
                }
            })
            .await
    }

    /// The direct chat of `user` and `peer`, created on first use here, at
    /// the pair's owner region; the flag tells whether this call created it.
    pub async fn direct_here(&self, user: &str, peer: &str) -> Result<(Chat, bool), ApiError> {
        if user == peer {
            return Err(ApiError::bad_request("a direct chat needs another user"));
        }
        let created = self
            .ctx
            .db
            .run(|tx| {
                let region = self.ctx.region.clone();
                async move {
                    if tx.get(&user_key(peer)).await?.is_none() {
                        return Err(ApiError::not_found(format!("no such user {peer}")));
                    }
                    if let Some(id) = tx.get(&keys::direct(user, peer)).await? {
                        return Ok((String::from_utf8_lossy(&id).into_owned(), false));
                    }
                    let chat_id = new_chat_id();
                    let record = ChatRecord {
                        chat_id: chat_id.clone(),
                        kind: ChatKind::Direct,
                        title: String::new(),
                        description: String::new(),
                        home_region: region,
                        created_at: crate::clock::now_ms(),
                        deleted: false,
                    };
                    tx.set(&keys::direct(user, peer), chat_id.as_bytes());
                    tx.set(&keys::homed(&record.home_region, &chat_id), b"");
                    tx.set(&keys::meta(&chat_id), &encode(&record));
                    for id in [user, peer] {
                        let member = MemberRecord {
                            user_id: id.to_owned(),
                            role: Role::Member,
                            joined_seq: 0,
                            removed_seq: None,
                        };
                        tx.set(&keys::member(&chat_id, id), &encode(&member));
                        tx.set(&keys::user_chat(id, &chat_id), b"");
                    }
                    tx.set(&keys::members_count(&chat_id), &2u64.to_le_bytes());
                    tx.set(&keys::last_seq(&chat_id), &0u64.to_le_bytes());
                    Ok((chat_id, true))
                }
            })
            .await?;
        let chat = reads::load_chat(&self.ctx.db, &created.0).await?;
        if created.1 {
            self.announce(&chat);
        }
        Ok((chat, created.1))
    }
}
