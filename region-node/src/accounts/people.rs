//! Contacts, blocks and mutes: the caller's own [`settings`](super::settings),
//! written in any region and shipped with the account log.
//!
//! Contacts and blocks name another existing user, never the caller; a
//! block refuses the blocked user's direct chat with the blocker and their
//! sends in it, in every region (the chat's task looks the block up; see
//! `chat_core`'s send rule). In a group the two share, a block changes
//! nothing on the server: messages are delivered both ways, and clients
//! may hide the blocked user's messages using `GET /v1/blocks`.

use protocol::records::SettingKind;

use super::log::AccountEvent;
use super::records::{self, UserRecord, decode};
use super::{Accounts, Error, settings};

impl Accounts {
    /// Writes `user`'s setting of `kind` about `target` to `value` (0
    /// clears it). Contacts and blocks must name another user who exists
    /// (`bad_request` for the caller, `not_found` for nobody); adding a
    /// deleted user is `not_found`, removing one is allowed. The caller
    /// checks a mute's chat.
    #[tracing::instrument(skip(self))]
    pub async fn set_setting(
        &self,
        user: &str,
        kind: SettingKind,
        target: &str,
        value: u64,
    ) -> Result<(), Error> {
        if kind != SettingKind::Mute {
            if target == user {
                return Err(Error::invalid(match kind {
                    SettingKind::Block => "you cannot block yourself",
                    _ => "you cannot add yourself as a contact",
                }));
            }
            let other = self.any_user(target).await?;
            let gone = other.as_ref().is_none_or(|u| u.deleted_at.is_some());
            if other.is_none() || (gone && value != 0) {
                return Err(Error::not_found(format!("no such user {target}")));
            }
        }
        let setting = settings::at(value, self.hlc.now());
        let seq = self
            .db
            .run(|tx| async move {
                settings::put(&tx, kind, user, target, setting).await?;
                let event = AccountEvent::SettingChanged {
                    user_id: user.to_owned(),
                    kind,
                    target: target.to_owned(),
                    setting,
                };
                self.append(&tx, &event).await
            })
            .await?;
        self.committed(seq);
        tracing::info!("setting written");
        Ok(())
    }

    /// The users `user` has set as `kind` (contacts or blocks), as records,
    /// by user id; users this region does not know yet are left out.
    pub async fn people(&self, user: &str, kind: SettingKind) -> Result<Vec<UserRecord>, Error> {
        let mut out = Vec::new();
        for (target, _) in settings::set_targets(&self.db, kind, user).await? {
            if let Some(record) = self.any_user(&target).await? {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// `user`'s mute of `chat_id` (0: not muted).
    pub async fn muted_until(&self, user: &str, chat_id: &str) -> Result<u64, Error> {
        settings::value(&self.db.begin(), SettingKind::Mute, user, chat_id).await
    }

    /// A user's record, deleted or not.
    async fn any_user(&self, user_id: &str) -> Result<Option<UserRecord>, Error> {
        let bytes = self
            .db
            .begin()
            .get_snapshot(&records::user_key(user_id))
            .await?;
        bytes.map(|b| decode(&b)).transpose()
    }
}
