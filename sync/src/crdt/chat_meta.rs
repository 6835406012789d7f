//! The editable metadata of a group chat: title, description and avatar,
//! which members may change from any region.

use super::text_fields::TextFieldsDoc;

/// Marks a [`TextFieldsDoc`] as a chat's metadata.
#[derive(Debug, Clone, Copy)]
pub struct ChatMetaFields;

/// A group chat's title, description and avatar as an automerge document.
pub type ChatMeta = TextFieldsDoc<ChatMetaFields>;

impl TextFieldsDoc<ChatMetaFields> {
    /// The chat's title.
    pub fn title(&self) -> String {
        self.field("title")
    }

    /// Renames the chat.
    pub fn set_title(&mut self, title: &str) {
        self.set_field("title", title);
    }

    /// The chat's description.
    pub fn description(&self) -> String {
        self.field("description")
    }

    /// Changes the chat's description.
    pub fn set_description(&mut self, description: &str) {
        self.set_field("description", description);
    }

    /// The chat's avatar (a media reference).
    pub fn avatar(&self) -> String {
        self.field("avatar")
    }

    /// Changes the chat's avatar.
    pub fn set_avatar(&mut self, avatar: &str) {
        self.set_field("avatar", avatar);
    }
}
