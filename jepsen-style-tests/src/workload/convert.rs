//! The history's shapes of what the SDK answers: messages (with their
//! folded state) and chat metadata.

use protocol::chats::{Chat, Message};

use crate::history::{Meta, Msg};

/// A serde enum's wire name (`text`, `member_added`, …).
fn wire_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => format!("{other:?}"),
    }
}

/// A message as the history records it.
pub fn msg(message: &Message) -> Msg {
    Msg {
        seq: message.seq,
        hlc: message.hlc.to_string(),
        sender: message.sender_id.clone(),
        client_msg_id: message.client_msg_id.clone(),
        kind: wire_name(&message.kind),
        event: message.event.as_ref().map(wire_name),
        user_ids: message.user_ids.clone(),
        text: message.text.clone(),
        target_seq: message.target_seq,
        emoji: message.emoji.clone(),
        on: message.on,
        history: message.history.iter().map(|r| r.text.clone()).collect(),
        deleted: message.deleted,
        reactions: message.reactions.clone(),
    }
}

/// A chat's metadata as the history records it.
pub fn meta(chat: &Chat) -> Meta {
    Meta {
        chat: chat.chat_id.clone(),
        title: chat.title.clone(),
        description: chat.description.clone(),
        home: Some(chat.home_region.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Hlc;
    use protocol::chats::{MessageKind, SystemEvent};

    #[test]
    fn messages_keep_their_identity_in_wire_form() {
        let message = Message {
            chat_id: "c_1".into(),
            seq: 4,
            hlc: Hlc::new(1_700_000_000_000, 3),
            sender_id: "u_1".into(),
            client_msg_id: "system-4".into(),
            kind: MessageKind::System,
            text: "added u_2".into(),
            event: Some(SystemEvent::MemberAdded),
            user_ids: Some(vec!["u_2".into()]),
            title: None,
            sent_at: 1_700_000_000_000,
            ..Default::default()
        };
        let m = msg(&message);
        assert_eq!(m.seq, 4);
        assert_eq!(m.kind, "system");
        assert_eq!(m.event.as_deref(), Some("member_added"));
        assert_eq!(m.hlc, Hlc::new(1_700_000_000_000, 3).to_string());
        assert_eq!(m.hlc_value(), Some(Hlc::new(1_700_000_000_000, 3).0));
        assert_eq!(m.user_ids, Some(vec!["u_2".to_owned()]));
    }
}
