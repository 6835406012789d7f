//! A group's title and description come from its metadata document, which
//! any region may edit and every region merges. The core takes the merged
//! values in: at the home, a changed title or description becomes a
//! `chat_renamed` / `chat_described` system message naming the last
//! editor, so the change has its place in the chat's order; a replica (or
//! a deleted chat) only updates its record and shows the chat.

use protocol::chats::SystemEvent;

use crate::ChatError;
use crate::change::SystemChange;
use crate::core::ChatCore;
use crate::io::{MetaFields, Reply};

impl ChatCore {
    pub(crate) fn take_meta(&mut self, fields: MetaFields) -> Result<Reply, ChatError> {
        self.meta = Some(fields.clone());
        let current = self.record()?.clone();
        let mut record = current.clone();
        fields.overlay(&mut record);
        let renamed = record.title != current.title;
        let described = record.description != current.description;
        if !renamed && !described {
            return self.chat_reply();
        }
        if !self.is_home() || current.deleted {
            self.put_record(record);
            self.broadcast_chat(None);
            return self.chat_reply();
        }
        if renamed {
            let mut renamed_record = current;
            renamed_record.title.clone_from(&record.title);
            self.put_record(renamed_record);
            self.commit_change(
                &fields.editor,
                SystemChange {
                    event: SystemEvent::ChatRenamed,
                    user_ids: None,
                    title: Some(record.title.clone()),
                    text: format!("renamed the group to {}", record.title),
                    removed: None,
                },
            );
        }
        if described {
            self.put_record(record);
            self.commit_change(
                &fields.editor,
                SystemChange {
                    event: SystemEvent::ChatDescribed,
                    user_ids: None,
                    title: None,
                    text: "changed the description".to_owned(),
                    removed: None,
                },
            );
        }
        self.chat_reply()
    }
}
