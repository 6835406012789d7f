//! `profile`, `contacts`, `blocks`, `role`, `mute` and `delete-account`.

use std::path::Path;

use anyhow::Context as _;
use client::Client;
use protocol::chats::Role;
use protocol::users::{UpdateProfileRequest, UserProfile};

use crate::names::resolve_user;
use crate::saved::with_session;

/// Edits the profile when a field is given; prints it.
pub async fn profile(dir: &Path, update: UpdateProfileRequest) -> anyhow::Result<()> {
    let nothing = update == UpdateProfileRequest::default();
    let shown = with_session(dir, |client| {
        let update = update.clone();
        async move {
            if nothing {
                let me = client.me().await?;
                client.user(&me.user_id).await
            } else {
                client.update_profile(&update).await
            }
        }
    })
    .await
    .context("profile")?;
    println!("{}", line(&shown));
    Ok(())
}

fn line(p: &UserProfile) -> String {
    if p.deleted {
        return format!("{}  (deleted account)", p.user_id);
    }
    let mut out = format!("{}  {} ({})", p.user_id, p.username, p.display_name);
    if !p.status_text.is_empty() {
        out.push_str(&format!("  \"{}\"", p.status_text));
    }
    if !p.avatar_media_id.is_empty() {
        out.push_str(&format!("  avatar {}", p.avatar_media_id));
    }
    out
}

/// Which list a people command edits.
#[derive(Clone, Copy)]
pub enum List {
    /// `contacts`.
    Contacts,
    /// `blocks`.
    Blocks,
}

/// Adds or removes `user` (a username or id) when asked; prints the list.
pub async fn list(
    dir: &Path,
    which: List,
    add: Option<String>,
    remove: Option<String>,
) -> anyhow::Result<()> {
    let lines = with_session(dir, |client| {
        let (add, remove) = (add.clone(), remove.clone());
        async move {
            if let Some(who) = add {
                let id = resolve_user(&client, &who).await?;
                match which {
                    List::Contacts => client.add_contact(&id).await?,
                    List::Blocks => client.block(&id).await?,
                }
            }
            if let Some(who) = remove {
                let id = resolve_user(&client, &who).await?;
                match which {
                    List::Contacts => client.remove_contact(&id).await?,
                    List::Blocks => client.unblock(&id).await?,
                }
            }
            shown(&client, which).await
        }
    })
    .await
    .context("people")?;
    if lines.is_empty() {
        println!("nobody");
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

async fn shown(client: &Client, which: List) -> Result<Vec<String>, client::ClientError> {
    Ok(match which {
        List::Contacts => client
            .contacts()
            .await?
            .iter()
            .map(|c| {
                let state = if c.online {
                    "online".to_owned()
                } else {
                    format!("last seen {}", c.last_seen)
                };
                format!("{}  {state}", line(&c.profile))
            })
            .collect(),
        List::Blocks => client.blocks().await?.iter().map(line).collect(),
    })
}

/// Gives `user` `role` in `chat` (the owner only).
pub async fn role(dir: &Path, chat: &str, user: &str, role: Role) -> anyhow::Result<()> {
    let chat = with_session(dir, |client| async move {
        let id = resolve_user(&client, user).await?;
        client.set_role(chat, &id, role).await
    })
    .await
    .context("change role")?;
    for m in chat.members {
        println!("{}  {:?}", m.user_id, m.role);
    }
    Ok(())
}

/// Mutes `chat` for `minutes` (0 unmutes).
pub async fn mute(dir: &Path, chat: &str, minutes: u64) -> anyhow::Result<()> {
    let until = if minutes == 0 {
        0
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("clock before 1970")?;
        u64::try_from(now.as_millis())?.saturating_add(minutes.saturating_mul(60_000))
    };
    let settings = with_session(dir, |client| async move { client.mute(chat, until).await })
        .await
        .context("mute")?;
    if settings.muted_until == 0 {
        println!("{chat} unmuted");
    } else {
        println!("{chat} muted until {} (ms)", settings.muted_until);
    }
    Ok(())
}

/// Deletes the account and forgets the saved login.
pub async fn delete_account(dir: &Path, password: &str) -> anyhow::Result<()> {
    with_session(dir, |client| async move {
        client.delete_account(password).await
    })
    .await
    .context("delete account")?;
    std::fs::remove_file(client::session::Session::path(dir)).context("remove session file")?;
    println!("account deleted");
    Ok(())
}
