//! The people endpoints of [`Client`]: the caller's profile and account
//! (`/v1/me`), contacts, blocks, and the caller's roles-and-settings calls
//! on a chat (`PATCH .../members/{user_id}`, `PUT .../settings`).

use protocol::chats::{Chat, ChatSettings, Role, SetRoleRequest};
use protocol::users::{
    BlockList, Contact, ContactList, DeleteAccountRequest, UpdateProfileRequest, UserProfile,
};
use reqwest::Method;

use crate::error::ClientError;
use crate::http::Client;
use crate::url::encode_component;

impl Client {
    /// `PATCH /v1/me`: changes the fields that are set; answers the profile.
    pub async fn update_profile(
        &self,
        update: &UpdateProfileRequest,
    ) -> Result<UserProfile, ClientError> {
        self.send(Method::PATCH, "/v1/me", Some(update)).await
    }

    /// `DELETE /v1/me`: deletes the account in every region.
    pub async fn delete_account(&self, password: &str) -> Result<(), ClientError> {
        let body = DeleteAccountRequest {
            password: password.to_owned(),
        };
        self.send_ignoring_answer(Method::DELETE, "/v1/me", Some(&body))
            .await
    }

    /// `GET /v1/contacts`: the caller's contacts with their presence.
    pub async fn contacts(&self) -> Result<Vec<Contact>, ClientError> {
        let list: ContactList = self.send(Method::GET, "/v1/contacts", None::<&()>).await?;
        Ok(list.contacts)
    }

    /// `PUT /v1/contacts/{user_id}`.
    pub async fn add_contact(&self, user_id: &str) -> Result<(), ClientError> {
        let path = format!("/v1/contacts/{}", encode_component(user_id));
        self.send_empty(Method::PUT, &path).await
    }

    /// `DELETE /v1/contacts/{user_id}`.
    pub async fn remove_contact(&self, user_id: &str) -> Result<(), ClientError> {
        let path = format!("/v1/contacts/{}", encode_component(user_id));
        self.send_empty(Method::DELETE, &path).await
    }

    /// `GET /v1/blocks`: the users the caller blocks.
    pub async fn blocks(&self) -> Result<Vec<UserProfile>, ClientError> {
        let list: BlockList = self.send(Method::GET, "/v1/blocks", None::<&()>).await?;
        Ok(list.blocks)
    }

    /// `PUT /v1/blocks/{user_id}`.
    pub async fn block(&self, user_id: &str) -> Result<(), ClientError> {
        let path = format!("/v1/blocks/{}", encode_component(user_id));
        self.send_empty(Method::PUT, &path).await
    }

    /// `DELETE /v1/blocks/{user_id}`.
    pub async fn unblock(&self, user_id: &str) -> Result<(), ClientError> {
        let path = format!("/v1/blocks/{}", encode_component(user_id));
        self.send_empty(Method::DELETE, &path).await
    }

    /// `PATCH /v1/chats/{chat_id}/members/{user_id}` (the owner only):
    /// grants or revokes `admin`, or hands the group over with `owner`.
    pub async fn set_role(
        &self,
        chat_id: &str,
        user_id: &str,
        role: Role,
    ) -> Result<Chat, ClientError> {
        let path = format!(
            "/v1/chats/{}/members/{}",
            encode_component(chat_id),
            encode_component(user_id)
        );
        self.send(Method::PATCH, &path, Some(&SetRoleRequest { role }))
            .await
    }

    /// `PUT /v1/chats/{chat_id}/settings`: mutes the chat for the caller
    /// until `muted_until` (ms since the Unix epoch; 0 unmutes).
    pub async fn mute(&self, chat_id: &str, muted_until: u64) -> Result<ChatSettings, ClientError> {
        let path = format!("/v1/chats/{}/settings", encode_component(chat_id));
        self.send(Method::PUT, &path, Some(&ChatSettings { muted_until }))
            .await
    }
}
