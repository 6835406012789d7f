//! Accounts and chats spread over a mesh: every user registers at the home
//! region (so the home knows them when a chat is created there), devices log
//! in wherever they will connect, and a run waits until the receivers'
//! region holds a replica of every chat before any load starts.
//!
//! A login in another region than the one that registered the account
//! fails until the account has replicated there, so logins retry for a
//! while; that wait is set-up, never measured.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use client::{Client, ClientError};
use futures::{StreamExt as _, TryStreamExt as _};

/// Requests in flight while setting up.
const CONCURRENCY: usize = 64;
const PASSWORD: &str = "bench-password";
/// How long a login waits for its account to reach the region, and a
/// receiver for its chats.
const REPLICATION_WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Receiving users, registered at the home and logged in elsewhere.
pub struct Receivers {
    /// Their user ids, in order.
    pub user_ids: Vec<String>,
    /// One access token per user, for a device in the receivers' region.
    pub tokens: Vec<String>,
}

/// Registers `n` users `{prefix}r{i}` at `home` and logs each in once at
/// `at`.
pub async fn receivers(home: &str, at: &str, prefix: &str, n: usize) -> Result<Receivers> {
    let home = Client::new(home)?;
    let there = Client::new(at)?;
    let pairs: Vec<(String, String)> = futures::stream::iter(0..n)
        .map(|i| {
            let (home, there) = (home.clone(), there.clone());
            let name = format!("{prefix}r{i}");
            async move {
                let user_id = register(&home, &name).await?;
                let token = login(&there, &name).await?;
                Ok::<_, anyhow::Error>((user_id, token))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let (user_ids, tokens) = pairs.into_iter().unzip();
    Ok(Receivers { user_ids, tokens })
}

/// Creates `n` groups at `home`, group `i` owned by its own sender user
/// `{prefix}s{i}` with receiver `i % receivers.len()` as the other member;
/// answers, per group, a token of its sender's device logged in at
/// `sender_at` and the chat id (the pairs [`crate::load::Senders`] takes).
pub async fn chats(
    home: &str,
    sender_at: &str,
    prefix: &str,
    n: usize,
    receivers: &[String],
) -> Result<Vec<(String, String)>> {
    if receivers.is_empty() {
        bail!("chats need at least one receiver");
    }
    let home = Client::new(home)?;
    let there = Client::new(sender_at)?;
    futures::stream::iter(0..n)
        .map(|i| {
            let (home, there) = (home.clone(), there.clone());
            let name = format!("{prefix}s{i}");
            let member = receivers[i % receivers.len()].clone();
            async move {
                register(&home, &name).await?;
                let owner = login(&home, &name).await?;
                let chat = home
                    .with_token(&owner)
                    .create_group(&format!("mesh bench {i}"), &[member], None)
                    .await
                    .with_context(|| format!("create chat {i}"))?;
                // A sender at the home sends from the device that created
                // the chat; elsewhere it logs in there.
                let token = if there.base_url() == home.base_url() {
                    owner
                } else {
                    login(&there, &name).await?
                };
                Ok::<_, anyhow::Error>((token, chat.chat_id))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// Waits until each receiver, asking its own region with `tokens[i]`, is a
/// member of at least `expected[i]` chats there.
pub async fn wait_replicated(at: &str, tokens: &[String], expected: &[usize]) -> Result<()> {
    let there = Client::new(at)?;
    futures::stream::iter(tokens.iter().zip(expected))
        .map(|(token, &want)| {
            let client = there.with_token(token);
            async move {
                let deadline = tokio::time::Instant::now() + REPLICATION_WAIT;
                loop {
                    let have = client
                        .chats()
                        .await
                        .context("list a receiver's chats")?
                        .len();
                    if have >= want {
                        return Ok::<_, anyhow::Error>(());
                    }
                    if tokio::time::Instant::now() > deadline {
                        bail!("a receiver sees {have} of its {want} chats at {at}");
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// How many of `chats` groups (made by [`chats`]) each of `receivers`
/// receivers is a member of.
pub fn chats_per_receiver(chats: usize, receivers: usize) -> Vec<usize> {
    (0..receivers)
        .map(|r| chats / receivers + usize::from(r < chats % receivers))
        .collect()
}

async fn register(client: &Client, name: &str) -> Result<String> {
    client
        .register(name, PASSWORD, None)
        .await
        .with_context(|| format!("register {name} at {}", client.base_url()))
}

/// Logs `name` in at the client's region, retrying while the account has
/// not reached it yet (`401`); answers the access token.
async fn login(client: &Client, name: &str) -> Result<String> {
    let deadline = tokio::time::Instant::now() + REPLICATION_WAIT;
    loop {
        match client.login(name, PASSWORD, Some("mesh-bench")).await {
            Ok(tokens) => return Ok(tokens.access_token),
            Err(error @ ClientError::Api { status: 401, .. }) => {
                if tokio::time::Instant::now() > deadline {
                    return Err(error)
                        .with_context(|| format!("log {name} in at {}", client.base_url()));
                }
                tokio::time::sleep(POLL).await;
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("log {name} in at {}", client.base_url()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_share_the_chats_round_robin() {
        assert_eq!(chats_per_receiver(10, 3), vec![4, 3, 3]);
        assert_eq!(chats_per_receiver(6, 3), vec![2, 2, 2]);
        assert_eq!(chats_per_receiver(2, 3), vec![1, 1, 0]);
    }
}
