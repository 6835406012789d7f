//! A user's public profile: display name, avatar and status text, which the
//! user may change from whichever region they are connected to.

use super::text_fields::TextFieldsDoc;

/// Marks a [`TextFieldsDoc`] as a user's profile.
#[derive(Debug, Clone, Copy)]
pub struct ProfileFields;

/// A user's display name, avatar and status text as an automerge document.
pub type Profile = TextFieldsDoc<ProfileFields>;

impl TextFieldsDoc<ProfileFields> {
    /// The name shown for the user.
    pub fn display_name(&self) -> String {
        self.field("display_name")
    }

    /// Changes the name shown for the user.
    pub fn set_display_name(&mut self, display_name: &str) {
        self.set_field("display_name", display_name);
    }

    /// The user's avatar (a media reference).
    pub fn avatar(&self) -> String {
        self.field("avatar")
    }

    /// Changes the user's avatar.
    pub fn set_avatar(&mut self, avatar: &str) {
        self.set_field("avatar", avatar);
    }

    /// The user's status line.
    pub fn status_text(&self) -> String {
        self.field("status_text")
    }

    /// Changes the user's status line.
    pub fn set_status_text(&mut self, status_text: &str) {
        self.set_field("status_text", status_text);
    }
}
