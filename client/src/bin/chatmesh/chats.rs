//! `chats`, `send`, `create-group` and `direct`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use client::ClientError;
use protocol::chats::{Chat, ChatKind, Message, MessageKind, SendStatus};

use crate::names::{Names, resolve_user};
use crate::saved::with_session;

/// Lists the caller's chats with their unread counts.
pub async fn list(dir: &Path) -> anyhow::Result<()> {
    let chats = with_session(dir, |client| async move { client.chats().await })
        .await
        .context("list chats")?;
    if chats.is_empty() {
        println!("no chats yet");
        return Ok(());
    }
    let mut names = Names::new(dir.to_owned());
    for chat in chats {
        let label = match chat.kind {
            ChatKind::Group => format!("{} ({} members)", chat.title, chat.members_count),
            ChatKind::Direct => "direct".to_owned(),
        };
        let last = match &chat.last_message {
            Some(message) => format!("  {}", preview(message, &mut names).await),
            None => String::new(),
        };
        println!("{}  unread {:>4}  {label}{last}", chat.chat_id, chat.unread);
    }
    Ok(())
}

async fn preview(message: &Message, names: &mut Names) -> String {
    let text: String = one_line(&message.text).chars().take(60).collect();
    match message.kind {
        MessageKind::System => format!("#{} * {text}", message.seq),
        MessageKind::Text => {
            let sender = names.name(&message.sender_id).await;
            format!("#{} {sender}: {text}", message.seq)
        }
    }
}

/// Message text on one line: newlines and carriage returns escaped.
pub fn one_line(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Sends `text` to `chat_id` over HTTP and prints its `seq`. Transport
/// failures are retried with the same `client_msg_id`, which the server
/// deduplicates, so a retry cannot post the message twice.
pub async fn send(
    dir: &Path,
    chat_id: &str,
    text: &str,
    client_msg_id: Option<String>,
) -> anyhow::Result<()> {
    let client_msg_id = client_msg_id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let mut attempt = 0;
    let answer = loop {
        let result = with_session(dir, |client| {
            let (chat_id, client_msg_id, text) =
                (chat_id.to_owned(), client_msg_id.clone(), text.to_owned());
            async move { client.send_message(&chat_id, &client_msg_id, &text).await }
        })
        .await;
        match result {
            Err(e) if attempt < 3 && is_transport(&e) => {
                attempt += 1;
                eprintln!("send failed ({e}); retrying as {client_msg_id}");
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            other => break other.context("send message")?,
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

/// Creates a group with the given members (usernames or user ids).
pub async fn create_group(
    dir: &Path,
    title: &str,
    members: &[String],
    description: Option<&str>,
) -> anyhow::Result<()> {
    let chat = with_session(dir, |client| async move {
        let mut ids = Vec::with_capacity(members.len());
        for member in members {
            ids.push(resolve_user(&client, member).await?);
        }
        client.create_group(title, &ids, description).await
    })
    .await
    .context("create group")?;
    print_chat(&chat);
    Ok(())
}

/// Opens (or finds) the direct chat with `user` (a username or user id).
pub async fn direct(dir: &Path, user: &str) -> anyhow::Result<()> {
    let chat = with_session(dir, |client| async move {
        let peer = resolve_user(&client, user).await?;
        client.create_direct(&peer).await
    })
    .await
    .context("open direct chat")?;
    print_chat(&chat);
    Ok(())
}

fn print_chat(chat: &Chat) {
    let kind = match chat.kind {
        ChatKind::Direct => "direct chat",
        ChatKind::Group => "group",
    };
    println!(
        "{kind} {} in {} with {} members, last seq {}",
        chat.chat_id,
        chat.home_region,
        chat.members.len(),
        chat.last_seq
    );
}
