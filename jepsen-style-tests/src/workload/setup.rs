//! Before the workload: users registered across the regions, devices
//! logged in (one process each), and groups homed in every region with every
//! user as a member. Setup runs before any fault, but accounts and chats
//! take a moment to replicate, so each step is retried until it works.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use client::{Client, ClientError};

use crate::cluster::RegionInfo;

use super::auth::DeviceAuth;

/// How long one setup step may keep failing before the run gives up.
const SETUP_PATIENCE: Duration = Duration::from_secs(60);

/// A registered user.
#[derive(Debug, Clone)]
pub struct User {
    /// Its username.
    pub username: String,
    /// Its id.
    pub user_id: String,
}

/// A logged-in device: one client process.
pub struct Device {
    /// The process id in the history.
    pub process: u64,
    /// Index of its user in [`Fixture::users`].
    pub user: usize,
    /// The region it talks to (and logged in at).
    pub region: String,
    /// That region's HTTP base URL.
    pub base: String,
    /// Its id.
    pub device_id: String,
    /// Its tokens.
    pub auth: Arc<DeviceAuth>,
}

/// A group created for the run.
#[derive(Debug, Clone)]
pub struct Group {
    /// Its id.
    pub chat_id: String,
    /// Index of its owner (its only admin) in [`Fixture::users`].
    pub owner: usize,
    /// Its home region.
    pub home: String,
}

/// Everything setup made.
pub struct Fixture {
    /// The users.
    pub users: Vec<User>,
    /// The devices, by process id order.
    pub devices: Vec<Device>,
    /// The groups.
    pub groups: Vec<Group>,
}

/// Why setup failed.
#[derive(Debug, thiserror::Error)]
#[error("{step}: still failing after {}s: {last}", SETUP_PATIENCE.as_secs())]
pub struct SetupError {
    /// The step.
    pub step: String,
    /// Its last error.
    pub last: ClientError,
}

async fn retry<T, Fut>(step: String, mut attempt: impl FnMut() -> Fut) -> Result<T, SetupError>
where
    Fut: Future<Output = Result<T, ClientError>>,
{
    let deadline = tokio::time::Instant::now() + SETUP_PATIENCE;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(last) if tokio::time::Instant::now() >= deadline => {
                return Err(SetupError { step, last });
            }
            Err(error) => {
                tracing::debug!(%step, %error, "setup step failed; retrying");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}

fn client(base: &str) -> Result<Client, SetupError> {
    Client::new(base).map_err(|last| SetupError {
        step: format!("reach {base}"),
        last,
    })
}

/// Registers `users` users (user `i` in region `i mod R`), logs each in at
/// that region and the first `R` users a second time at the next region,
/// and creates one group per region, owned by a user of that region, with
/// every user as a member. `tag` keeps usernames unique across runs against
/// the same deployment.
pub async fn setup(regions: &[RegionInfo], users: usize, tag: &str) -> Result<Fixture, SetupError> {
    let password = format!("pw-{tag}-jepsen");
    let region_of = |i: usize| &regions[i % regions.len()];
    let mut registered = Vec::new();
    for i in 0..users {
        let username = format!("j{tag}u{i}");
        let http = client(&region_of(i).base)?;
        let user_id = retry(format!("register {username}"), || {
            http.register(&username, &password, Some(&username))
        })
        .await?;
        registered.push(User { username, user_id });
    }

    let mut logins = Vec::new();
    for i in 0..users {
        logins.push((i, region_of(i)));
    }
    for i in 0..users.min(regions.len()) {
        logins.push((i, region_of(i + 1)));
    }
    let mut devices = Vec::new();
    for (user, region) in logins {
        let http = client(&region.base)?;
        let username = &registered[user].username;
        // A region learns of an account made elsewhere by replication:
        // until then its login answers 401, so this retries too.
        let tokens = retry(format!("log {username} in at {}", region.name), || {
            http.login(username, &password, Some("jepsen"))
        })
        .await?;
        devices.push(Device {
            process: devices.len() as u64,
            user,
            region: region.name.clone(),
            base: region.base.clone(),
            device_id: tokens.device_id.clone(),
            auth: Arc::new(DeviceAuth::new(&tokens)),
        });
    }

    let mut groups = Vec::new();
    for (r, region) in regions.iter().enumerate() {
        let owner = r % users;
        let Some(device) = devices
            .iter()
            .find(|d| d.user == owner && d.region == region.name)
        else {
            continue;
        };
        let http = client(&device.base)?.with_token(&device.auth.access());
        let members: Vec<String> = registered
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != owner)
            .map(|(_, u)| u.user_id.clone())
            .collect();
        let title = format!("{} group", region.name);
        let chat = retry(format!("create a group in {}", region.name), || {
            http.create_group(&title, &members, Some("initial"))
        })
        .await?;
        groups.push(Group {
            chat_id: chat.chat_id,
            owner,
            home: chat.home_region,
        });
    }
    Ok(Fixture {
        users: registered,
        devices,
        groups,
    })
}
