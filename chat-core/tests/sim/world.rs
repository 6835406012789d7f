//! The event loop: plays the async shell for every chat core and every
//! replication machine of every region.
//!
//! Events (deliveries, completed store reads and writes, workload actions)
//! wait in a queue ordered by simulated time; cores' and machines' timers
//! are asked with `poll_timeout` before each step, and whichever comes
//! first runs. A core's outputs are carried out as region-node's chat
//! shell does: its writes are one transaction (applied to the store at
//! once), then replies, deliveries, entries for the shippers and sends to
//! forward. The run is over when the queue is empty and nothing waits on a
//! timer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chat_core::{Change, ChatError, Input, Output, Reply, Send, Token, Write};
use protocol::frames::ServerFrame;
use protocol::peer::{ForwardOutcome, ForwardResult, ForwardSend, LogEntry, PeerMessage};
use protocol::{ErrorCode, Hlc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync::replication::{Millis, Routed, outbox, receiver, route, shipper};

use super::net::{Link, deliveries};
use super::region::Region;
use super::workload::{Action, FIRST_MEMBERS, Scenario, user};

/// What a send attempt was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Sequenced at `seq` (now, or earlier for a retry).
    Sent {
        /// Its position.
        seq: u64,
        /// Its clock.
        hlc: Hlc,
    },
    /// Refused for good.
    Refused(ErrorCode),
}

/// One user's send (or a forged forward), for the checks.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Where it was sent from.
    pub region: usize,
    /// The chat.
    pub chat: String,
    /// The sender.
    pub sender: String,
    /// The sender's idempotency key.
    pub client_msg_id: String,
    /// The outbox item it became, if it was forwarded.
    pub item: Option<String>,
    /// Every answer it got (an outbox may report an item more than once).
    pub answers: Vec<Answer>,
}

/// Who waits for a core's reply.
#[derive(Debug)]
enum Waiter {
    /// A user's send: the attempt's index.
    Send(usize),
    /// A send forwarded by region `from`, answered with a `forward_result`.
    Forwarded { from: usize, id: String },
    /// The owner's membership change.
    Change,
    /// A group's creation.
    Create,
    /// A receiver's apply for the chats `peer` homes.
    Apply { peer: usize },
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

/// A core or machine, for its timer.
#[derive(Debug, Clone)]
enum Machine {
    Core(usize, String),
    Shipper(usize, usize),
    Receiver(usize, usize),
    Outbox(usize, usize),
}

/// A user's membership spells in a chat: `(joined_seq, removed_seq)`.
pub type Spells = Vec<(u64, Option<u64>)>;

/// Every region, the network between them and the clock.
#[derive(Debug)]
pub struct World {
    /// What is being simulated.
    pub scenario: Scenario,
    /// Simulated time.
    pub now: Millis,
    /// The same time, for the regions' clocks.
    time: Arc<AtomicU64>,
    rng: StdRng,
    /// The regions.
    pub regions: Vec<Region>,
    links: BTreeMap<(usize, usize), Link>,
    queue: BTreeMap<(Millis, u64), Event>,
    next_event: u64,
    next_token: Token,
    waiting: BTreeMap<Token, Waiter>,
    /// Every send attempt, in submission order.
    pub attempts: Vec<Attempt>,
    /// Outbox item id → attempt.
    items: BTreeMap<String, usize>,
    /// `(region, chat, seq)` → the recipients of each delivery of the
    /// message at `seq` there (sorted).
    pub delivered: BTreeMap<(usize, String, u64), Vec<Vec<String>>>,
    /// Per chat and user, the membership spells the home wrote, in order:
    /// the model the fan-out is checked against.
    pub spells: BTreeMap<String, BTreeMap<String, Spells>>,
    /// Membership changes the home made, and refused.
    pub changes: (usize, usize),
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
    /// Shipper reads served from memory, and from the store.
    pub reads: (u64, u64),
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

/// The index of the region named `name`.
fn region_index(name: &str) -> usize {
    name.strip_prefix('r')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no region {name}"))
}

impl World {
    /// Regions with empty stores, every chat created at its home, the
    /// seeded schedule queued, links up.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let schedule = scenario.schedule(&mut rng);
        let time = Arc::new(AtomicU64::new(0));
        let regions = (0..scenario.regions)
            .map(|id| Region::new(id, scenario, time.clone()))
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
            time,
            rng,
            regions,
            links,
            queue: BTreeMap::new(),
            next_event: 0,
            next_token: 0,
            waiting: BTreeMap::new(),
            attempts: Vec::new(),
            items: BTreeMap::new(),
            delivered: BTreeMap::new(),
            spells: BTreeMap::new(),
            changes: (0, 0),
            restarts: 0,
            max_lag: 0,
            steps: 0,
            sent: BTreeMap::new(),
            lost: 0,
            duplicated: 0,
            connections: 0,
            reads: (0, 0),
        };
        for (chat, home) in scenario.chats.clone() {
            let token = world.wait(Waiter::Create);
            let input = Input::CreateGroup {
                token,
                owner: user(0),
                members: (0..FIRST_MEMBERS).map(user).collect(),
                title: format!("group {chat}"),
                description: String::new(),
            };
            world.run_core(home, &chat, input);
        }
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

