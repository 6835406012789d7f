//! Scenarios and the seeded schedule of sends, membership changes and
//! faults they produce.
//!
//! Every chat is a group created at its home at time 0 by `u0` (its owner,
//! never removed) with `u0`..`u3` as members; `u4` and `u5` start outside.
//! Users send from any region (the home or a replica), some sends are
//! retried with the same `client_msg_id` from the same or another region,
//! the owner adds and removes `u1`..`u5` at the home (re-adding removed
//! ones), and strangers' forged forwards test the home's own check. A
//! share of the sends are edits, deletes and reactions on a message the
//! user's region holds, or replies to one.

use std::time::Duration;

use chat_core::Sabotage;
use rand::Rng;
use rand::rngs::StdRng;
use sync::replication::{OutboxConfig, ReceiverConfig, ShipperConfig};

use super::net::NetConfig;

/// Users of every chat: `u0` owns it.
pub const USERS: usize = 6;
/// Users who are members when a chat is created.
pub const FIRST_MEMBERS: usize = 4;

/// A user's id.
pub fn user(index: usize) -> String {
    format!("u{index}")
}

/// One kind of run: the regions, chats, traffic, network and faults.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Number of regions.
    pub regions: usize,
    /// Chats and the region that homes each.
    pub chats: Vec<(String, usize)>,
    /// Sends by users, each with a fresh `client_msg_id`.
    pub sends: usize,
    /// Chance that a send's user is connected to the chat's home.
    pub local_share: f64,
    /// Share of sends that are an edit, a delete or a reaction (a share of
    /// the rest are replies).
    pub action_share: f64,
    /// Sends again of an earlier send's `(sender, client_msg_id)`, from the
    /// same region or another.
    pub retries: usize,
    /// Members added or removed by the owner at the home.
    pub changes: usize,
    /// Forwards of users who were never members, put straight into an
    /// outbox as a region that skipped its check would.
    pub strangers: usize,
    /// Sends and faults happen in `0..duration` milliseconds.
    pub duration: u64,
    /// What the network does to messages.
    pub net: NetConfig,
    /// Random partitions of random links.
    pub partitions: usize,
    /// Longest partition, in milliseconds.
    pub partition_max: u64,
    /// Fixed partitions: `(region, region, from, until)`.
    pub fixed_partitions: Vec<(usize, usize, u64, u64)>,
    /// Random region restarts.
    pub restarts: usize,
    /// Machine settings.
    pub shipper: ShipperConfig,
    /// Machine settings.
    pub receiver: ReceiverConfig,
    /// Machine settings.
    pub outbox: OutboxConfig,
    /// A deliberate defect in every core, to prove the checks catch it.
    pub sabotage: Option<Sabotage>,
    /// Newest shipped entries a region keeps in memory per chat for its
    /// shippers (older ones are read from the store).
    pub recent: usize,
}

impl Scenario {
    /// Two regions, one chat homed in the first, a clean network, no
    /// faults; small windows so the limits are exercised.
    pub fn base() -> Self {
        Self {
            regions: 2,
            chats: vec![("c0".into(), 0)],
            sends: 150,
            local_share: 0.7,
            action_share: 0.3,
            retries: 15,
            changes: 12,
            strangers: 0,
            duration: 3_000,
            net: NetConfig::clean(),
            partitions: 0,
            partition_max: 0,
            fixed_partitions: Vec::new(),
            restarts: 0,
            shipper: ShipperConfig {
                window: 16,
                max_entries_per_message: 5,
                max_bytes_per_message: 64 * 1024,
                retransmit_after: Duration::from_millis(400),
                read_retry_after: Duration::from_millis(50),
            },
            receiver: ReceiverConfig {
                max_buffered_per_chat: 10,
                ack_delay: Duration::from_millis(10),
                ack_every: 4,
                resend_after: Duration::from_millis(150),
            },
            outbox: OutboxConfig {
                retransmit_after: Duration::from_millis(400),
                max_in_flight_per_chat: 1,
            },
            sabotage: None,
            recent: 8,
        }
    }

    /// The region that homes `chat`.
    pub fn home(&self, chat: &str) -> usize {
        self.chats
            .iter()
            .find(|(name, _)| name == chat)
            .map(|(_, home)| *home)
            .expect("the scenario names every chat")
    }

