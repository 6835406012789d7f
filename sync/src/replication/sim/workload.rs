//! Scenarios and the seeded schedule of sends and faults they produce.

use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;

use crate::replication::{OutboxConfig, ReceiverConfig, ShipperConfig};

use super::net::NetConfig;

/// One kind of run: the regions, chats, traffic, network and faults.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Number of regions.
    pub regions: usize,
    /// Chats and the region that homes each.
    pub chats: Vec<(String, usize)>,
    /// Sends by users connected to a chat's home region.
    pub local_sends: usize,
    /// Sends by users connected elsewhere, forwarded through an outbox.
    pub forwards: usize,
    /// Every tenth forward of these is refused by the home.
    pub rejects: bool,
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
}

impl Scenario {
    /// Two regions, one chat homed in the first, a clean network, no
    /// faults; small windows so the limits are exercised.
    pub fn base() -> Self {
        Self {
            regions: 2,
            chats: vec![("c0".into(), 0)],
            local_sends: 150,
            forwards: 0,
            rejects: false,
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
        for _ in 0..self.local_sends {
            let chat = rng.gen_range(0..self.chats.len());
            actions.push((rng.gen_range(0..self.duration), Action::LocalSend { chat }));
        }
        for n in 0..self.forwards {
            let chat = rng.gen_range(0..self.chats.len());
            let home = self.chats[chat].1;
            let others: Vec<usize> = (0..self.regions).filter(|&r| r != home).collect();
            let region = others[rng.gen_range(0..others.len())];
            let reject = self.rejects && n % 10 == 9;
            let at = rng.gen_range(0..self.duration);
            actions.push((
                at,
                Action::Forward {
                    region,
                    chat,
                    reject,
                },
            ));
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
}

/// Something the workload or the fault schedule does.
#[derive(Debug, Clone)]
pub enum Action {
    /// A user at the chat's home sends to it (index into `chats`).
    LocalSend {
        /// Index into `Scenario::chats`.
        chat: usize,
    },
    /// A user at `region` sends to a chat homed elsewhere.
    Forward {
        /// The forwarding region.
        region: usize,
        /// Index into `Scenario::chats`.
        chat: usize,
        /// Whether the home will refuse it.
        reject: bool,
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
    /// The region's process dies; its machines are rebuilt from its store.
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
