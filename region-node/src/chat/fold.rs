//! Storing an action entry (`edit`, `delete`, `reaction`) folded into the
//! message it targets, in the batch's transaction: the target's record is
//! rewritten by [`chat_core::fold::fold`], and a delete rewrites the
//! `edit` entries of the message with their text erased — the deleted text
//! is gone from this region's store, not hidden.

use chat_core::fold::{erase, fold};
use protocol::chats::Message;
use store::Transaction;

use super::{Error, keys};
use crate::codec::{decode, encode};

/// Writes `entry` and folds it into its target.
pub(super) async fn apply(tx: &Transaction, chat: &str, mut entry: Message) -> Result<(), Error> {
    if let Some(target_seq) = entry.target_seq {
        let key = keys::message(chat, target_seq);
        if let Some(bytes) = tx.get_snapshot(&key).await? {
            let mut target: Message = decode(&bytes)?;
            let erased = fold(&mut target, &mut entry);
            tx.set(&key, &encode(&target));
            for seq in erased {
                let key = keys::message(chat, seq);
                if let Some(bytes) = tx.get_snapshot(&key).await? {
                    let mut edit: Message = decode(&bytes)?;
                    erase(&mut edit);
                    tx.set(&key, &encode(&edit));
                }
            }
        }
    }
    tx.set(&keys::message(chat, entry.seq), &encode(&entry));
    Ok(())
}
