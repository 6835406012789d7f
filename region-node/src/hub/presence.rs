//! Presence: a user is online while any of their devices is connected, and
//! goes offline (with `last_seen`) only after a grace period without one, so
//! a quick reconnect does not flap. Watchers subscribe per connection.
//!
//! In a mesh, each region tells the others when a user goes online or
//! offline there (a last-writer-wins register per user and region, ordered
//! by HLC); a user is online while any region has them online. A region
//! whose link goes down counts as having none of its users online until it
//! says otherwise again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use protocol::Hlc;
use protocol::frames::ServerFrame;
use store::tuple::pack;

use super::{Mailbox, Outbound};
use crate::clock::now_ms;
use protocol::peer::MeshDelta;

use crate::link::Link;

#[derive(Default)]
struct State {
    /// Users with a connection, or inside their grace period.
    online: HashSet<String>,
    /// Pending offline transitions, by generation.
    pending: HashMap<String, u64>,
    /// Last time each user was seen, as far as this node knows.
    last_seen: HashMap<String, u64>,
    /// Watchers of each user: connection id → its mailbox.
    watchers: HashMap<String, HashMap<u64, Mailbox>>,
    /// What each connection watches, for cleanup.
    watching: HashMap<u64, HashSet<String>>,
    generation: u64,
    /// What other regions said of each user: region → latest report.
    remote: HashMap<String, HashMap<String, Remote>>,
}

/// One region's latest report of a user.
#[derive(Clone, Copy)]
struct Remote {
    online: bool,
    last_seen: u64,
    hlc: Hlc,
}

impl State {
    /// Whether `conn` would watch more than `limit` users with `users` added.
    fn would_exceed(&self, conn: u64, users: &[String], limit: usize) -> bool {
        let held = self.watching.get(&conn);
        let fresh: HashSet<&String> = users
            .iter()
            .filter(|u| !held.is_some_and(|h| h.contains(*u)))
            .collect();
        held.map_or(0, HashSet::len) + fresh.len() > limit
    }

    /// Online anywhere, and the latest `last_seen` anyone knows.
    fn effective(&self, user: &str) -> (bool, u64) {
        let mut online = self.online.contains(user);
        let mut seen = self.last_seen.get(user).copied().unwrap_or(0);
        for report in self.remote.get(user).into_iter().flat_map(HashMap::values) {
            online |= report.online;
            seen = seen.max(report.last_seen);
        }
        (online, seen)
    }
}

/// Presence of users connected to this node.
#[derive(Clone)]
pub struct Presence {
    state: Arc<Mutex<State>>,
    grace: Duration,
    db: store::Database,
    mesh: Option<Link>,
}

fn last_seen_key(user: &str) -> Vec<u8> {
    pack(&("presence", user, "last_seen"))
}

impl Presence {
    /// Presence with this offline grace period, telling the other regions
    /// of `mesh` (if any) of local changes.
    pub fn new(grace: Duration, db: store::Database, mesh: Option<Link>) -> Self {
        Self {
            state: Arc::default(),
            grace,
            db,
            mesh,
        }
    }

    /// Sends a local change to the other regions.
    fn tell_peers(&self, user: &str, online: bool, last_seen: u64) {
        if let Some(mesh) = &self.mesh {
            mesh.broadcast_datagram(&MeshDelta::Presence {
                user_id: user.to_owned(),
                online,
                last_seen,
                hlc: mesh.clock().now(),
            });
        }
    }

    /// Another region's report of `user`; kept if newer than its last one.
    pub fn remote(&self, region: &str, user: &str, online: bool, last_seen: u64, hlc: Hlc) {
        let mut state = self.lock();
        let before = state.effective(user);
        let reports = state.remote.entry(user.to_owned()).or_default();
        if reports.get(region).is_some_and(|r| r.hlc >= hlc) {
            return;
        }
        reports.insert(
            region.to_owned(),
            Remote {
                online,
                last_seen,
                hlc,
            },
        );
        let after = state.effective(user);
        if after.0 != before.0 {
            broadcast(&state, user, after.0, after.1);
        }
    }

    /// The link to `region` went down: none of its users count as online.
    pub fn region_down(&self, region: &str) {
        let mut state = self.lock();
        let users: Vec<String> = state
            .remote
            .iter()
            .filter(|(_, reports)| reports.get(region).is_some_and(|r| r.online))
            .map(|(user, _)| user.clone())
            .collect();
        let now = now_ms();
        for user in users {
            let before = state.effective(&user);
            if let Some(report) = state.remote.get_mut(&user).and_then(|r| r.get_mut(region)) {
                report.online = false;
                report.last_seen = report.last_seen.max(now);
            }
            let after = state.effective(&user);
            if after.0 != before.0 {
                broadcast(&state, &user, after.0, after.1);
            }
        }
    }

