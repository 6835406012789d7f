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

    /// The title, `None` if no edit ever set it (the chat keeps the title
    /// it was created with).
    pub fn title_if_set(&self) -> Option<String> {
        self.field_if_set("title")
    }

    /// The description, `None` if no edit ever set it.
    pub fn description_if_set(&self) -> Option<String> {
        self.field_if_set("description")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_no_one_set_is_told_apart_from_an_empty_one() {
        let mut doc = ChatMeta::new().with_actor("eu-west");
        assert_eq!(doc.title_if_set(), None);
        assert_eq!(doc.description_if_set(), None);
        doc.set_description("");
        assert_eq!(doc.description_if_set(), Some(String::new()));
        assert_eq!(doc.title_if_set(), None);
    }

    #[test]
    fn documents_started_apart_converge_on_one_title() {
        let mut a = ChatMeta::new().with_actor("eu-west");
        let mut b = ChatMeta::new().with_actor("us-east");
        a.set_title("from eu");
        b.set_title("from us");
        b.set_description("only us described it");
        let mut a2 = a.clone();
        let mut b2 = b.clone();
        a.merge(&mut b2).expect("merge");
        b.merge(&mut a2).expect("merge");
        assert_eq!(a.title(), b.title());
        assert_eq!(
            a.description_if_set().as_deref(),
            Some("only us described it")
        );
        assert_eq!(
            b.description_if_set().as_deref(),
            Some("only us described it")
        );
    }
}
