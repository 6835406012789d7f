//! Records that regions keep and replicate: a chat's record and its
//! members, a member's receipt marks, and the account records of the
//! account log. They are stored as they travel, so a replica stores what
//! its home shipped without translating it.

use serde::{Deserialize, Serialize};

use crate::chats::{ChatKind, Role};
use crate::hlc::Hlc;

/// A chat's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRecord {
    /// Opaque id, `c_…`.
    pub chat_id: String,
    /// Direct or group.
    pub kind: ChatKind,
    /// Group title.
    pub title: String,
    /// Group description.
    pub description: String,
    /// Region that sequences the chat.
    pub home_region: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Set once the owner deleted the group.
    #[serde(default)]
    pub deleted: bool,
}

/// A member, or a former member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The user.
    pub user_id: String,
    /// Role while a member.
    pub role: Role,
    /// `seq` of the message that added them (0 for direct chats).
    pub joined_seq: u64,
    /// `seq` of the message that removed them; they may read up to it.
    #[serde(default)]
    pub removed_seq: Option<u64>,
    /// Earlier spells of membership of a user added back after a removal,
    /// oldest first: entries of those spells went to them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<Spell>,
}

/// One spell of membership: added at `joined_seq`, removed at `removed_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spell {
    /// `seq` of the message that added them.
    pub joined_seq: u64,
    /// `seq` of the message that removed them.
    pub removed_seq: u64,
}

impl MemberRecord {
    /// Whether they are a current member.
    pub fn is_current(&self) -> bool {
        self.removed_seq.is_none()
    }

    /// The highest `seq` they may read, `None` meaning no limit.
    pub fn read_limit(&self) -> Option<u64> {
        self.removed_seq
    }
}

/// A chat's record and every member record (current and former), as the
/// home holds them after an entry that changed the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatState {
    /// The record.
    pub chat: ChatRecord,
    /// The members.
    pub members: Vec<MemberRecord>,
}

/// A member's delivered and read marks; both only ever grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    /// Highest `seq` delivered to any of the user's devices.
    pub delivered_seq: u64,
    /// Highest `seq` the user has read.
    pub read_seq: u64,
}

impl Marks {
    /// Merges another observation: each mark takes the maximum, and read
    /// implies delivered.
    #[must_use]
    pub fn merge(self, delivered: u64, read: u64) -> Self {
        let read_seq = self.read_seq.max(read);
        Self {
            delivered_seq: self.delivered_seq.max(delivered).max(read_seq),
            read_seq,
        }
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Opaque id, `u_…`.
    pub user_id: String,
    /// Unique login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// The region the account was registered in (empty in records written
    /// before regions recorded it: a replica fills in the region whose
    /// account log brought the record).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home_region: String,
    /// When the account was deleted (ms since the Unix epoch): the record
    /// then keeps only its id and username (held from others for a while),
    /// and nobody can log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<u64>,
}

/// A last-writer-wins register of a user's own settings (a contact, a
/// block, a chat's mute): the write with the greater clock wins in every
/// region, whatever order writes arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// The value: 1/0 for contacts and blocks (set or not), the mute's end
    /// in ms for mutes (0 = not muted).
    pub value: u64,
    /// When it was written, by the writing region's clock.
    pub at: Hlc,
}

/// Which of a user's settings an account event sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// `target` (a user) is among the user's contacts.
    Contact,
    /// `target` (a user) is blocked by the user.
    Block,
    /// The user muted chat `target`.
    Mute,
}

/// A logged-in device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Opaque id, `d_…`.
    pub device_id: String,
    /// Name given at login.
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Last login or refresh, milliseconds since the Unix epoch.
    pub last_active_at: u64,
}

/// One account change, as an account log entry's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AccountEvent {
    /// A user registered; the whole record, password hash included, so
    /// every region can check the password.
    UserCreated {
        /// The record as the registering region wrote it.
        user: UserRecord,
    },
    /// A device logged in.
    DeviceCreated {
        /// Its user.
        user_id: String,
        /// The record as the login region wrote it.
        device: DeviceRecord,
    },
    /// A device logged out or was revoked; it stays revoked everywhere.
    DeviceRevoked {
        /// Its user.
        user_id: String,
        /// The device.
        device_id: String,
        /// Milliseconds since the Unix epoch.
        revoked_at: u64,
    },
    /// One of a user's settings was written (last writer wins by `at`).
    SettingChanged {
        /// Whose.
        user_id: String,
        /// Which setting.
        kind: SettingKind,
        /// The user or chat it is about.
        target: String,
        /// The new value and its clock.
        setting: Setting,
    },
    /// The user deleted their account: every device is revoked, the
    /// profile erased, and the username held from others for a while.
    UserDeleted {
        /// Who.
        user_id: String,
        /// Milliseconds since the Unix epoch.
        deleted_at: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_never_go_backwards() {
        let m = Marks::default().merge(5, 3);
        assert_eq!(
            m,
            Marks {
                delivered_seq: 5,
                read_seq: 3
            }
        );
        let m = m.merge(2, 1);
        assert_eq!(
            m,
            Marks {
                delivered_seq: 5,
                read_seq: 3
            }
        );
        let m = m.merge(0, 9);
        assert_eq!(
            m,
            Marks {
                delivered_seq: 9,
                read_seq: 9
            }
        );
    }
}
