//! Direct chats: one per pair of users in the whole mesh. Each pair hashes
//! to the one region that owns its direct chat (the same rule as usernames,
//! `Link::owner_of`), which creates it and is its home; another region asks
//! the owner over the mesh and keeps a replica of the chat's record and
//! members from the answer, so the pair can use it at once. Two regions
//! asking at the same moment get the same chat. Once a region holds the
//! pair's chat it answers from its replica, even while the owner is cut off.

use std::time::Duration;

use chat_core::{ChatError, Input};
use protocol::chats::Chat;
use protocol::peer::{PeerReply, PeerRequest};
use protocol::records::{ChatRecord, ChatState, MemberRecord};
use serde::{Deserialize, Serialize};

use super::{Chats, Error, keys, new_chat_id, reads};
use crate::accounts::records::user_key;
use crate::accounts::settings;

/// How long a direct chat's owner region is waited for.
const OWNER_WAIT: Duration = Duration::from_secs(5);

/// A pair's direct chat, and whether the request created it.
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
    pub async fn direct(&self, user: &str, peer: &str) -> Result<(Chat, bool), Error> {
        if user == peer {
            return Err(Error::invalid("a direct chat needs another user"));
        }
        self.refuse_if_blocked(user, peer).await?;
        let Some(link) = self.ctx.link.clone() else {
            return self.direct_here(user, peer).await;
        };
        let owner = link.owner_of(&pair_key(user, peer)).to_owned();
        if owner == self.ctx.region {
            return self.direct_here(user, peer).await;
        }
        if let Some(chat) = self.existing_direct(user, peer).await? {
            return Ok((chat, false));
        }
        let request = PeerRequest::CreateDirect {
            user: user.to_owned(),
            peer: peer.to_owned(),
        };
        let (chat, created) = match link.request(&owner, &request, OWNER_WAIT).await? {
            PeerReply::Direct { chat, created } => (chat, created),
            PeerReply::Err { code, message } => {
                return Err(ChatError::from_code(code, message).into());
            }
            other => {
                return Err(ChatError::Storage(format!(
                    "region {owner} answered {other:?} for a direct chat"
                ))
                .into());
            }
        };
        let chat_id = chat.chat_id.clone();
        let input = Input::Adopt {
            token: 0,
            state: state_of(chat),
        };
        let chat = self.ask_chat(&chat_id, input).await?;
        Ok((chat, created))
    }

    /// `blocked` if `peer` blocks `user`, as this region knows: checked
    /// where the request is made and again at the pair's owner region.
    async fn refuse_if_blocked(&self, user: &str, peer: &str) -> Result<(), Error> {
        let blocked = settings::blocks(&self.ctx.db.begin(), peer, user)
            .await
            .map_err(|error| ChatError::Storage(error.to_string()))?;
        if blocked {
            return Err(ChatError::Blocked("this user has blocked you".into()).into());
        }
        Ok(())
    }

    /// The pair's direct chat, if this region holds it; `not_found` if
    /// `peer` is not a user.
    async fn existing_direct(&self, user: &str, peer: &str) -> Result<Option<Chat>, Error> {
        let tx = self.ctx.db.begin();
        if tx.get_snapshot(&user_key(peer)).await?.is_none() {
            return Err(Error::not_found(format!("no such user {peer}")));
        }
        match tx.get_snapshot(&keys::direct(user, peer)).await? {
            Some(id) => Ok(Some(
                reads::load_chat(&self.ctx.db, &String::from_utf8_lossy(&id)).await?,
            )),
            None => Ok(None),
        }
    }

    /// The direct chat of `user` and `peer`, created on first use here, at
    /// the pair's owner region; the flag tells whether this call created it.
    pub async fn direct_here(&self, user: &str, peer: &str) -> Result<(Chat, bool), Error> {
        if user == peer {
            return Err(Error::invalid("a direct chat needs another user"));
        }
        self.refuse_if_blocked(user, peer).await?;
        // Two requests for one pair may race: the loser's claim fails, and
        // it finds the winner's chat on its next look.
        for _ in 0..3 {
            if let Some(chat) = self.existing_direct(user, peer).await? {
                return Ok((chat, false));
            }
            let input = Input::CreateDirect {
                token: 0,
                users: [user.to_owned(), peer.to_owned()],
                created_at: crate::clock::now_ms(),
            };
            match self.ask_chat(&new_chat_id(), input).await {
                Ok(chat) => return Ok((chat, true)),
                Err(
                    Error::Refused(ChatError::Conflict(_))
                    | Error::Store(::store::StoreError::Conflict),
                ) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(error) => return Err(error),
            }
        }
        Err(ChatError::Conflict("the direct chat is being created; retry".into()).into())
    }
}

/// A chat as its home answered it, as a replica keeps it.
fn state_of(chat: Chat) -> ChatState {
    ChatState {
        chat: ChatRecord {
            chat_id: chat.chat_id,
            kind: chat.kind,
            title: chat.title,
            description: chat.description,
            home_region: chat.home_region,
            created_at: chat.created_at,
            deleted: chat.deleted,
        },
        members: chat
            .members
            .into_iter()
            .map(|m| MemberRecord {
                user_id: m.user_id,
                role: m.role,
                joined_seq: m.joined_seq,
                removed_seq: None,
                earlier: Vec::new(),
            })
            .collect(),
    }
}
