//! `chats`, `create-group` and `direct`.

use std::path::Path;

use anyhow::Context as _;
use protocol::chats::{Chat, ChatKind, Message, MessageKind};

use crate::names::{Names, resolve_user};
use crate::render::describe;
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
    let text: String = describe(message).chars().take(60).collect();
    if message.kind == MessageKind::System {
        return format!("#{} * {text}", message.seq);
    }
    let sender = names.name(&message.sender_id).await;
    format!("#{} {sender}: {text}", message.seq)
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
