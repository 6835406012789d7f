//! Group titles and descriptions, editable in any region: each group's
//! metadata lives in an automerge document (`sync::crdt::ChatMeta`), edited
//! under the editing region's actor and exchanged whole between regions,
//! which merge what they receive, so concurrent edits converge on one value
//! everywhere without asking the chat's home. A field no edit ever set
//! keeps the value the group was created with.
//!
//! Beside the document each region keeps who edited it last, so the chat's
//! home can name them in the `chat_renamed` / `chat_described` system
//! message it writes once it learns of the change.

use base64::Engine as _;
use chat_core::{ChatError, MetaFields};
use protocol::chats::{ChatKind, Role};
use protocol::records::{ChatRecord, MemberRecord};
use store::tuple::pack;
use store::{Database, RangeOption, Transaction};
use sync::crdt::ChatMeta;

use super::{Error, keys};
use crate::codec::decode;

fn key(chat_id: &str) -> Vec<u8> {
    pack(&("chatmeta", chat_id))
}

fn editor_key(chat_id: &str) -> Vec<u8> {
    pack(&("chatmeta_by", chat_id))
}

/// The fields edits have set (`None` where no edit set one), named by
/// `editor`.
fn fields_of(doc: &ChatMeta, editor: String) -> MetaFields {
    MetaFields {
        title: doc.title_if_set(),
        description: doc.description_if_set(),
        editor,
    }
}

fn corrupt(error: impl std::fmt::Display) -> Error {
    Error::Refused(ChatError::Storage(format!(
        "chat metadata document: {error}"
    )))
}

/// Checks that `actor` may edit the group's metadata here: the group
/// exists, is not deleted, and they are one of its current admins, as this
/// region's copy of the chat says.
pub async fn authorize(db: &Database, chat_id: &str, actor: &str) -> Result<(), Error> {
    let tx = db.begin();
    let record: ChatRecord = match tx.get_snapshot(&keys::meta(chat_id)).await? {
        Some(bytes) => decode(&bytes)?,
        None => return Err(Error::not_found("no such chat")),
    };
    let member: Option<MemberRecord> = match tx.get_snapshot(&keys::member(chat_id, actor)).await? {
        Some(bytes) => Some(decode(&bytes)?),
        None => None,
    };
    let Some(member) = member.filter(MemberRecord::is_current) else {
        return Err(ChatError::NotMember.into());
    };
    if record.deleted {
        return Err(Error::not_found("chat was deleted"));
    }
    if record.kind == ChatKind::Direct {
        return Err(Error::invalid(
            "direct chats cannot be renamed or change members",
        ));
    }
    if member.role < Role::Admin {
        return Err(
            ChatError::Forbidden("only admins may change the title or description".into()).into(),
        );
    }
    Ok(())
}

/// Applies an edit made here by `editor`; answers the document to send
/// the other regions and its fields.
pub async fn edit(
    db: &Database,
    region: &str,
    chat_id: &str,
    editor: &str,
    title: Option<&str>,
    description: Option<&str>,
) -> Result<(Vec<u8>, MetaFields), Error> {
    // Read, edit and write in one transaction, so a merge arriving at the
    // same moment is not lost.
    db.run(|tx| async move {
        let mut doc = stored(&tx, chat_id).await?.with_actor(region);
        if let Some(title) = title {
            doc.set_title(title);
        }
        if let Some(description) = description {
            doc.set_description(description);
        }
        let bytes = doc.to_bytes();
        tx.set(&key(chat_id), &bytes);
        tx.set(&editor_key(chat_id), editor.as_bytes());
        Ok((bytes, fields_of(&doc, editor.to_owned())))
    })
    .await
}

/// Merges a document another region sent; answers the fields when any
/// changed here.
pub async fn merge(
    db: &Database,
    region: &str,
    chat_id: &str,
    encoded: &str,
    editor: &str,
) -> Result<Option<MetaFields>, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| Error::invalid(format!("chat metadata document: {e}")))?;
    ChatMeta::from_bytes(&bytes).map_err(|e| Error::invalid(e.to_string()))?;
    db.run(|tx| {
        let bytes = bytes.clone();
        async move {
            let mut remote =
                ChatMeta::from_bytes(&bytes).map_err(|e| Error::invalid(e.to_string()))?;
            let mut doc = stored(&tx, chat_id).await?.with_actor(region);
            let before = fields_of(&doc, String::new());
            doc.merge(&mut remote).map_err(corrupt)?;
            let after = fields_of(&doc, String::new());
            if before == after {
                return Ok(None);
            }
            tx.set(&key(chat_id), &doc.to_bytes());
            tx.set(&editor_key(chat_id), editor.as_bytes());
            Ok(Some(fields_of(&doc, editor.to_owned())))
        }
    })
    .await
}

/// The fields edits have set, and who edited last; `None` if never edited.
pub async fn fields(tx: &Transaction, chat_id: &str) -> Result<Option<MetaFields>, Error> {
    let Some(bytes) = tx.get_snapshot(&key(chat_id)).await? else {
        return Ok(None);
    };
    let doc = ChatMeta::from_bytes(&bytes).map_err(corrupt)?;
    let editor = tx
        .get_snapshot(&editor_key(chat_id))
        .await?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Ok(Some(fields_of(&doc, editor)))
}

/// The stored document (read with a conflict check), or a fresh one.
async fn stored(tx: &Transaction, chat_id: &str) -> Result<ChatMeta, Error> {
    match tx.get(&key(chat_id)).await? {
        Some(bytes) => ChatMeta::from_bytes(&bytes).map_err(corrupt),
        None => Ok(ChatMeta::default()),
    }
}

/// Every edited chat here, as (chat, base64 document, last editor).
pub async fn all(db: &Database) -> Result<Vec<(String, String, String)>, Error> {
    let tx = db.begin();
    let rows = tx
        .get_range(RangeOption::subspace(&pack(&("chatmeta",))).snapshot())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, v) in rows {
        let (_, chat): (String, String) = store::tuple::unpack(&k).map_err(corrupt)?;
        let editor = tx
            .get_snapshot(&editor_key(&chat))
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        out.push((chat, encode(&v), editor));
    }
    Ok(out)
}

/// A document as it travels between regions.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