    /// The seeded schedule: `(time, action)` pairs, in no particular order.
    pub fn schedule(&self, rng: &mut StdRng) -> Vec<(u64, Action)> {
        let mut actions = Vec::new();
        let mut sends = Vec::new();
        for n in 0..self.sends {
            let chat = rng.gen_range(0..self.chats.len());
            let region = self.pick_region(rng, chat);
            let what = if rng.gen_bool(self.action_share) {
                match rng.gen_range(0..4) {
                    0 => What::Edit,
                    1 => What::Delete,
                    _ => What::React {
                        emoji: ["👍", "🎉", "❤️"][rng.gen_range(0..3)],
                        on: rng.gen_bool(0.7),
                    },
                }
            } else if rng.gen_bool(0.2) {
                What::Reply
            } else {
                What::Text
            };
            let send = Action::Send {
                region,
                chat,
                user: rng.gen_range(0..USERS),
                client_msg_id: format!("m{n}"),
                what,
                pick: rng.r#gen(),
            };
            let at = rng.gen_range(0..self.duration);
            sends.push((at, send.clone()));
            actions.push((at, send));
        }
        for _ in 0..self.retries.min(sends.len()) {
            let (first, send) = &sends[rng.gen_range(0..sends.len())];
            let Action::Send {
                region,
                chat,
                user,
                client_msg_id,
                what,
                pick,
            } = send.clone()
            else {
                continue;
            };
            let region = if rng.gen_bool(0.5) {
                region
            } else {
                rng.gen_range(0..self.regions)
            };
            let at = first + rng.gen_range(0..=self.duration / 4);
            actions.push((
                at,
                Action::Send {
                    region,
                    chat,
                    user,
                    client_msg_id,
                    what,
                    pick,
                },
            ));
        }
        for _ in 0..self.changes {
            let chat = rng.gen_range(0..self.chats.len());
            let user = rng.gen_range(1..USERS);
            let add = rng.gen_bool(0.5);
            let at = rng.gen_range(0..self.duration);
            actions.push((at, Action::Change { chat, user, add }));
        }
        for n in 0..self.strangers {
            let chat = rng.gen_range(0..self.chats.len());
            let home = self.chats[chat].1;
            let others: Vec<usize> = (0..self.regions).filter(|&r| r != home).collect();
            let region = others[rng.gen_range(0..others.len())];
            let at = rng.gen_range(0..self.duration);
            actions.push((at, Action::Stranger { region, chat, n }));
        }
        for _ in 0..self.partitions {
            let a = rng.gen_range(0..self.regions);
            let b = (a + rng.gen_range(1..self.regions)) % self.regions;
            let from = rng.gen_range(0..self.duration);
            let until = from + rng.gen_range(1..=self.partition_max.max(1));
            actions.push((from, Action::Partition { a, b }));
            actions.push((until, Action::Heal { a, b }));
        }
        for &(a, b, from, until) in &self.fixed_partitions {
            actions.push((from, Action::Partition { a, b }));
            actions.push((until, Action::Heal { a, b }));
        }
        for _ in 0..self.restarts {
            let region = rng.gen_range(0..self.regions);
            let at = rng.gen_range(0..self.duration);
            actions.push((at, Action::Restart { region }));
            let back = at + rng.gen_range(10..300);
            actions.push((back, Action::Restarted { region }));
        }
        actions
    }

    /// Where a send's user is connected: the chat's home with
    /// `local_share`, else another region.
    fn pick_region(&self, rng: &mut StdRng, chat: usize) -> usize {
        let home = self.chats[chat].1;
        if self.regions == 1 || rng.gen_bool(self.local_share) {
            return home;
        }
        (home + rng.gen_range(1..self.regions)) % self.regions
    }
}

/// Something the workload or the fault schedule does.
#[derive(Debug, Clone)]
pub enum Action {
    /// A user connected to `region` sends to a chat.
    Send {
        /// Where the user is connected.
        region: usize,
        /// Index into `Scenario::chats`.
        chat: usize,
        /// Index of the user.
        user: usize,
        /// The client's idempotency key.
        client_msg_id: String,
        /// A text message or an action.
        what: What,
        /// Picks the message acted on or answered among those the
        /// region holds when the send happens.
        pick: u64,
    },
    /// The owner adds or removes a user, at the chat's home.
    Change {
        /// Index into `Scenario::chats`.
        chat: usize,
        /// Index of the user (never the owner).
        user: usize,
        /// Add, or remove.
        add: bool,
    },
    /// A forged forward of a user who was never a member.
    Stranger {
        /// The forwarding region.
        region: usize,
        /// Index into `Scenario::chats`.
        chat: usize,
        /// Makes the stranger's key unique.
        n: usize,
    },
    /// Cut the link between two regions.
    Partition {
        /// One end.
        a: usize,
        /// The other end.
        b: usize,
    },
    /// End one partition of the link.
    Heal {
        /// One end.
        a: usize,
        /// The other end.
        b: usize,
    },
    /// The region's process dies; its cores and machines are rebuilt from
    /// its store.
    Restart {
        /// The region.
        region: usize,
    },
    /// The restarted region is reachable again.
    Restarted {
        /// The region.
        region: usize,
    },
}

/// What a user's send is.
#[derive(Debug, Clone, Copy)]
pub enum What {
    /// A text message.
    Text,
    /// A text message answering another.
    Reply,
    /// A new text for one of the user's messages.
    Edit,
    /// A delete for everyone.
    Delete,
    /// A reaction added or removed.
    React {
        /// The emoji.
        emoji: &'static str,
        /// Added or removed.
        on: bool,
    },
}
