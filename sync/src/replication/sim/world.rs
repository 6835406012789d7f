//! The event loop: plays the async shell for every machine of every region.
//!
//! Events (deliveries, completed store reads and writes, workload actions)
//! wait in a queue ordered by simulated time; machines' timers are asked
//! with `poll_timeout` before each step, and whichever comes first runs.
//! The run is over when the queue is empty and no machine waits on a timer.

use std::collections::BTreeMap;

use protocol::Hlc;
use protocol::peer::{ForwardOutcome, ForwardResult, ForwardSend, LogEntry, PeerMessage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::replication::{Millis, Routed, outbox, receiver, route, shipper};

use super::net::{Link, deliveries};
use super::region::Region;
use super::workload::{Action, Scenario};

/// A forwarded send, as submitted, for the checks.
#[derive(Debug, Clone)]
pub struct Forwarded {
    /// The forwarding region.
    pub region: usize,
    /// The item.
    pub item: ForwardSend,
    /// Whether the home refuses it.
    pub reject: bool,
}

/// Something scheduled to happen.
#[derive(Debug)]
enum Event {
    /// A message arrives at `to`.
    Deliver {
        from: usize,
        to: usize,
        epoch: u64,
        text: String,
    },
    /// A shipper's log read completes.
    ReadDone {
        region: usize,
        life: u64,
        peer: usize,
        chat: String,
        after: u64,
        limit: usize,
    },
    /// A receiver's replica write completes.
    ApplyDone {
        region: usize,
        life: u64,
        peer: usize,
        chat: String,
        entries: Vec<LogEntry>,
    },
    /// The workload or the fault schedule acts.
    Act(Action),
}

/// A machine, for its timer.
#[derive(Debug, Clone, Copy)]
enum Machine {
    Shipper(usize, usize),
    Receiver(usize, usize),
    Outbox(usize, usize),
}

/// Every region, the network between them and the clock.
#[derive(Debug)]
pub struct World {
    /// What is being simulated.
    pub scenario: Scenario,
    /// Simulated time.
    pub now: Millis,
    rng: StdRng,
    /// The regions.
    pub regions: Vec<Region>,
    links: BTreeMap<(usize, usize), Link>,
    queue: BTreeMap<(Millis, u64), Event>,
    next_event: u64,
    sends: u64,
    /// Forwarded sends in submission order.
    pub forwarded: Vec<Forwarded>,
    /// Every outcome an outbox reported done, by item id.
    pub done: BTreeMap<String, Vec<ForwardOutcome>>,
    /// Restarts that happened.
    pub restarts: usize,
    /// Largest total shipper lag seen at a workload action.
    pub max_lag: u64,
    /// Steps taken.
    pub steps: u64,
    /// Messages put on the wire, by type.
    pub sent: BTreeMap<&'static str, u64>,
    /// Copies lost on a live connection, or with their connection.
    pub lost: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Connections opened.
    pub connections: u64,
}

/// The wire name of a message's type, for the counters.
fn kind(message: &PeerMessage) -> &'static str {
    match message {
        PeerMessage::Hello { .. } => "hello",
        PeerMessage::Catalog { .. } => "catalog",
        PeerMessage::Entries { .. } => "entries",
        PeerMessage::Ack { .. } => "ack",
        PeerMessage::Resend { .. } => "resend",
        PeerMessage::ForwardSend(_) => "forward_send",
        PeerMessage::ForwardResult(_) => "forward_result",
    }
}

