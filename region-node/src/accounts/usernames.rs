//! Usernames unique across the mesh. Every username is owned by one region
//! (a stable hash of the name over the topology's region names, the same
//! answer everywhere). The owner keeps a claim `username → user_id`; a
//! registration anywhere first takes the claim at the owner, so two regions
//! can never both register one name, even while they cannot talk to each
//! other (the registration whose owner is unreachable fails instead).
//!
//! A region on its own owns every name.
//!
//! A deleted account's name stays held for
//! [`USERNAME_HOLD_MS`](super::deletion::USERNAME_HOLD_MS); once that has
//! passed, as the region deciding knows it, a new registration may take it.

use std::time::Duration;

use store::Database;

use super::Error;
use super::records;
use super::validate;
use protocol::peer::{PeerReply, PeerRequest};

use crate::link::Link;

/// How long a registration waits for the name's owner.
const CLAIM_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a registration's username claim is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This region owns the name: the claim is taken in the registration's
    /// own transaction.
    Here,
    /// Another region owns the name and has granted the claim.
    Granted,
}

impl Claim {
    /// Takes or checks the claim in the registration's transaction.
    pub(crate) async fn settle(
        self,
        tx: &store::Transaction,
        username: &str,
        user_id: &str,
    ) -> Result<(), Error> {
        match self {
            Self::Here => claim_in(tx, username, user_id).await,
            Self::Granted => check_local_index(tx, username, user_id).await,
        }
    }
}

/// Asks the region owning `username` for it when that is not this region;
/// `home_unreachable` if the owner cannot be asked, `conflict` if taken.
pub(crate) async fn claim_at_owner(
    mesh: Option<&Link>,
    username: &str,
    user_id: &str,
) -> Result<Claim, Error> {
    let Some(mesh) = mesh else {
        return Ok(Claim::Here);
    };
    let owner = mesh.owner_of(username);
    if owner == mesh.region() {
        return Ok(Claim::Here);
    }
    let request = PeerRequest::ClaimUsername {
        username: username.to_owned(),
        user_id: user_id.to_owned(),
    };
    match mesh.request(owner, &request, CLAIM_TIMEOUT).await? {
        PeerReply::Done => Ok(Claim::Granted),
        PeerReply::Err { code, message } => Err(Error::Refused { code, message }),
        other => Err(Error::UnexpectedReply(format!(
            "region {owner} answered {other:?} to a username claim"
        ))),
    }
}

/// Claims `username` for `user_id` here, at the region owning the name.
/// Idempotent for the same `user_id` (a retried claim succeeds);
/// `conflict` if another user id claimed it or a user here already has it.
pub async fn claim_username(db: &Database, username: &str, user_id: &str) -> Result<(), Error> {
    validate::username(username)?;
    db.run(|tx| async move { claim_in(&tx, username, user_id).await })
        .await?;
    tracing::info!(%username, user = %user_id, "username claimed");
    Ok(())
}

/// Takes the claim in `tx` (see [`claim_username`]).
pub(crate) async fn claim_in(
    tx: &store::Transaction,
    username: &str,
    user_id: &str,
) -> Result<(), Error> {
    let claim_key = records::username_claim_key(username);
    match tx.get(&claim_key).await? {
        Some(holder) if holder == user_id.as_bytes() => return Ok(()),
        Some(holder) if !released(tx, &holder).await? => return Err(taken()),
        _ => {}
    }
    check_local_index(tx, username, user_id).await?;
    tx.set(&claim_key, user_id.as_bytes());
    Ok(())
}

/// `conflict` if a user here other than `user_id` has `username`: one
/// registered before this region was in a mesh, or one replicated here.
pub(crate) async fn check_local_index(
    tx: &store::Transaction,
    username: &str,
    user_id: &str,
) -> Result<(), Error> {
    match tx.get(&records::username_key(username)).await? {
        Some(holder) if holder != user_id.as_bytes() && !released(tx, &holder).await? => {
            Err(taken())
        }
        _ => Ok(()),
    }
}

/// Whether the user `holder` deleted their account long enough ago that
/// their name is free.
async fn released(tx: &store::Transaction, holder: &[u8]) -> Result<bool, Error> {
    let holder = String::from_utf8_lossy(holder);
    let Some(bytes) = tx.get(&records::user_key(&holder)).await? else {
        return Ok(false);
    };
    let user: records::UserRecord = records::decode(&bytes)?;
    Ok(user.deleted_at.is_some_and(|at| {
        at.saturating_add(super::deletion::USERNAME_HOLD_MS) <= crate::clock::now_ms()
    }))
}

fn taken() -> Error {
    Error::conflict("username is taken")
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ErrorCode;

    #[tokio::test]
    async fn claims_are_idempotent_and_exclusive() {
        let db = Database::in_memory().unwrap();
        claim_username(&db, "alice", "u_1").await.unwrap();
        claim_username(&db, "alice", "u_1").await.unwrap();
        let err = claim_username(&db, "alice", "u_2").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        claim_username(&db, "bob", "u_2").await.unwrap();
        let err = claim_username(&db, "Not A Name", "u_3").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn a_deleted_users_name_is_held_then_released() {
        let db = Database::in_memory().unwrap();
        claim_username(&db, "erin", "u_old").await.unwrap();
        let now = crate::clock::now_ms();
        let deleted = |at: u64| {
            let db = db.clone();
            async move {
                let user = records::UserRecord {
                    user_id: "u_old".into(),
                    username: "erin".into(),
                    display_name: String::new(),
                    password_hash: String::new(),
                    created_at: 0,
                    home_region: "local".into(),
                    deleted_at: Some(at),
                };
                db.run(|tx| {
                    let user = user.clone();
                    async move {
                        tx.set(&records::user_key("u_old"), &records::encode(&user));
                        Ok::<_, Error>(())
                    }
                })
                .await
                .unwrap();
            }
        };
        deleted(now).await;
        let err = claim_username(&db, "erin", "u_new").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        deleted(now - super::super::deletion::USERNAME_HOLD_MS - 1).await;
        claim_username(&db, "erin", "u_new").await.unwrap();
        let err = claim_username(&db, "erin", "u_third").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
    }

    #[tokio::test]
    async fn a_local_user_keeps_their_name() {
        let db = Database::in_memory().unwrap();
        db.run(|tx| async move {
            tx.set(&records::username_key("carol"), b"u_local");
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        let err = claim_username(&db, "carol", "u_remote").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        claim_username(&db, "carol", "u_local").await.unwrap();
    }

    #[tokio::test]
    async fn a_granted_claim_still_yields_to_a_user_here() {
        let db = Database::in_memory().unwrap();
        assert_eq!(
            claim_at_owner(None, "dave", "u_1").await.unwrap(),
            Claim::Here
        );
        let settle = |claim: Claim, user_id: &'static str| {
            db.run(move |tx| async move {
                claim.settle(&tx, "dave", user_id).await?;
                tx.set(&records::username_key("dave"), user_id.as_bytes());
                Ok::<_, Error>(())
            })
        };
        settle(Claim::Granted, "u_1").await.unwrap();
        let err = settle(Claim::Granted, "u_2").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        let err = settle(Claim::Here, "u_2").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
    }
}
