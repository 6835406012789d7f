//! A user's own settings that hold in every region: their contacts, the
//! users they block, and the chats they mute.
//!
//! Each setting is a last-writer-wins register ([`Setting`]: a value and
//! the clock of the write) under `("setting", kind, user, target)`. A
//! write is made in whatever region the user asks, in one transaction with
//! an account log entry (`AccountEvent::SettingChanged`), so it reaches
//! every region with the account log; a region keeps the write with the
//! greater clock, so all regions end with the same value whatever order
//! writes arrive in. Settings are per-user metadata, not part of any
//! chat's order, which is why they travel with the account rather than
//! through a chat's home: a block must be known where a direct chat is
//! sequenced, and a mute wherever a push is sent, and the account log
//! reaches every region.
//!
//! A cleared setting keeps its register (value 0), so a late older write
//! cannot bring it back. A deleted account's settings are erased and later
//! writes for it are ignored.

use protocol::Hlc;
use protocol::records::{Setting, SettingKind};
use store::tuple::pack;
use store::{Database, RangeOption, Transaction};

use super::Error;
use super::records::{decode, encode};

fn kind_name(kind: SettingKind) -> &'static str {
    match kind {
        SettingKind::Contact => "contact",
        SettingKind::Block => "block",
        SettingKind::Mute => "mute",
    }
}

/// Where `user`'s setting of `kind` about `target` is kept.
pub fn key(kind: SettingKind, user: &str, target: &str) -> Vec<u8> {
    pack(&("setting", kind_name(kind), user, target))
}

fn prefix(kind: SettingKind, user: &str) -> Vec<u8> {
    pack(&("setting", kind_name(kind), user))
}

/// The register, if ever written (a snapshot read).
pub async fn get(
    tx: &Transaction,
    kind: SettingKind,
    user: &str,
    target: &str,
) -> Result<Option<Setting>, Error> {
    tx.get_snapshot(&key(kind, user, target))
        .await?
        .map(|bytes| decode(&bytes))
        .transpose()
}

/// The value of a setting; 0 if never written.
pub async fn value(
    tx: &Transaction,
    kind: SettingKind,
    user: &str,
    target: &str,
) -> Result<u64, Error> {
    Ok(get(tx, kind, user, target).await?.map_or(0, |s| s.value))
}

/// Whether `blocker` blocks `blocked`, as this region knows.
pub async fn blocks(tx: &Transaction, blocker: &str, blocked: &str) -> Result<bool, Error> {
    Ok(value(tx, SettingKind::Block, blocker, blocked).await? != 0)
}

/// Every target of `user`'s settings of `kind` whose value is not 0, with
/// the value, by target.
pub async fn set_targets(
    db: &Database,
    kind: SettingKind,
    user: &str,
) -> Result<Vec<(String, u64)>, Error> {
    let rows = db
        .begin()
        .get_range(RangeOption::subspace(&prefix(kind, user)).snapshot())
        .await?;
    let mut out = Vec::new();
    for (k, v) in rows {
        let setting: Setting = decode(&v)?;
        if setting.value == 0 {
            continue;
        }
        let (_, _, _, target): (String, String, String, String) =
            store::tuple::unpack(&k).map_err(|e| Error::CorruptKey(format!("setting key: {e}")))?;
        out.push((target, setting.value));
    }
    Ok(out)
}

/// Writes `setting` unless the register holds a later write (by clock,
/// then by value); answers
/// whether it was written. Reads with a conflict check, so two writes
/// racing in one region retry rather than lose the later one.
pub(crate) async fn put(
    tx: &Transaction,
    kind: SettingKind,
    user: &str,
    target: &str,
    setting: Setting,
) -> Result<bool, Error> {
    let key = key(kind, user, target);
    if let Some(bytes) = tx.get(&key).await? {
        let held: Setting = decode(&bytes)?;
        // Two regions' clocks may give one write time; the greater value
        // then wins, the same everywhere.
        if (held.at, held.value) >= (setting.at, setting.value) {
            return Ok(false);
        }
    }
    tx.set(&key, &encode(&setting));
    Ok(true)
}

/// Erases every setting of `user` (their account is deleted).
pub(crate) fn erase(tx: &Transaction, user: &str) {
    for kind in [SettingKind::Contact, SettingKind::Block, SettingKind::Mute] {
        let range = RangeOption::subspace(&prefix(kind, user));
        tx.clear_range(&range.begin, &range.end);
    }
}

/// A setting's register for a write now.
pub(crate) fn at(value: u64, at: Hlc) -> Setting {
    Setting { value, at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_later_write_wins_in_any_order() {
        let early = at(1, Hlc::new(10, 0));
        let late = at(0, Hlc::new(11, 0));
        for order in [[early, late], [late, early]] {
            let db = Database::in_memory().unwrap();
            for setting in order {
                db.run(
                    |tx| async move { put(&tx, SettingKind::Block, "u_a", "u_b", setting).await },
                )
                .await
                .unwrap();
            }
            let tx = db.begin();
            assert!(!blocks(&tx, "u_a", "u_b").await.unwrap());
            assert_eq!(
                get(&tx, SettingKind::Block, "u_a", "u_b").await.unwrap(),
                Some(late)
            );
        }
    }

    #[tokio::test]
    async fn lists_hold_only_set_targets_of_one_user_and_kind() {
        let db = Database::in_memory().unwrap();
        db.run(|tx| async move {
            put(
                &tx,
                SettingKind::Contact,
                "u_a",
                "u_b",
                at(1, Hlc::new(1, 0)),
            )
            .await?;
            put(
                &tx,
                SettingKind::Contact,
                "u_a",
                "u_c",
                at(0, Hlc::new(1, 0)),
            )
            .await?;
            put(&tx, SettingKind::Block, "u_a", "u_d", at(1, Hlc::new(1, 0))).await?;
            put(
                &tx,
                SettingKind::Contact,
                "u_b",
                "u_a",
                at(1, Hlc::new(1, 0)),
            )
            .await
        })
        .await
        .unwrap();
        let contacts = set_targets(&db, SettingKind::Contact, "u_a").await.unwrap();
        assert_eq!(contacts, vec![("u_b".to_owned(), 1)]);
        db.run(|tx| async move {
            erase(&tx, "u_a");
            Ok::<_, Error>(())
        })
        .await
        .unwrap();
        assert!(
            set_targets(&db, SettingKind::Block, "u_a")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            set_targets(&db, SettingKind::Contact, "u_b")
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
