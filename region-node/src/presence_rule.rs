//! Who may see whose presence. The rule lives here, in one function,
//! [`may_see_presence`]:
//!
//! - a user always sees their own presence;
//! - nobody sees the presence of a user who blocks them;
//! - otherwise a user sees the presence of everyone they share a chat with
//!   (both current members of a chat not deleted), and of everyone who has
//!   them among their contacts ("my contacts see when I am online", as in
//!   the phone-book apps). Adding someone to one's own contacts does not
//!   show one their presence: that would let anyone watch anyone.
//!
//! The rule is applied when a connection subscribes; a subscription held
//! while the relation ends (a removal, a block, a contact dropped) lasts
//! until the connection closes.

use protocol::records::SettingKind;
use store::Database;

use crate::accounts::settings;
use crate::chat::co_members::Memberships;

/// Why the rule could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading memberships failed.
    #[error(transparent)]
    Chat(#[from] crate::chat::Error),
    /// Reading contacts or blocks failed.
    #[error(transparent)]
    Accounts(#[from] crate::accounts::Error),
}

/// What the rule knows of one watcher.
pub struct Watcher {
    user: String,
    memberships: Memberships,
}

impl Watcher {
    /// Loads what the rule needs to know of `user`.
    pub async fn load(db: &Database, user: &str) -> Result<Self, Error> {
        Ok(Self {
            user: user.to_owned(),
            memberships: Memberships::load(db, user).await?,
        })
    }
}

/// Whether `watcher` may see `target`'s presence.
#[tracing::instrument(skip_all, fields(watcher = %watcher.user, target))]
pub async fn may_see_presence(
    db: &Database,
    watcher: &Watcher,
    target: &str,
) -> Result<bool, Error> {
    if watcher.user == target {
        return Ok(true);
    }
    let tx = db.begin();
    if settings::blocks(&tx, target, &watcher.user).await? {
        return Ok(false);
    }
    if settings::value(&tx, SettingKind::Contact, target, &watcher.user).await? != 0 {
        return Ok(true);
    }
    Ok(watcher.memberships.shared_with(db, target).await?)
}
