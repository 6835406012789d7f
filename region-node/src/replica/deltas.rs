//! Receipts, typing, profiles, group metadata and presence between regions. Marks are max-registers: every
//! region merges what it hears and passes on what changed, so all regions
//! end with the maximum whatever the order; after a link comes up, a region
//! sends the peer every mark it holds, so marks moved during a partition
//! converge. Typing travels as datagrams and expires by itself if lost.

use protocol::peer::MeshDelta;
use protocol::records::Marks;
use store::RangeOption;

use super::Handles;
use crate::chat::keys;
use crate::codec::decode;

/// Merges one delta from `peer`. Deltas for chats this region does not
/// know yet are dropped: the chat's log brings them later, and the next
/// resync carries its marks.
pub(super) async fn apply(handles: &Handles, peer: &str, body: &[u8]) {
    let delta = match serde_json::from_slice::<MeshDelta>(body) {
        Ok(delta) => delta,
        Err(error) => {
            tracing::warn!(%peer, %error, "unreadable delta");
            return;
        }
    };
    tracing::debug!(%peer, ?delta, "delta received");
    let result = match delta {
        MeshDelta::Marks {
            chat_id,
            user_id,
            delivered,
            read,
        } => handles
            .chats
            .remote_marks(&user_id, &chat_id, delivered, read)
            .await
            .map_err(|e| e.to_string()),
        MeshDelta::Typing {
            chat_id,
            user_id,
            active,
        } => handles
            .chats
            .remote_typing(&user_id, &chat_id, active)
            .await
            .map_err(|e| e.to_string()),
        MeshDelta::Profile { user_id, doc } => {
            crate::accounts::profiles::merge(&handles.db, &handles.region, &user_id, &doc)
                .await
                .map_err(|e| e.to_string())
        }
        MeshDelta::ChatMeta {
            chat_id,
            doc,
            editor,
        } => handles
            .chats
            .merge_meta(&chat_id, &doc, &editor)
            .await
            .map_err(|e| e.to_string()),
        MeshDelta::Presence {
            user_id,
            online,
            last_seen,
            hlc,
        } => {
            handles
                .hub
                .presence
                .remote(peer, &user_id, online, last_seen, hlc);
            Ok(())
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "delta not applied");
    }
}

/// Sends `peer` every profile and group metadata document, every receipt
/// mark this region holds, and who is online here.
pub(super) async fn resync(handles: &Handles, peer: &str) {
    let mesh = &handles.link;
    match crate::accounts::profiles::all(&handles.db).await {
        Ok(docs) => {
            for (user_id, doc) in docs {
                mesh.send_reliable(peer, &MeshDelta::Profile { user_id, doc });
            }
        }
        Err(error) => tracing::warn!(%peer, %error, "cannot read profiles for a resync"),
    }
    match crate::chat::meta::all(&handles.db).await {
        Ok(docs) => {
            for (chat_id, doc, editor) in docs {
                let delta = MeshDelta::ChatMeta {
                    chat_id,
                    doc,
                    editor,
                };
                mesh.send_reliable(peer, &delta);
            }
        }
        Err(error) => tracing::warn!(%peer, %error, "cannot read chat metadata for a resync"),
    }
    for (user_id, last_seen) in handles.hub.presence.local_online() {
        mesh.send_reliable(
            peer,
            &MeshDelta::Presence {
                user_id,
                online: true,
                last_seen,
                hlc: mesh.clock().now(),
            },
        );
    }
    let chats = match chat_ids(handles).await {
        Ok(chats) => chats,
        Err(error) => {
            tracing::warn!(%peer, %error, "cannot list chats for a marks resync");
            return;
        }
    };
    let mut sent = 0;
    for chat_id in chats {
        let rows = match handles
            .db
            .begin()
            .get_range(RangeOption::subspace(&keys::receipts(&chat_id)).snapshot())
            .await
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(chat = %chat_id, %error, "cannot read marks");
                continue;
            }
        };
        for (key, value) in rows {
            let (Ok(marks), Ok(user_id)) = (decode::<Marks>(&value), keys::receipt_user(&key))
            else {
                continue;
            };
            let delta = MeshDelta::Marks {
                chat_id: chat_id.clone(),
                user_id,
                delivered: marks.delivered_seq,
                read: marks.read_seq,
            };
            mesh.send_reliable(peer, &delta);
            sent += 1;
        }
    }
    tracing::debug!(%peer, marks = sent, "marks resync sent");
}

/// Every chat this region holds (homed here or replicated).
async fn chat_ids(handles: &Handles) -> Result<Vec<String>, crate::chat::Error> {
    let rows = handles
        .db
        .begin()
        .get_range(RangeOption::subspace(&keys::homed_all()).snapshot())
        .await?;
    rows.iter().map(|(key, _)| keys::homed_chat(key)).collect()
}
