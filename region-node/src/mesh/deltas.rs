//! Receipts, typing, profiles, group metadata and presence between regions. Marks are max-registers: every
//! region merges what it hears and passes on what changed, so all regions
//! end with the maximum whatever the order; after a link comes up, a region
//! sends the peer every mark it holds, so marks moved during a partition
//! converge. Typing travels as datagrams and expires by itself if lost.

use store::RangeOption;

use super::Mesh;
use super::peer::MeshDelta;
use crate::accounts::records::decode;
use crate::chat::keys;
use crate::chat::records::Marks;
use crate::state::AppState;

/// Merges one delta from `peer`. Deltas for chats this region does not
/// know yet are dropped: the chat's log brings them later, and the next
/// resync carries its marks.
pub(super) async fn apply(state: &AppState, peer: &str, body: &[u8]) {
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
        } => {
            state
                .chats
                .remote_marks(&user_id, &chat_id, delivered, read)
                .await
        }
        MeshDelta::Typing {
            chat_id,
            user_id,
            active,
        } => state.chats.remote_typing(&user_id, &chat_id, active).await,
        MeshDelta::Profile { user_id, doc } => {
            crate::accounts::profiles::merge(&state.db, &state.config.region, &user_id, &doc).await
        }
        MeshDelta::ChatMeta {
            chat_id,
            doc,
            editor,
        } => state.chats.merge_meta(&chat_id, &doc, &editor).await,
        MeshDelta::Presence {
            user_id,
            online,
            last_seen,
            hlc,
        } => {
            state
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
pub(super) async fn resync(state: &AppState, mesh: &Mesh, peer: &str) {
    match crate::accounts::profiles::all(&state.db).await {
        Ok(docs) => {
            for (user_id, doc) in docs {
                send_reliable(mesh, peer, &MeshDelta::Profile { user_id, doc });
            }
        }
        Err(error) => tracing::warn!(%peer, %error, "cannot read profiles for a resync"),
    }
    match crate::chat::meta::all(&state.db).await {
        Ok(docs) => {
            for (chat_id, doc, editor) in docs {
                let delta = MeshDelta::ChatMeta {
                    chat_id,
                    doc,
                    editor,
                };
                send_reliable(mesh, peer, &delta);
            }
        }
        Err(error) => tracing::warn!(%peer, %error, "cannot read chat metadata for a resync"),
    }
    for (user_id, last_seen) in state.hub.presence.local_online() {
        send_reliable(
            mesh,
            peer,
            &MeshDelta::Presence {
                user_id,
                online: true,
                last_seen,
                hlc: mesh.clock().now(),
            },
        );
    }
    let chats = match chat_ids(state).await {
        Ok(chats) => chats,
        Err(error) => {
            tracing::warn!(%peer, %error, "cannot list chats for a marks resync");
            return;
        }
    };
    let mut sent = 0;
    for chat_id in chats {
        let rows = match state
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
            send_reliable(mesh, peer, &delta);
            sent += 1;
        }
    }
    tracing::debug!(%peer, marks = sent, "marks resync sent");
}

/// Every chat this region holds (homed here or replicated).
async fn chat_ids(state: &AppState) -> Result<Vec<String>, crate::error::ApiError> {
    let rows = state
        .db
        .begin()
        .get_range(RangeOption::subspace(&keys::homed_all()).snapshot())
        .await?;
    rows.iter().map(|(key, _)| keys::homed_chat(key)).collect()
}

/// Sends one delta to `peer` on the reliable stream.
fn send_reliable(mesh: &Mesh, peer: &str, delta: &MeshDelta) {
    match serde_json::to_vec(delta) {
        Ok(body) => {
            let _ = mesh.transport().send(
                peer,
                sync::transport::Channel::Crdt,
                bytes::Bytes::from(body),
            );
        }
        Err(error) => tracing::error!(%error, "cannot encode a delta"),
    }
}
