//! Profiles editable in any region: each user's display name, status line
//! and avatar live in an automerge document (`sync::crdt::Profile`), edited
//! under the editing region's actor and exchanged whole between regions,
//! which merge what they receive; concurrent edits converge everywhere.
//! Without an edit, a profile is the account's registration values. A
//! deleted account's document is erased and never merged again.

use base64::Engine as _;
use protocol::users::{UpdateProfileRequest, UserProfile};
use store::tuple::pack;
use store::{Database, RangeOption};
use sync::crdt::Profile;

use super::Error;
use super::validate;

/// Longest status line, in characters.
const MAX_STATUS: usize = 140;
/// Longest avatar media id, in bytes.
const MAX_MEDIA_ID: usize = 128;

pub(crate) fn key(user_id: &str) -> Vec<u8> {
    pack(&("profile", user_id))
}

async fn load(db: &Database, user_id: &str) -> Result<Option<Profile>, Error> {
    match db.begin().get_snapshot(&key(user_id)).await? {
        Some(bytes) => Profile::from_bytes(&bytes).map(Some).map_err(Error::from),
        None => Ok(None),
    }
}

/// The profile with its edits applied over the registration values.
pub async fn overlay(db: &Database, mut profile: UserProfile) -> Result<UserProfile, Error> {
    if profile.deleted {
        return Ok(profile);
    }
    if let Some(doc) = load(db, &profile.user_id).await? {
        let name = doc.display_name();
        if !name.is_empty() {
            profile.display_name = name;
        }
        profile.status_text = doc.status_text();
        profile.avatar_media_id = doc.avatar();
    }
    Ok(profile)
}

/// Applies an edit made in `region`; answers the document to send peers.
pub async fn edit(
    db: &Database,
    region: &str,
    user_id: &str,
    request: &UpdateProfileRequest,
) -> Result<Vec<u8>, Error> {
    if request.display_name.is_none()
        && request.status_text.is_none()
        && request.avatar_media_id.is_none()
    {
        return Err(Error::invalid(
            "nothing to change: give display_name, status_text or avatar_media_id",
        ));
    }
    if let Some(name) = &request.display_name {
        validate::display_name(name)?;
    }
    if let Some(status) = &request.status_text {
        if status.chars().count() > MAX_STATUS {
            return Err(Error::invalid("status_text is over 140 characters"));
        }
        // Empty clears the status line; anything else must show.
        if !status.is_empty() {
            validate::visible_text("status_text", status)?;
        }
    }
    if let Some(media_id) = &request.avatar_media_id
        && !media_id.is_empty()
    {
        validate::media_id("avatar_media_id", media_id, MAX_MEDIA_ID)?;
    }
    // Read, edit and write in one transaction: a concurrent merge of
    // another region's document must not be lost.
    db.run(|tx| {
        let request = request.clone();
        async move {
            let mut doc = stored(&tx, user_id).await?.with_actor(region);
            if let Some(name) = &request.display_name {
                doc.set_display_name(name);
            }
            if let Some(status) = &request.status_text {
                doc.set_status_text(status);
            }
            if let Some(media_id) = &request.avatar_media_id {
                doc.set_avatar(media_id);
            }
            let bytes = doc.to_bytes();
            tx.set(&key(user_id), &bytes);
            Ok(bytes)
        }
    })
    .await
}

/// Merges a document another region sent.
pub async fn merge(db: &Database, region: &str, user_id: &str, encoded: &str) -> Result<(), Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| Error::invalid(format!("profile document: {e}")))?;
    Profile::from_bytes(&bytes).map_err(|e| Error::invalid(e.to_string()))?;
    // One transaction, so merges arriving together are not lost.
    db.run(|tx| {
        let bytes = bytes.clone();
        async move {
            // A deleted account's profile stays erased.
            if tx
                .get(&super::records::user_tombstone_key(user_id))
                .await?
                .is_some()
            {
                return Ok(());
            }
            let mut remote =
                Profile::from_bytes(&bytes).map_err(|e| Error::invalid(e.to_string()))?;
            let mut doc = stored(&tx, user_id).await?.with_actor(region);
            doc.merge(&mut remote)?;
            tx.set(&key(user_id), &doc.to_bytes());
            Ok(())
        }
    })
    .await
}

/// The stored document (read with a conflict check), or a fresh one.
async fn stored(tx: &store::Transaction, user_id: &str) -> Result<Profile, Error> {
    match tx.get(&key(user_id)).await? {
        Some(bytes) => Ok(Profile::from_bytes(&bytes)?),
        None => Ok(Profile::default()),
    }
}

/// Every edited profile here, as (user, base64 document).
pub async fn all(db: &Database) -> Result<Vec<(String, String)>, Error> {
    let rows = db
        .begin()
        .get_range(RangeOption::subspace(&pack(&("profile",))).snapshot())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, v) in rows {
        let (_, user): (String, String) =
            store::tuple::unpack(&k).map_err(|e| Error::CorruptKey(format!("profile key: {e}")))?;
        out.push((user, encode(&v)));
    }
    Ok(out)
}

/// A document as it travels between regions.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
