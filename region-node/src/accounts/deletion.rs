//! Deleting an account: asked with the password, in any region. In one
//! transaction with an account log entry ([`AccountEvent::UserDeleted`]),
//! every device of the user is revoked, the profile and the user's own
//! settings are erased, and the record keeps only the id, the username and
//! the time; a tombstone `("user_deleted", user_id)` stays. Every other
//! region does the same when the entry arrives, and closes the user's
//! connections there.
//!
//! After that, tokens of the account fail everywhere: a device of this
//! region or one replicated here is gone, and a device another region
//! logged in that has not arrived yet is refused by the tombstone (as is
//! the device itself when it arrives). Logging in is refused, the profile
//! shows `deleted: true` and no name, and the user's messages stay in their
//! chats under the same `sender_id`.
//!
//! The username stays held for [`USERNAME_HOLD_MS`] (30 days), so nobody can
//! pass for the deleted user in the meantime; after that a new registration
//! may take it (see `usernames`).

use protocol::records::UserRecord;
use store::{RangeOption, Transaction};

use super::log::AccountEvent;
use super::records::{self, DeviceRecord, decode, encode};
use super::{Accounts, Error, Principal, profiles, revoke_in, settings};
use crate::clock::now_ms;

/// How long a deleted account's username is held from others: 30 days.
pub const USERNAME_HOLD_MS: u64 = 30 * 24 * 60 * 60 * 1000;

impl Accounts {
    /// Deletes the caller's account if `password` is theirs (`forbidden`
    /// and nothing changed otherwise).
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn delete_account(&self, who: &Principal, password: String) -> Result<(), Error> {
        let user = self
            .user(&who.user_id)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| Error::unauthorized("account no longer exists"))?;
        let matched = self
            .hasher
            .verify(Some(user.password_hash.clone()), password)
            .await?;
        if !matched {
            return Err(Error::Forbidden("wrong password".into()));
        }
        let deleted_at = now_ms();
        let user_id = who.user_id.as_str();
        let seq = self
            .db
            .run(|tx| async move {
                erase_in(&tx, user_id, deleted_at).await?;
                let event = AccountEvent::UserDeleted {
                    user_id: user_id.to_owned(),
                    deleted_at,
                };
                self.append(&tx, &event).await
            })
            .await?;
        self.committed(seq);
        tracing::info!("account deleted");
        Ok(())
    }
}

/// Whether `user_id`'s account was deleted, as this region knows (read
/// with a conflict check).
pub(crate) async fn is_deleted(tx: &Transaction, user_id: &str) -> Result<bool, Error> {
    Ok(tx
        .get(&records::user_tombstone_key(user_id))
        .await?
        .is_some())
}

/// Erases an account in `tx`: tombstone, record, devices, profile and
/// settings. Idempotent; also right for a user whose record has not
/// arrived yet (the tombstone erases it when it does).
pub(crate) async fn erase_in(
    tx: &Transaction,
    user_id: &str,
    deleted_at: u64,
) -> Result<(), Error> {
    tx.set(
        &records::user_tombstone_key(user_id),
        &deleted_at.to_le_bytes(),
    );
    if let Some(bytes) = tx.get(&records::user_key(user_id)).await? {
        let user: UserRecord = decode(&bytes)?;
        tx.set(
            &records::user_key(user_id),
            &encode(&erased(user, deleted_at)),
        );
    }
    let devices = tx
        .get_range(RangeOption::subspace(&records::devices_prefix(user_id)))
        .await?;
    for (_, value) in devices {
        let device: DeviceRecord = decode(&value)?;
        revoke_in(tx, user_id, &device.device_id, deleted_at).await?;
    }
    tx.clear(&profiles::key(user_id));
    settings::erase(tx, user_id);
    Ok(())
}

/// What a deleted account's record keeps: its id, username (held), times.
pub(crate) fn erased(user: UserRecord, deleted_at: u64) -> UserRecord {
    UserRecord {
        display_name: String::new(),
        password_hash: String::new(),
        deleted_at: Some(user.deleted_at.unwrap_or(deleted_at)),
        ..user
    }
}