impl World {
    /// Regions with empty stores, the seeded schedule queued, links up.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let schedule = scenario.schedule(&mut rng);
        let regions = (0..scenario.regions)
            .map(|id| Region::new(id, scenario))
            .collect();
        let mut links = BTreeMap::new();
        for a in 0..scenario.regions {
            for b in a + 1..scenario.regions {
                links.insert((a, b), Link::default());
            }
        }
        let mut world = Self {
            scenario: scenario.clone(),
            now: Millis(0),
            rng,
            regions,
            links,
            queue: BTreeMap::new(),
            next_event: 0,
            sends: 0,
            forwarded: Vec::new(),
            done: BTreeMap::new(),
            restarts: 0,
            max_lag: 0,
            steps: 0,
            sent: BTreeMap::new(),
            lost: 0,
            duplicated: 0,
            connections: 0,
        };
        for (at, action) in schedule {
            world.push(Millis(at), Event::Act(action));
        }
        let pairs: Vec<(usize, usize)> = world.links.keys().copied().collect();
        for (a, b) in pairs {
            world.reconcile(a, b);
        }
        world
    }

    /// Whether the link between two regions is up.
    pub fn link_up(&self, a: usize, b: usize) -> bool {
        self.links
            .get(&(a.min(b), a.max(b)))
            .is_some_and(|link| link.up)
    }

    /// Runs until nothing is queued and no machine waits on a timer.
    pub fn run_to_quiescence(&mut self) {
        let limit = self.scenario.duration + self.scenario.partition_max + 600_000;
        loop {
            self.steps += 1;
            assert!(self.steps < 20_000_000, "runaway simulation");
            let event_at = self.queue.first_key_value().map(|(key, _)| key.0);
            let timer = self.next_timer();
            match (event_at, timer) {
                (None, None) => break,
                (event_at, Some((at, machine))) if event_at.is_none_or(|e| at <= e) => {
                    self.now = self.now.max(at);
                    self.tick(machine);
                }
                _ => {
                    let Some(((at, _), event)) = self.queue.pop_first() else {
                        break;
                    };
                    self.now = self.now.max(at);
                    self.handle(event);
                }
            }
            assert!(
                self.now.0 <= limit,
                "no quiescence by {limit} ms: queue {}, timer {:?}",
                self.queue.len(),
                self.next_timer()
            );
        }
    }

    fn push(&mut self, at: Millis, event: Event) {
        self.next_event += 1;
        self.queue.insert((at, self.next_event), event);
    }

    fn next_timer(&self) -> Option<(Millis, Machine)> {
        let mut best: Option<(Millis, Machine)> = None;
        let mut consider = |at: Option<Millis>, machine: Machine| {
            if let Some(at) = at.filter(|&at| best.is_none_or(|(b, _)| at < b)) {
                best = Some((at, machine));
            }
        };
        for region in &self.regions {
            for (&peer, m) in &region.shippers {
                consider(m.poll_timeout(), Machine::Shipper(region.id, peer));
            }
            for (&peer, m) in &region.receivers {
                consider(m.poll_timeout(), Machine::Receiver(region.id, peer));
            }
            for (&peer, m) in &region.outboxes {
                consider(m.poll_timeout(), Machine::Outbox(region.id, peer));
            }
        }
        best
    }

    fn tick(&mut self, machine: Machine) {
        match machine {
            Machine::Shipper(r, p) => self.drive_shipper(r, p, shipper::Input::Tick),
            Machine::Receiver(r, p) => self.drive_receiver(r, p, receiver::Input::Tick),
            Machine::Outbox(r, p) => self.drive_outbox(r, p, outbox::Input::Tick),
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver {
                from,
                to,
                epoch,
                text,
            } => {
                let key = (from.min(to), from.max(to));
                let live = self
                    .links
                    .get(&key)
                    .is_some_and(|link| link.up && link.epoch == epoch);
                if !live {
                    self.lost += 1;
                }
                if live {
                    let message: PeerMessage =
                        serde_json::from_str(&text).expect("peer messages decode");
                    self.deliver(from, to, message);
                }
            }
            Event::ReadDone {
                region,
                life,
                peer,
                chat,
                after,
                limit,
            } => {
                if self.regions[region].life != life {
                    return;
                }
                let mut entries = self.regions[region].store.read(&chat, after, limit);
                // Reads may come back short (or empty) as real ones can.
                if !entries.is_empty() && self.rng.gen_bool(0.1) {
                    let keep = self.rng.gen_range(0..entries.len());
                    entries.truncate(keep);
                }
                let input = shipper::Input::LogRead {
                    chat_id: chat,
                    entries,
                };
                self.drive_shipper(region, peer, input);
            }
            Event::ApplyDone {
                region,
                life,
                peer,
                chat,
                entries,
            } => {
                if self.regions[region].life == life {
                    self.apply(region, peer, chat, entries);
                }
            }
            Event::Act(action) => self.act(action),
        }
    }

    fn deliver(&mut self, from: usize, to: usize, message: PeerMessage) {
        match route(message) {
            Routed::Shipper(input) => self.drive_shipper(to, from, input),
            Routed::Receiver(input) => self.drive_receiver(to, from, input),
            Routed::Outbox(input) => self.drive_outbox(to, from, input),
            Routed::Sequencer(send) => {
                assert_eq!(
                    self.scenario.home(&send.chat_id),
                    to,
                    "forwarded to the home"
                );
                let (outcome, new) = self.regions[to].store.sequence(&send, self.now);
                if new {
                    self.committed(to, &send.chat_id);
                }
                let result = ForwardResult {
                    id: send.id,
                    outcome,
                };
                self.send(to, from, PeerMessage::ForwardResult(result));
            }
        }
    }

    /// Writes a replica batch, refusing any that would leave a gap or
    /// repeat an entry, and reports it applied.
    fn apply(&mut self, region: usize, peer: usize, chat: String, entries: Vec<LogEntry>) {
        let home = self.scenario.home(&chat);
        assert_eq!(home, peer, "entries come from the chat's home");
        let store = &self.regions[region].store;
        let last = store.last_seq(&chat);
        for (offset, entry) in (1..).zip(&entries) {
            assert_eq!(
                entry.seq,
                last + offset,
                "region {region}, chat {chat}: an apply after seq {last} would leave a gap \
                 or repeat an entry: {:?}",
                entries.iter().map(|e| e.seq).collect::<Vec<_>>()
            );
            let original = self.regions[home].store.log.get(&(chat.clone(), entry.seq));
            assert_eq!(Some(entry), original, "replicated entries are the home's");
        }
        let Some(seq) = entries.last().map(|entry| entry.seq) else {
            panic!("region {region}, chat {chat}: an empty apply");
        };
        let store = &mut self.regions[region].store;
        for entry in entries {
            store.log.insert((chat.clone(), entry.seq), entry);
        }
        let input = receiver::Input::Applied { chat_id: chat, seq };
        self.drive_receiver(region, peer, input);
    }

    fn act(&mut self, action: Action) {
        self.max_lag = self.max_lag.max(self.shipper_lag());
        match action {
            Action::LocalSend { chat } => {
                let (chat, home) = self.scenario.chats[chat].clone();
                if self.regions[home].down > 0 {
                    return;
                }
                self.sends += 1;
                let send = self.new_send(home, &chat, false);
                let (_, new) = self.regions[home].store.sequence(&send, self.now);
                assert!(new, "a fresh local send is committed");
                self.committed(home, &chat);
            }
            Action::Forward {
                region,
                chat,
                reject,
            } => {
                if self.regions[region].down > 0 {
                    return;
                }
                let (chat, home) = self.scenario.chats[chat].clone();
                self.sends += 1;
                let item = self.new_send(region, &chat, reject);
                let store = &mut self.regions[region].store;
                store.outbox.insert(store.next_row, item.clone());
                store.next_row += 1;
                self.forwarded.push(Forwarded {
                    region,
                    item: item.clone(),
                    reject,
                });
                self.drive_outbox(region, home, outbox::Input::Submit(item));
            }
            Action::Partition { a, b } => {
                if let Some(link) = self.links.get_mut(&(a.min(b), a.max(b))) {
                    link.partitions += 1;
                }
                self.reconcile(a.min(b), a.max(b));
            }
            Action::Heal { a, b } => {
                if let Some(link) = self.links.get_mut(&(a.min(b), a.max(b))) {
                    link.partitions = link.partitions.saturating_sub(1);
                }
                self.reconcile(a.min(b), a.max(b));
            }
            Action::Restart { region } => {
                self.restarts += 1;
                self.regions[region].down += 1;
                self.reconcile_region(region);
                let scenario = self.scenario.clone();
                self.regions[region].rebuild(&scenario, self.now);
            }
            Action::Restarted { region } => {
                self.regions[region].down = self.regions[region].down.saturating_sub(1);
                self.reconcile_region(region);
            }
        }
    }

    /// A user's send at `region` to `chat`.
    fn new_send(&mut self, region: usize, chat: &str, reject: bool) -> ForwardSend {
        let n = self.sends;
        ForwardSend {
            id: format!("r{region}-item{n}"),
            chat_id: chat.to_string(),
            sender_id: format!("user-{region}-{}", n % 3),
            device_id: "dev-1".into(),
            client_msg_id: format!("msg-{n}"),
            text: if reject {
                format!("reject {n}")
            } else {
                format!("hello {n}")
            },
            hlc: Hlc::new(1_700_000_000_000 + self.now.0, 0),
        }
    }

    fn shipper_lag(&self) -> u64 {
        self.regions
            .iter()
            .flat_map(|region| region.shippers.values())
            .map(|shipper| shipper.lag(self.now).events_behind)
            .sum()
    }

    /// Tells every shipper of `region` about the chat's new last seq.
    fn committed(&mut self, region: usize, chat: &str) {
        let seq = self.regions[region].store.last_seq(chat);
        let peers: Vec<usize> = self.regions[region].shippers.keys().copied().collect();
        for peer in peers {
            let input = shipper::Input::Committed {
                chat_id: chat.to_string(),
                seq,
            };
            self.drive_shipper(region, peer, input);
        }
    }

    fn reconcile_region(&mut self, region: usize) {
        let pairs: Vec<(usize, usize)> = self
            .links
            .keys()
            .copied()
            .filter(|&(a, b)| a == region || b == region)
            .collect();
        for (a, b) in pairs {
            self.reconcile(a, b);
        }
    }

    /// Brings the link's connection up or down to match partitions and
    /// restarts, telling both ends' machines.
    fn reconcile(&mut self, a: usize, b: usize) {
        let reachable = self.regions[a].down == 0 && self.regions[b].down == 0;
        let Some(link) = self.links.get_mut(&(a, b)) else {
            return;
        };
        let up = reachable && link.partitions == 0;
        if link.up == up {
            return;
        }
        link.up = up;
        link.epoch += 1;
        self.connections += u64::from(up);
        for (x, y) in [(a, b), (b, a)] {
            if up {
                self.drive_shipper(x, y, shipper::Input::PeerConnected);
                self.drive_receiver(x, y, receiver::Input::PeerConnected);
                self.drive_outbox(x, y, outbox::Input::PeerConnected);
            } else {
                self.drive_shipper(x, y, shipper::Input::PeerDisconnected);
                self.drive_receiver(x, y, receiver::Input::PeerDisconnected);
                self.drive_outbox(x, y, outbox::Input::PeerDisconnected);
            }
        }
    }

    /// Puts a message on the wire, if the connection is up.
    fn send(&mut self, from: usize, to: usize, message: PeerMessage) {
        let key = (from.min(to), from.max(to));
        let Some(link) = self.links.get_mut(&key) else {
            return;
        };
        if !link.up {
            return;
        }
        let epoch = link.epoch;
        let text = serde_json::to_string(&message).expect("peer messages encode");
        let times = deliveries(&self.scenario.net, &mut self.rng, link, from < to, self.now);
        *self.sent.entry(kind(&message)).or_default() += 1;
        match times.len() {
            0 => self.lost += 1,
            1 => {}
            _ => self.duplicated += 1,
        }
        for at in times {
            let text = text.clone();
            self.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    epoch,
                    text,
                },
            );
        }
    }

    fn drive_shipper(&mut self, region: usize, peer: usize, input: shipper::Input) {
        let now = self.now;
        let Some(machine) = self.regions[region].shippers.get_mut(&peer) else {
            return;
        };
        for output in machine.handle(now, input) {
            match output {
                shipper::Output::Send(message) => self.send(region, peer, message),
                shipper::Output::ReadLog {
                    chat_id,
                    after_seq,
                    limit,
                } => {
                    let at = Millis(now.0 + self.rng.gen_range(0..=5));
                    let life = self.regions[region].life;
                    let event = Event::ReadDone {
                        region,
                        life,
                        peer,
                        chat: chat_id,
                        after: after_seq,
                        limit,
                    };
                    self.push(at, event);
                }
            }
        }
    }

    fn drive_receiver(&mut self, region: usize, peer: usize, input: receiver::Input) {
        let now = self.now;
        let Some(machine) = self.regions[region].receivers.get_mut(&peer) else {
            return;
        };
        for output in machine.handle(now, input) {
            match output {
                receiver::Output::Send(message) => self.send(region, peer, message),
                receiver::Output::Apply { chat_id, entries } => {
                    let delay = self.rng.gen_range(1..=10);
                    let state = &mut self.regions[region];
                    let tail = state.apply_tail.get(&chat_id).copied().unwrap_or(now);
                    let at = Millis((now.0 + delay).max(tail.0));
                    state.apply_tail.insert(chat_id.clone(), at);
                    let event = Event::ApplyDone {
                        region,
                        life: state.life,
                        peer,
                        chat: chat_id,
                        entries,
                    };
                    self.push(at, event);
                }
            }
        }
    }

    fn drive_outbox(&mut self, region: usize, peer: usize, input: outbox::Input) {
        let now = self.now;
        let Some(machine) = self.regions[region].outboxes.get_mut(&peer) else {
            return;
        };
        for output in machine.handle(now, input) {
            match output {
                outbox::Output::Send(message) => self.send(region, peer, message),
                outbox::Output::Done { item, outcome } => {
                    let store = &mut self.regions[region].store;
                    store.outbox.retain(|_, row| row.id != item.id);
                    self.done.entry(item.id).or_default().push(outcome);
                }
            }
        }
    }
}
