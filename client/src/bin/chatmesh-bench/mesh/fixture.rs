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

/// Accounts and chats of a run, ready to connect.
pub struct Layout {
    /// One token per receiving user, for a device in the receivers' region.
    pub receivers: Vec<String>,
    /// Per sender set: a sender device's token and its chat, per chat.
    pub sets: Vec<Vec<(String, String)>>,
}

/// A sender set to create: `chats` chats homed at the home region, their
/// senders logged in at `sender_at`.
pub struct SetSpec<'a> {
    /// Chats, each with its own sender user.
    pub chats: usize,
    /// Base URL of the region the senders connect to.
    pub sender_at: &'a str,
}

/// Registers every user at `home` (receivers `{prefix}r{i}`, senders of set
/// `k` `{prefix}s{k}_{i}`), creates every chat there (owned by its sender,
/// with a receiver as the other member, round robin), logs senders in where
/// they send from and receivers in at `far`, and waits until `far` holds
/// every chat.
pub async fn layout(
    home: &str,
    far: &str,
    prefix: &str,
    receivers: usize,
    sets: &[SetSpec<'_>],
) -> Result<Layout> {
    let receiver_names = names(&format!("{prefix}r"), receivers);
    let set_names: Vec<Vec<String>> = sets
        .iter()
        .enumerate()
        .map(|(k, set)| names(&format!("{prefix}s{k}_"), set.chats))
        .collect();
    let receiver_ids = register_all(home, &receiver_names).await?;
    for names in &set_names {
        register_all(home, names).await?;
    }
    let mut built = Vec::new();
    for (set, names) in sets.iter().zip(&set_names) {
        let owners = login_all(home, names).await?;
        let chats = groups(home, &owners, &receiver_ids).await?;
        // A sender at the home sends from the device that made the chat.
        let tokens = if set.sender_at == home {
            owners
        } else {
            login_all(set.sender_at, names).await?
        };
        built.push(tokens.into_iter().zip(chats).collect());
    }
    let tokens = login_all(far, &receiver_names).await?;
    let mut expected = vec![0; receivers];
    for set in sets {
        for (total, n) in expected
            .iter_mut()
            .zip(chats_per_receiver(set.chats, receivers))
        {
            *total += n;
        }
    }
    wait_replicated(far, &tokens, &expected).await?;
    Ok(Layout {
        receivers: tokens,
        sets: built,
    })
}

/// Registers one user per name at `home`; answers their ids, in order.
async fn register_all(home: &str, names: &[String]) -> Result<Vec<String>> {
    let home = Client::new(home)?;
    futures::stream::iter(names)
        .map(|name| {
            let home = home.clone();
            async move {
                home.register(name, PASSWORD, None)
                    .await
                    .with_context(|| format!("register {name} at {}", home.base_url()))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// Logs each user in once at `at` (a new device); answers the access
/// tokens, in order. Register everyone first: a login elsewhere than the
/// home waits for its account to replicate.
async fn login_all(at: &str, names: &[String]) -> Result<Vec<String>> {
    let there = Client::new(at)?;
    futures::stream::iter(names)
        .map(|name| login(&there, name))
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// Creates one group at `home` per owner token, group `i` with receiver
/// `i % receivers.len()` as its other member; answers the chat ids.
async fn groups(home: &str, owners: &[String], receivers: &[String]) -> Result<Vec<String>> {
    if receivers.is_empty() {
        bail!("groups need at least one receiver");
    }
    let home = Client::new(home)?;
    futures::stream::iter(owners.iter().enumerate())
        .map(|(i, owner)| {
            let client = home.with_token(owner);
            let member = receivers[i % receivers.len()].clone();
            async move {
                let chat = client
                    .create_group(&format!("mesh bench {i}"), &[member], None)
                    .await
                    .with_context(|| format!("create chat {i}"))?;
                Ok::<_, anyhow::Error>(chat.chat_id)
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// `{prefix}{i}` for `i` in `0..n`.
fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Waits until each receiver, asking its own region with `tokens[i]`, is a
/// member of at least `expected[i]` chats there.
async fn wait_replicated(at: &str, tokens: &[String], expected: &[usize]) -> Result<()> {
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

/// How many of `chats` groups (made by [`groups`]) each of `receivers`
/// receivers is a member of.
fn chats_per_receiver(chats: usize, receivers: usize) -> Vec<usize> {
    (0..receivers)
        .map(|r| chats / receivers + usize::from(r < chats % receivers))
        .collect()
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
