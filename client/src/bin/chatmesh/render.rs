//! One message as the CLI prints it: its text (on one line) with what
//! folded into it — a reply's target, `(edited)`, `[deleted]`, reactions —
//! or what an action entry did.

use protocol::chats::{Message, MessageKind};

/// What `message` says, on one line.
pub fn describe(message: &Message) -> String {
    let target = message
        .target_seq
        .map_or_else(String::new, |seq| format!("#{seq}"));
    match message.kind {
        MessageKind::Edit => format!("edited {target}: {}", one_line(&message.text)),
        MessageKind::Delete => format!("deleted {target}"),
        MessageKind::Reaction => {
            let emoji = message.emoji.as_deref().unwrap_or("?");
            if message.on == Some(false) {
                format!("removed {emoji} from {target}")
            } else {
                format!("reacted {emoji} to {target}")
            }
        }
        MessageKind::Text | MessageKind::System => {
            let mut line = String::new();
            if let Some(seq) = message.reply_to {
                line.push_str(&format!("(re #{seq}) "));
            }
            if message.deleted {
                line.push_str("[deleted]");
            } else {
                line.push_str(&one_line(&message.text));
            }
            if message.edited_at.is_some() {
                line.push_str(" (edited)");
            }
            for (emoji, users) in &message.reactions {
                line.push_str(&format!(" [{emoji} {}]", users.len()));
            }
            line
        }
    }
}

/// Message text on one line: newlines and carriage returns escaped.
pub fn one_line(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_state_and_actions_read_on_one_line() {
        let mut message = Message {
            seq: 3,
            text: "hi\nthere".into(),
            reply_to: Some(1),
            edited_at: Some(5),
            ..Message::default()
        };
        message
            .reactions
            .insert("👍".into(), vec!["u1".into(), "u2".into()]);
        assert_eq!(describe(&message), "(re #1) hi\\nthere (edited) [👍 2]");
        let reaction = Message {
            kind: MessageKind::Reaction,
            target_seq: Some(3),
            emoji: Some("🎉".into()),
            on: Some(false),
            ..Message::default()
        };
        assert_eq!(describe(&reaction), "removed 🎉 from #3");
        let deleted = Message {
            deleted: true,
            ..Message::default()
        };
        assert_eq!(describe(&deleted), "[deleted]");
    }
}
