//! Sends held durably while their chat's home is unreachable: written
//! before the sender hears `accepted`, handed to the forwarding machine
//! again after a restart, and cleared once the home has answered.

use protocol::peer::ForwardSend;
use serde::{Deserialize, Serialize};
use store::tuple::pack;
use store::{Database, RangeOption};

use super::Error;
use crate::codec::{decode, encode};

/// A held send and the region it goes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    /// The chat's home region.
    pub home: String,
    /// The send.
    pub item: ForwardSend,
}

fn key(id: &str) -> Vec<u8> {
    pack(&("outbox", id))
}

/// Holds a send durably (idempotent).
pub async fn hold(db: &Database, home: &str, item: &ForwardSend) -> Result<(), Error> {
    let tx = db.begin();
    let row = Held {
        home: home.to_owned(),
        item: item.clone(),
    };
    tx.set(&key(&item.id), &encode(&row));
    tx.commit().await?;
    Ok(())
}

/// Every held send, in the order they were accepted.
pub async fn load(db: &Database) -> Result<Vec<Held>, Error> {
    let tx = db.begin();
    let mut rows = Vec::new();
    for (_, value) in tx
        .get_range(RangeOption::subspace(&pack(&("outbox",))).snapshot())
        .await?
    {
        rows.push(decode::<Held>(&value)?);
    }
    rows.sort_by_key(|r| r.item.hlc);
    Ok(rows)
}

/// Forgets a held send its home has answered.
pub async fn clear(db: &Database, id: &str) -> Result<(), Error> {
    let tx = db.begin();
    tx.clear(&key(id));
    tx.commit().await?;
    Ok(())
}
