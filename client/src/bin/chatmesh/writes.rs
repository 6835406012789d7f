//! `send` (with `--reply-to`), `edit`, `delete` and `react`: a user's
//! writes to a chat over HTTP, each printing the `seq` of its entry.
//! Transport failures are retried with the same `client_msg_id`, which the
//! server deduplicates, so a retry cannot write twice.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use client::ClientError;
use protocol::chats::SendStatus;

use crate::saved::with_session;

/// What to write.
#[derive(Debug, Clone)]
pub enum Write {
    /// A text message, maybe answering another.
    Text {
        /// The text.
        text: String,
        /// The message answered.
        reply_to: Option<u64>,
    },
    /// A new text for one of your messages.
    Edit {
        /// The message.
        seq: u64,
        /// The new text.
        text: String,
    },
    /// Delete a message for everyone.
    Delete {
        /// The message.
        seq: u64,
    },
    /// Add or remove a reaction.
    React {
        /// The message.
        seq: u64,
        /// One emoji.
        emoji: String,
        /// Add, or remove.
        on: bool,
    },
}

/// Writes `write` to `chat_id` and prints the outcome.
pub async fn write(
    dir: &Path,
    chat_id: &str,
    write: Write,
    client_msg_id: Option<String>,
) -> anyhow::Result<()> {
    let client_msg_id = client_msg_id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let mut attempt = 0;
    let answer = loop {
        let result = with_session(dir, |client| {
            let (chat, key, write) = (chat_id.to_owned(), client_msg_id.clone(), write.clone());
            async move {
                match write {
                    Write::Text { text, reply_to } => {
                        client.send_reply(&chat, &key, &text, reply_to).await
                    }
                    Write::Edit { seq, text } => client.edit_message(&chat, seq, &key, &text).await,
                    Write::Delete { seq } => client.delete_message(&chat, seq, &key).await,
                    Write::React { seq, emoji, on } => {
                        client.react(&chat, seq, &key, &emoji, on).await
                    }
                }
            }
        })
        .await;
        match result {
            Err(e) if attempt < 3 && is_transport(&e) => {
                attempt += 1;
                eprintln!("write failed ({e}); retrying as {client_msg_id}");
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            other => break other.context("write to the chat")?,
        }
    };
    match answer.status {
        SendStatus::Sent => println!("sent seq {} hlc {}", answer.seq, answer.hlc),
        SendStatus::Accepted => println!(
            "accepted (the chat's home region is unreachable; the seq follows) id {}",
            answer.client_msg_id
        ),
    }
    Ok(())
}

fn is_transport(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<ClientError>(),
        Some(ClientError::Transport(_))
    )
}
