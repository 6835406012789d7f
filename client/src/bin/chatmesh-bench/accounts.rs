//! Creating users and devices in bulk, with bounded concurrency.

use anyhow::{Context as _, Result};
use client::Client;
use futures::{StreamExt as _, TryStreamExt as _};

/// A logged-in device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its user.
    pub user_id: String,
    /// Its access token.
    pub token: String,
}

/// Requests in flight while setting up.
const CONCURRENCY: usize = 64;
const PASSWORD: &str = "bench-password";

/// Registers `users` users named `{prefix}{i}` and logs each in
/// `devices_per_user` times; devices come back grouped by user, in order.
pub async fn devices(
    base: &str,
    prefix: &str,
    users: usize,
    devices_per_user: usize,
) -> Result<Vec<Vec<Device>>> {
    let client = Client::new(base)?;
    futures::stream::iter(0..users)
        .map(|i| {
            let client = client.clone();
            let name = format!("{prefix}{i}");
            async move {
                let user_id = client
                    .register(&name, PASSWORD, None)
                    .await
                    .with_context(|| format!("register {name}"))?;
                let mut devices = Vec::with_capacity(devices_per_user);
                for d in 0..devices_per_user {
                    let tokens = client
                        .login(&name, PASSWORD, Some(&format!("bench-{d}")))
                        .await
                        .with_context(|| format!("log in {name}"))?;
                    devices.push(Device {
                        user_id: user_id.clone(),
                        token: tokens.access_token,
                    });
                }
                Ok::<_, anyhow::Error>(devices)
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// A name prefix unique to this run, so runs against one region don't clash.
pub fn run_prefix(scenario: &str) -> String {
    let nonce: u32 = rand::random();
    format!("{scenario}{nonce:08x}_")
}

/// Logs user `{prefix}{i}` (made by [`devices`]) in once more: a new device.
pub async fn another_device(base: &str, prefix: &str, i: usize) -> Result<String> {
    let name = format!("{prefix}{i}");
    let tokens = Client::new(base)?
        .login(&name, PASSWORD, Some("bench-sender"))
        .await
        .with_context(|| format!("log in {name}"))?;
    Ok(tokens.access_token)
}
