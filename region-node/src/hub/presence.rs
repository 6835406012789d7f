//! Presence: a user is online while any of their devices is connected, and
//! goes offline (with `last_seen`) only after a grace period without one, so
//! a quick reconnect does not flap. Watchers subscribe per connection.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use protocol::frames::ServerFrame;
use store::tuple::pack;
use tokio::sync::mpsc;

use super::Outbound;
use crate::clock::now_ms;

#[derive(Default)]
struct State {
    /// Users with a connection, or inside their grace period.
    online: HashSet<String>,
    /// Pending offline transitions, by generation.
    pending: HashMap<String, u64>,
    /// Last time each user was seen, as far as this node knows.
    last_seen: HashMap<String, u64>,
    /// Watchers of each user: connection id → its queue.
    watchers: HashMap<String, HashMap<u64, mpsc::Sender<Outbound>>>,
    /// What each connection watches, for cleanup.
    watching: HashMap<u64, HashSet<String>>,
    generation: u64,
}

/// Presence of users connected to this node.
#[derive(Clone)]
pub struct Presence {
    state: Arc<Mutex<State>>,
    grace: Duration,
    db: store::Database,
}

fn last_seen_key(user: &str) -> Vec<u8> {
    pack(&("presence", user, "last_seen"))
}

impl Presence {
    /// Presence with this offline grace period.
    pub fn new(grace: Duration, db: store::Database) -> Self {
        Self {
            state: Arc::default(),
            grace,
            db,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user's first connection opened.
    pub fn connected(&self, user: &str) {
        let mut state = self.lock();
        let was_pending = state.pending.remove(user).is_some();
        let newly = state.online.insert(user.to_owned());
        if newly && !was_pending {
            let now = now_ms();
            state.last_seen.insert(user.to_owned(), now);
            broadcast(&state, user, true, now);
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
                broadcast(&state, &user, false, now);
            }
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

    /// Whether the user counts as online.
    pub fn is_online(&self, user: &str) -> bool {
        self.lock().online.contains(user)
    }

    /// Subscribes connection `conn` to `users`, answering each one's
    /// current presence at once.
    pub async fn subscribe(&self, conn: u64, tx: &mpsc::Sender<Outbound>, users: &[String]) {
        let mut current = Vec::with_capacity(users.len());
        for user in users {
            let known = {
                let mut state = self.lock();
                state
                    .watchers
                    .entry(user.clone())
                    .or_default()
                    .insert(conn, tx.clone());
                state.watching.entry(conn).or_default().insert(user.clone());
                let online = state.online.contains(user);
                state
                    .last_seen
                    .get(user)
                    .map(|seen| (online, *seen))
                    .or(online.then_some((true, 0)))
            };
            let (online, last_seen) = match known {
                Some(k) => k,
                None => (false, self.stored_last_seen(user).await),
            };
            current.push(frame(user, online, last_seen));
        }
        for f in current {
            let _ = tx.try_send(Outbound::frame(f));
        }
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
    crate::ws::encode(&ServerFrame::Presence {
        user_id: user.to_owned(),
        online,
        last_seen,
    })
}

fn broadcast(state: &State, user: &str, online: bool, last_seen: u64) {
    if let Some(watchers) = state.watchers.get(user) {
        let out = Outbound::frame(frame(user, online, last_seen));
        for tx in watchers.values() {
            let _ = tx.try_send(out.clone());
        }
    }
}