    /// Users online here, with when they were last seen.
    pub fn local_online(&self) -> Vec<(String, u64)> {
        let state = self.lock();
        state
            .online
            .iter()
            .map(|u| (u.clone(), state.last_seen.get(u).copied().unwrap_or(0)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user's first connection opened.
    pub fn connected(&self, user: &str) {
        let mut state = self.lock();
        let before = state.effective(user);
        let was_pending = state.pending.remove(user).is_some();
        let newly = state.online.insert(user.to_owned());
        if newly && !was_pending {
            let now = now_ms();
            state.last_seen.insert(user.to_owned(), now);
            if !before.0 {
                broadcast(&state, user, true, now);
            }
            drop(state);
            self.tell_peers(user, true, now);
        }
    }

    /// The user's last connection closed: offline after the grace period
    /// unless they reconnect.
    pub fn disconnected(&self, user: &str) {
        let generation = {
            let mut state = self.lock();
            state.generation += 1;
            let generation = state.generation;
            state.pending.insert(user.to_owned(), generation);
            generation
        };
        let this = self.clone();
        let user = user.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(this.grace).await;
            let now = now_ms();
            {
                let mut state = this.lock();
                if state.pending.get(&user) != Some(&generation) {
                    return;
                }
                state.pending.remove(&user);
                state.online.remove(&user);
                state.last_seen.insert(user.clone(), now);
                let (online, seen) = state.effective(&user);
                if !online {
                    broadcast(&state, &user, false, seen);
                }
            }
            this.tell_peers(&user, false, now);
            let key = last_seen_key(&user);
            let saved = this
                .db
                .run(|tx| {
                    let key = key.clone();
                    async move {
                        tx.set(&key, &now.to_le_bytes());
                        Ok::<_, store::StoreError>(())
                    }
                })
                .await;
            if let Err(error) = saved {
                tracing::warn!(%user, %error, "save last_seen");
            }
        });
    }

    /// Whether the user counts as online (here or in another region).
    pub fn is_online(&self, user: &str) -> bool {
        self.lock().effective(user).0
    }

    /// Whether `user` is online anywhere, and when they were last seen.
    pub async fn current(&self, user: &str) -> (bool, u64) {
        let (online, seen) = self.lock().effective(user);
        if online || seen > 0 {
            return (online, seen);
        }
        (false, self.stored_last_seen(user).await)
    }

    /// Subscribes connection `conn` to `users`, unless that would make it
    /// watch more than `limit` users (then nothing changes), and answers
    /// each one's current presence as frames for the caller to write
    /// itself: they do not pass through the connection's queue, which a
    /// large subscription would overflow.
    pub async fn subscribe(
        &self,
        conn: u64,
        mailbox: &Mailbox,
        users: &[String],
        limit: usize,
    ) -> Result<Vec<Bytes>, TooManySubscriptions> {
        let mut known = Vec::with_capacity(users.len());
        {
            let mut state = self.lock();
            if state.would_exceed(conn, users, limit) {
                return Err(TooManySubscriptions { limit });
            }
            for user in users {
                state
                    .watchers
                    .entry(user.clone())
                    .or_default()
                    .insert(conn, mailbox.clone());
                state.watching.entry(conn).or_default().insert(user.clone());
                let (online, seen) = state.effective(user);
                known.push((online || seen > 0).then_some((online, seen)));
            }
        }
        let mut current = Vec::with_capacity(users.len());
        for (user, known) in users.iter().zip(known) {
            let (online, last_seen) = match known {
                Some(k) => k,
                None => (false, self.stored_last_seen(user).await),
            };
            current.push(frame(user, online, last_seen));
        }
        Ok(current)
    }

    /// Whether subscribing connection `conn` to `users` would make it
    /// watch more than `limit` users.
    pub fn would_exceed(&self, conn: u64, users: &[String], limit: usize) -> bool {
        self.lock().would_exceed(conn, users, limit)
    }

    /// Drops every subscription of a closed connection.
    pub fn unsubscribe_all(&self, conn: u64) {
        let mut state = self.lock();
        if let Some(users) = state.watching.remove(&conn) {
            for user in users {
                if let Some(w) = state.watchers.get_mut(&user) {
                    w.remove(&conn);
                    if w.is_empty() {
                        state.watchers.remove(&user);
                    }
                }
            }
        }
    }

    async fn stored_last_seen(&self, user: &str) -> u64 {
        match self.db.begin().get_snapshot(&last_seen_key(user)).await {
            Ok(Some(bytes)) => u64::try_from(store::decode_counter(&bytes)).unwrap_or(0),
            Ok(None) => 0,
            Err(error) => {
                tracing::warn!(%user, %error, "read last_seen");
                0
            }
        }
    }
}

fn frame(user: &str, online: bool, last_seen: u64) -> Bytes {
    crate::codec::frame(&ServerFrame::Presence {
        user_id: user.to_owned(),
        online,
        last_seen,
    })
}

fn broadcast(state: &State, user: &str, online: bool, last_seen: u64) {
    if let Some(watchers) = state.watchers.get(user) {
        let out = Outbound::frame(frame(user, online, last_seen));
        for mailbox in watchers.values() {
            mailbox.offer(out.clone());
        }
    }
}

/// A subscription would pass the per-connection limit.
#[derive(Debug, thiserror::Error)]
#[error("a connection may watch at most {limit} users")]
pub struct TooManySubscriptions {
    /// The limit.
    pub limit: usize,
}
