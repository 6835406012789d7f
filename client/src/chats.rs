//! The chat endpoints of [`Client`]: chats, members, messages (replies,
//! edits, deletes, reactions), history and read marks (`/v1/chats/...`).

use protocol::chats::{
    AddMembersRequest, Chat, ChatList, ChatSummary, CreateChatRequest, EditMessageRequest, History,
    ReactRequest, ReadRequest, SendMessageRequest, SendMessageResponse, UpdateChatRequest,
};
use reqwest::Method;

use crate::error::ClientError;
use crate::http::{Client, decode};
use crate::url::encode_component;

/// Which page of a chat's history to read. Both bounds are exclusive. With
/// only `after_seq` the page is the oldest after it (reading forward);
/// otherwise it is the newest below `before_seq` (or the newest of all) and
/// not below `after_seq` (reading back). Messages are in ascending `seq`
/// either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only messages with a greater `seq`.
    pub after_seq: Option<u64>,
    /// Only messages with a smaller `seq`.
    pub before_seq: Option<u64>,
    /// Page size (server default 50, at most 500).
    pub limit: Option<u32>,
    /// Also the `edit`, `delete` and `reaction` entries (`?kinds=all`);
    /// otherwise only messages, in their folded state.
    pub all_kinds: bool,
}

impl HistoryQuery {
    /// The query string pairs for the bounds that are set.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(after) = self.after_seq {
            pairs.push(("after_seq", after.to_string()));
        }
        if let Some(before) = self.before_seq {
            pairs.push(("before_seq", before.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if self.all_kinds {
            pairs.push(("kinds", "all".to_owned()));
        }
        pairs
    }
}

fn chat_path(chat_id: &str) -> String {
    format!("/v1/chats/{}", encode_component(chat_id))
}

impl Client {
    /// `POST /v1/chats {kind: "direct", peer}`: the direct chat with `peer`,
    /// created if it does not exist yet.
    pub async fn create_direct(&self, peer: &str) -> Result<Chat, ClientError> {
        let body = CreateChatRequest::Direct {
            peer: peer.to_owned(),
        };
        self.send(Method::POST, "/v1/chats", Some(&body)).await
    }

    /// `POST /v1/chats {kind: "group", ...}`: a new group owned by the
    /// caller, homed in the region this client talks to.
    pub async fn create_group(
        &self,
        title: &str,
        members: &[String],
        description: Option<&str>,
    ) -> Result<Chat, ClientError> {
        self.create_group_homed(title, members, description, None)
            .await
    }

    /// A new group owned by the caller and homed in `home_region` (the
    /// region this client talks to when `None`).
    pub async fn create_group_homed(
        &self,
        title: &str,
        members: &[String],
        description: Option<&str>,
        home_region: Option<&str>,
    ) -> Result<Chat, ClientError> {
        let body = CreateChatRequest::Group {
            title: title.to_owned(),
            members: members.to_vec(),
            description: description.map(str::to_owned),
            home_region: home_region.map(str::to_owned),
        };
        self.send(Method::POST, "/v1/chats", Some(&body)).await
    }

    /// `GET /v1/chats`: the caller's chats, most recently active first.
    pub async fn chats(&self) -> Result<Vec<ChatSummary>, ClientError> {
        let list: ChatList = self.send(Method::GET, "/v1/chats", None::<&()>).await?;
        Ok(list.chats)
    }

    /// `GET /v1/chats/{chat_id}`: a chat with its members and roles.
    pub async fn chat(&self, chat_id: &str) -> Result<Chat, ClientError> {
        self.send(Method::GET, &chat_path(chat_id), None::<&()>)
            .await
    }

    /// `PATCH /v1/chats/{chat_id}`: renames or describes a group (admins).
    pub async fn update_chat(
        &self,
        chat_id: &str,
        update: &UpdateChatRequest,
    ) -> Result<Chat, ClientError> {
        self.send(Method::PATCH, &chat_path(chat_id), Some(update))
            .await
    }

    /// `POST /v1/chats/{chat_id}/members`: adds users to a group (admins).
    pub async fn add_members(
        &self,
        chat_id: &str,
        user_ids: &[String],
    ) -> Result<Chat, ClientError> {
        let body = AddMembersRequest {
            user_ids: user_ids.to_vec(),
        };
        let path = format!("{}/members", chat_path(chat_id));
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `DELETE /v1/chats/{chat_id}/members/{user_id}`: removes a member
    /// (admins), or leaves the chat when `user_id` is the caller. Answers
    /// the chat afterwards.
    pub async fn remove_member(&self, chat_id: &str, user_id: &str) -> Result<Chat, ClientError> {
        let path = format!(
            "{}/members/{}",
            chat_path(chat_id),
            encode_component(user_id)
        );
        self.send(Method::DELETE, &path, None::<&()>).await
    }

    /// `DELETE /v1/chats/{chat_id}`: deletes a group (owner); 204.
    pub async fn delete_chat(&self, chat_id: &str) -> Result<(), ClientError> {
        self.send_empty(Method::DELETE, &chat_path(chat_id)).await
    }

    /// `POST /v1/chats/{chat_id}/messages`. Idempotent on `client_msg_id`:
    /// retrying with the same id answers the original `seq`.
    pub async fn send_message(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        text: &str,
    ) -> Result<SendMessageResponse, ClientError> {
        self.send_reply(chat_id, client_msg_id, text, None).await
    }

    /// [`Client::send_message`] answering the message at `reply_to`.
    pub async fn send_reply(
        &self,
        chat_id: &str,
        client_msg_id: &str,
        text: &str,
        reply_to: Option<u64>,
    ) -> Result<SendMessageResponse, ClientError> {
        let body = SendMessageRequest {
            client_msg_id: client_msg_id.to_owned(),
            text: text.to_owned(),
            reply_to,
        };
        let path = format!("{}/messages", chat_path(chat_id));
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `PATCH /v1/chats/{chat_id}/messages/{seq}`: a new text for one of
    /// the caller's messages; the edit is an entry with its own `seq`.
    pub async fn edit_message(
        &self,
        chat_id: &str,
        seq: u64,
        client_msg_id: &str,
        text: &str,
    ) -> Result<SendMessageResponse, ClientError> {
        let body = EditMessageRequest {
            client_msg_id: client_msg_id.to_owned(),
            text: text.to_owned(),
        };
        let path = format!("{}/messages/{seq}", chat_path(chat_id));
        self.send(Method::PATCH, &path, Some(&body)).await
    }

    /// `DELETE /v1/chats/{chat_id}/messages/{seq}?client_msg_id=`: deletes a
    /// message for everyone (its sender, or a group admin).
    pub async fn delete_message(
        &self,
        chat_id: &str,
        seq: u64,
        client_msg_id: &str,
    ) -> Result<SendMessageResponse, ClientError> {
        let path = format!("{}/messages/{seq}", chat_path(chat_id));
        let request = self
            .request(Method::DELETE, &path)
            .query(&[("client_msg_id", client_msg_id)]);
        decode(request.send().await?).await
    }

    /// `POST /v1/chats/{chat_id}/messages/{seq}/reactions`: adds (`on`) or
    /// removes one emoji.
    pub async fn react(
        &self,
        chat_id: &str,
        seq: u64,
        client_msg_id: &str,
        emoji: &str,
        on: bool,
    ) -> Result<SendMessageResponse, ClientError> {
        let body = ReactRequest {
            client_msg_id: client_msg_id.to_owned(),
            emoji: emoji.to_owned(),
            on,
        };
        let path = format!("{}/messages/{seq}/reactions", chat_path(chat_id));
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `GET /v1/chats/{chat_id}/messages?after_seq=&before_seq=&limit=`: one
    /// page of history in ascending `seq`.
    pub async fn history(
        &self,
        chat_id: &str,
        after_seq: Option<u64>,
        before_seq: Option<u64>,
        limit: Option<u32>,
    ) -> Result<History, ClientError> {
        self.history_page(
            chat_id,
            HistoryQuery {
                after_seq,
                before_seq,
                limit,
                all_kinds: false,
            },
        )
        .await
    }

    /// [`Client::history`] with the bounds in a [`HistoryQuery`].
    pub async fn history_page(
        &self,
        chat_id: &str,
        query: HistoryQuery,
    ) -> Result<History, ClientError> {
        let path = format!("{}/messages", chat_path(chat_id));
        let request = self.request(Method::GET, &path).query(&query.pairs());
        decode(request.send().await?).await
    }

    /// `POST /v1/chats/{chat_id}/read`: marks everything up to `seq` read; 204.
    pub async fn mark_read(&self, chat_id: &str, seq: u64) -> Result<(), ClientError> {
        let path = format!("{}/read", chat_path(chat_id));
        self.send_ignoring_answer(Method::POST, &path, Some(&ReadRequest { seq }))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_query_sends_only_the_bounds_that_are_set() {
        assert!(HistoryQuery::default().pairs().is_empty());
        let query = HistoryQuery {
            after_seq: Some(10),
            before_seq: None,
            limit: Some(500),
            all_kinds: false,
        };
        assert_eq!(
            query.pairs(),
            vec![("after_seq", "10".to_owned()), ("limit", "500".to_owned())]
        );
        let query = HistoryQuery {
            all_kinds: true,
            ..HistoryQuery::default()
        };
        assert_eq!(query.pairs(), vec![("kinds", "all".to_owned())]);
    }

    #[test]
    fn chat_ids_are_escaped_in_paths() {
        assert_eq!(chat_path("c_ab12"), "/v1/chats/c_ab12");
        assert_eq!(chat_path("a/b"), "/v1/chats/a%2Fb");
    }
}
