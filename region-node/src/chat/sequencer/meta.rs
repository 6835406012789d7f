//! Metadata edits reaching a chat task. The title and description are an
//! automerge document any region may edit (`chat::meta`); after an edit or a
//! merge the chat's task takes the document's values into the chat's
//! record. At the home region a changed title or description is written as
//! a `chat_renamed` / `chat_described` system message naming the last
//! editor, so the change has its place in the chat's order and replicates
//! with it; a replica only updates its copy of the record and shows the
//! chat to its members.

use protocol::chats::SystemEvent;

use super::{ChatTask, SystemChange};
use crate::accounts::records::encode;
use crate::chat::{keys, meta};
use crate::error::ApiError;

impl ChatTask {
    /// Takes the metadata document's values into the chat.
    pub(super) async fn reconcile_meta(&mut self) -> Result<(), ApiError> {
        let chat = self.record.chat_id.clone();
        let Some((fields, editor)) = meta::fields(&self.ctx.db.begin(), &chat).await? else {
            return Ok(());
        };
        let mut record = self.record.clone();
        fields.overlay(&mut record);
        let renamed = record.title != self.record.title;
        let described = record.description != self.record.description;
        if !renamed && !described {
            return Ok(());
        }
        if self.is_replica() || self.record.deleted {
            let tx = self.ctx.db.begin();
            tx.set(&keys::meta(&chat), &encode(&record));
            tx.commit().await?;
            self.record = record;
            self.broadcast_chat(None);
            return Ok(());
        }
        if renamed {
            let mut renamed_record = self.record.clone();
            renamed_record.title.clone_from(&record.title);
            let change = SystemChange {
                record: renamed_record,
                members: self.members.clone(),
                event: SystemEvent::ChatRenamed,
                user_ids: None,
                title: Some(record.title.clone()),
                text: format!("renamed the group to {}", record.title),
                removed: None,
            };
            self.commit_change(&editor, change).await?;
        }
        if described {
            let change = SystemChange {
                record,
                members: self.members.clone(),
                event: SystemEvent::ChatDescribed,
                user_ids: None,
                title: None,
                text: "changed the description".to_owned(),
                removed: None,
            };
            self.commit_change(&editor, change).await?;
        }
        Ok(())
    }
}
