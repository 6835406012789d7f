//! Roles in a group, changed by its owner alone: granting and revoking
//! `admin`, and handing the group to another member (the old owner stays
//! on as an admin). Each change is a system message — `admin_granted`,
//! `admin_revoked` or `owner_changed`, naming the member in `user_ids` —
//! through the same path as every other change, so it has its own `seq`,
//! reaches the members at that `seq` and replicates with the chat's state.
//!
//! Admins may rename and describe the group and add members; they may
//! remove plain members (the owner may remove anyone). A role that is
//! already the member's is no change and writes nothing.

use protocol::chats::{Role, SystemEvent};
use protocol::records::MemberRecord;

use crate::ChatError;
use crate::change::SystemChange;
use crate::core::ChatCore;

impl ChatCore {
    /// Gives `target` `role` on behalf of the owner `owner`, as the next
    /// change; `None` when nothing changes. The caller has checked that
    /// `owner` owns the group.
    pub(crate) fn set_role(
        &mut self,
        owner: &str,
        target: &str,
        role: Role,
    ) -> Result<Option<SystemChange>, ChatError> {
        let member = self
            .members
            .get(target)
            .filter(|m| m.is_current())
            .cloned()
            .ok_or_else(|| ChatError::NotFound("not a member of this chat".into()))?;
        if target == owner {
            return Err(ChatError::Invalid(
                "the owner keeps their role until they hand the group to another member".into(),
            ));
        }
        if member.role == role {
            return Ok(None);
        }
        let event = match role {
            Role::Owner => {
                if let Some(old) = self.members.get(owner).cloned() {
                    self.put_member(MemberRecord {
                        role: Role::Admin,
                        ..old
                    });
                }
                SystemEvent::OwnerChanged
            }
            Role::Admin => SystemEvent::AdminGranted,
            Role::Member => SystemEvent::AdminRevoked,
        };
        self.put_member(MemberRecord { role, ..member });
        let text = match event {
            SystemEvent::OwnerChanged => format!("made {target} the owner"),
            SystemEvent::AdminGranted => format!("made {target} an admin"),
            _ => format!("made {target} a member"),
        };
        Ok(Some(SystemChange {
            event,
            user_ids: Some(vec![target.to_owned()]),
            title: None,
            text,
            removed: None,
        }))
    }
}