    /// The owner adds or removes user `user` of chat `chat` now, as the
    /// workload's `Change` does.
    pub fn change(&mut self, chat: usize, user: usize, add: bool) {
        self.act(Action::Change { chat, user, add });
    }

    /// Whether any core reply is still awaited.
    pub fn replies_pending(&self) -> usize {
        self.waiting.len()
    }

    /// Runs until nothing is queued and nothing waits on a timer.
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
                    self.set_now(at);
                    self.tick(machine);
                }
                _ => {
                    let Some(((at, _), event)) = self.queue.pop_first() else {
                        break;
                    };
                    self.set_now(at);
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

    fn set_now(&mut self, at: Millis) {
        self.now = self.now.max(at);
        self.time.store(self.now.0, Ordering::Relaxed);
    }

    fn push(&mut self, at: Millis, event: Event) {
        self.next_event += 1;
        self.queue.insert((at, self.next_event), event);
    }

    fn wait(&mut self, waiter: Waiter) -> Token {
        self.next_token += 1;
        self.waiting.insert(self.next_token, waiter);
        self.next_token
    }

    fn next_timer(&self) -> Option<(Millis, Machine)> {
        let mut best: Option<(Millis, Machine)> = None;
        let mut consider = |at: Option<Millis>, machine: &dyn Fn() -> Machine| {
            if let Some(at) = at.filter(|&at| best.as_ref().is_none_or(|(b, _)| at < *b)) {
                best = Some((at, machine()));
            }
        };
        for region in &self.regions {
            let r = region.id;
            for (chat, core) in &region.cores {
                consider(core.poll_timeout(), &|| Machine::Core(r, chat.clone()));
            }
            for (&peer, m) in &region.shippers {
                consider(m.poll_timeout(), &|| Machine::Shipper(r, peer));
            }
            for (&peer, m) in &region.receivers {
                consider(m.poll_timeout(), &|| Machine::Receiver(r, peer));
            }
            for (&peer, m) in &region.outboxes {
                consider(m.poll_timeout(), &|| Machine::Outbox(r, peer));
            }
        }
        best
    }

    fn tick(&mut self, machine: Machine) {
        match machine {
            Machine::Core(r, chat) => self.run_core(r, &chat, Input::Tick),
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
                if live {
                    let message: PeerMessage =
                        serde_json::from_str(&text).expect("peer messages decode");
                    self.deliver(from, to, message);
                } else {
                    self.lost += 1;
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
                let from_memory = self.regions[region].recent_read(&chat, after, limit);
                let mut entries = match from_memory {
                    Some(entries) => {
                        self.reads.0 += 1;
                        entries
                    }
                    None => {
                        self.reads.1 += 1;
                        self.regions[region].store.read(&chat, after, limit)
                    }
                };
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
                    assert_eq!(
                        self.scenario.home(&chat),
                        peer,
                        "entries come from the home"
                    );
                    let token = self.wait(Waiter::Apply { peer });
                    self.run_core(region, &chat, Input::Replicated { token, entries });
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
            Routed::Sequencer(item) => {
                assert_eq!(
                    self.scenario.home(&item.chat_id),
                    to,
                    "forwarded to the home"
                );
                let stored = self.regions[to].store.stored(
                    &item.chat_id,
                    &item.sender_id,
                    &item.client_msg_id,
                );
                let token = self.wait(Waiter::Forwarded {
                    from,
                    id: item.id.clone(),
                });
                let send = Send {
                    token,
                    author: item.sender_id,
                    client_msg_id: item.client_msg_id,
                    text: item.text,
                    forwarded: true,
                    stored,
                    blocked: false,
                };
                self.run_core(to, &item.chat_id, Input::Send(send));
            }
        }
    }

    /// Feeds one input to a region's core of `chat` as its shell does: the
    /// writes are committed at once, then the other outputs carried out.
    fn run_core(&mut self, region: usize, chat: &str, input: Input) {
        let now = self.now;
        let core = self.regions[region]
            .cores
            .get_mut(chat)
            .expect("every region has a core per chat");
        let outputs = core.handle(now, input);
        let home = self.scenario.home(chat) == region;
        let mut effects = Vec::with_capacity(outputs.len());
        for output in outputs {
            match output {
                Output::Write(write) => {
                    if let (true, Write::Member(member)) = (home, &write) {
                        let spells = self
                            .spells
                            .entry(chat.to_owned())
                            .or_default()
                            .entry(member.user_id.clone())
                            .or_default();
                        match spells.last_mut() {
                            Some(last) if last.0 == member.joined_seq => {
                                last.1 = member.removed_seq;
                            }
                            _ => spells.push((member.joined_seq, member.removed_seq)),
                        }
                    }
                    self.regions[region].store.write(chat, write);
                }
                other => effects.push(other),
            }
        }
        if let Some(core) = self.regions[region].cores.get_mut(chat) {
            core.batch_committed();
        }
        let mut shipped = None;
        for effect in effects {
            match effect {
                Output::Reply { token, reply } => self.answer(region, chat, token, reply),
                Output::Deliver {
                    frame: ServerFrame::Message(message),
                    seq,
                    recipients,
                } => {
                    assert_eq!(seq, Some(message.seq), "a message frame carries its seq");
                    let mut to: Vec<String> = recipients.to_vec();
                    to.sort();
                    self.delivered
                        .entry((region, chat.to_owned(), message.seq))
                        .or_default()
                        .push(to);
                }
                Output::Deliver { .. } | Output::Gossip(_) | Output::Write(_) => {}
                Output::Ship(entry) => {
                    assert!(home, "only the home ships");
                    shipped = Some(entry.seq);
                    let keep = self.scenario.recent;
                    self.regions[region].remember(entry, keep);
                }
                Output::Forward {
                    token, home, item, ..
                } => {
                    let Some(Waiter::Send(attempt)) = self.waiting.remove(&token) else {
                        panic!("a forward answers a user's send");
                    };
                    self.attempts[attempt].item = Some(item.id.clone());
                    self.items.insert(item.id.clone(), attempt);
                    self.submit(region, region_index(&home), item);
                }
            }
        }
        if let Some(seq) = shipped {
            self.committed(region, chat, seq);
        }
    }

    /// Carries a core's reply to whoever waits for it.
    fn answer(&mut self, region: usize, chat: &str, token: Token, reply: Result<Reply, ChatError>) {
        let Some(waiter) = self.waiting.remove(&token) else {
            panic!("region {region}, chat {chat}: a reply nobody waits for: {reply:?}");
        };
        match waiter {
            Waiter::Send(attempt) => {
                let answer = match reply {
                    Ok(Reply::Sent(appended)) => Answer::Sent {
                        seq: appended.seq,
                        hlc: appended.hlc,
                    },
                    Err(error) => Answer::Refused(error.code()),
                    Ok(other) => panic!("a send answered {other:?}"),
                };
                self.attempts[attempt].answers.push(answer);
            }
            Waiter::Forwarded { from, id } => {
                let outcome = match reply {
                    Ok(Reply::Sent(appended)) => ForwardOutcome::Sequenced {
                        seq: appended.seq,
                        hlc: appended.hlc,
                    },
                    Err(error) => ForwardOutcome::Rejected {
                        code: error.code(),
                        message: error.to_string(),
                    },
                    Ok(other) => panic!("a forwarded send answered {other:?}"),
                };
                let result = ForwardResult { id, outcome };
                self.send(region, from, PeerMessage::ForwardResult(result));
            }
            Waiter::Change => match reply {
                Ok(_) => self.changes.0 += 1,
                Err(_) => self.changes.1 += 1,
            },
            Waiter::Create => {
                assert!(reply.is_ok(), "chat {chat} is created: {reply:?}");
            }
            Waiter::Apply { peer } => match reply {
                Ok(Reply::Applied(seq)) => {
                    let input = receiver::Input::Applied {
                        chat_id: chat.to_owned(),
                        seq,
                    };
                    self.drive_receiver(region, peer, input);
                }
                other => panic!(
                    "region {region}, chat {chat}: the replica refused the receiver's apply: {other:?}"
                ),
            },
        }
    }

    /// Holds a send for the chat's home durably and hands it to the outbox.
    fn submit(&mut self, region: usize, home: usize, item: ForwardSend) {
        let store = &mut self.regions[region].store;
        store.outbox.insert(store.next_row, item.clone());
        store.next_row += 1;
        self.drive_outbox(region, home, outbox::Input::Submit(item));
    }

    fn act(&mut self, action: Action) {
        self.max_lag = self.max_lag.max(self.shipper_lag());
        match action {
            Action::Send {
                region,
                chat,
                user: u,
                client_msg_id,
            } => {
                if self.regions[region].down > 0 {
                    return;
                }
                let (chat, home) = self.scenario.chats[chat].clone();
                let author = user(u);
                // Only the home keeps a dedup table; elsewhere the core forwards.
                let stored = (region == home)
                    .then(|| {
                        self.regions[region]
                            .store
                            .stored(&chat, &author, &client_msg_id)
                    })
                    .flatten();
                self.attempts.push(Attempt {
                    region,
                    chat: chat.clone(),
                    sender: author.clone(),
                    client_msg_id: client_msg_id.clone(),
                    item: None,
                    answers: Vec::new(),
                });
                let token = self.wait(Waiter::Send(self.attempts.len() - 1));
                let send = Send {
                    token,
                    text: format!("{author} says {client_msg_id}"),
                    author,
                    client_msg_id,
                    forwarded: false,
                    stored,
                    blocked: false,
                };
                self.run_core(region, &chat, Input::Send(send));
            }
            Action::Change { chat, user: u, add } => {
                let (chat, home) = self.scenario.chats[chat].clone();
                if self.regions[home].down > 0 {
                    return;
                }
                let change = if add {
                    Change::AddMembers(vec![user(u)])
                } else {
                    Change::Remove(user(u))
                };
                let token = self.wait(Waiter::Change);
                let input = Input::Change {
                    token,
                    actor: user(0),
                    change,
                };
                self.run_core(home, &chat, input);
            }
            Action::Stranger { region, chat, n } => {
                if self.regions[region].down > 0 {
                    return;
                }
                let (chat, home) = self.scenario.chats[chat].clone();
                let item = ForwardSend {
                    id: format!("stranger-r{region}-{n}"),
                    chat_id: chat.clone(),
                    sender_id: format!("stranger{n}"),
                    device_id: String::new(),
                    client_msg_id: format!("s{n}"),
                    text: "let me in".into(),
                    hlc: self.regions[region].config.clock.stamp(),
                };
                self.attempts.push(Attempt {
                    region,
                    chat,
                    sender: item.sender_id.clone(),
                    client_msg_id: item.client_msg_id.clone(),
                    item: Some(item.id.clone()),
                    answers: Vec::new(),
                });
                self.items.insert(item.id.clone(), self.attempts.len() - 1);
                self.submit(region, home, item);
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

    fn shipper_lag(&self) -> u64 {
        self.regions
            .iter()
            .flat_map(|region| region.shippers.values())
            .map(|shipper| shipper.lag(self.now).events_behind)
            .sum()
    }

    /// Tells every shipper of `region` about the chat's new last seq.
    fn committed(&mut self, region: usize, chat: &str, seq: u64) {
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
                    let answer = match outcome {
                        ForwardOutcome::Sequenced { seq, hlc } => Answer::Sent { seq, hlc },
                        ForwardOutcome::Rejected { code, .. } => Answer::Refused(code),
                    };
                    let attempt = *self
                        .items
                        .get(&item.id)
                        .unwrap_or_else(|| panic!("item {} was submitted", item.id));
                    self.attempts[attempt].answers.push(answer);
                }
            }
        }
    }
}
