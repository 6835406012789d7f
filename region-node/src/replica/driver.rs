//! The mesh driver: one task that owns every peer's replication machines
//! (shipper, receiver, outbox), feeds them transport events, commands from
//! the node and the time, and carries out what they return. Store reads
//! and writes run in tasks of their own and report back as commands, so
//! the driver never waits on the disk.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use std::collections::VecDeque;

use bytes::Bytes;
use protocol::peer::{ForwardOutcome, ForwardResult, ForwardSend, LogEntry, PeerMessage};
use sync::replication::{
    Millis, Outbox, OutboxConfig, Receiver, ReceiverConfig, Routed, Shipper, ShipperConfig, outbox,
    receiver, route, shipper,
};
use sync::transport::{Channel, TransportEvent};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{Handles, deltas, logs, outbox as durable, requests};
use crate::link::{Command, Link, LinkRunner};
use crate::metrics::{ForwardOutcome as Forwarded, RefusalReason};

/// Most sends in flight to one home per chat; the log channel is one
/// ordered stream per link, so several in flight keep their order.
const FORWARDS_IN_FLIGHT: usize = 64;

/// Events and commands handled in a row before the timers are looked at.
const DRAIN: usize = 256;

/// How often lag, offsets and pending counts are exported.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// The machines of one peer region.
struct Peer {
    shipper: Shipper,
    receiver: Receiver,
    outbox: Outbox,
    applier: Applier,
    /// Bumped when the receiver is rebuilt; the applier skips older jobs
    /// after a failure.
    generation: u64,
}

/// Entries of one log to apply, from receiver generation `.0`.
type ApplyJob = (u64, String, Vec<LogEntry>);

/// Newest entries kept in memory per chat for the shippers: a window's
/// worth, so a peer keeping up is shipped without a store read.
const RECENT_PER_LOG: usize = 256;

/// Bytes of recent entries kept in memory in all; past it the cache is
/// dropped and the shippers read the store until it fills again.
const RECENT_BYTES: usize = 64 * 1024 * 1024;

/// Committed entries of the logs homed here, newest last.
#[derive(Default)]
struct Recent {
    logs: HashMap<String, VecDeque<LogEntry>>,
    bytes: usize,
}

impl Recent {
    fn add(&mut self, log_id: &str, entries: Vec<LogEntry>) {
        let log = self.logs.entry(log_id.to_owned()).or_default();
        for entry in entries {
            if log.back().is_some_and(|last| last.seq + 1 != entry.seq) {
                // Not contiguous (a restart or a gap): start again.
                self.bytes -= log.iter().map(|e| e.body.approx_size()).sum::<usize>();
                log.clear();
            }
            self.bytes += entry.body.approx_size();
            log.push_back(entry);
            if log.len() > RECENT_PER_LOG
                && let Some(old) = log.pop_front()
            {
                self.bytes -= old.body.approx_size();
            }
        }
        if self.bytes > RECENT_BYTES {
            self.logs.clear();
            self.bytes = 0;
        }
    }

    /// Up to `limit` entries after `after_seq`, if memory holds the next one.
    fn read(&self, log_id: &str, after_seq: u64, limit: usize) -> Option<Vec<LogEntry>> {
        let log = self.logs.get(log_id)?;
        let first = log.front()?.seq;
        if first > after_seq + 1 || log.back()?.seq <= after_seq {
            return None;
        }
        let skip = usize::try_from(after_seq + 1 - first).ok()?;
        Some(log.iter().skip(skip).take(limit).cloned().collect())
    }
}

/// The driver's state.
pub(super) struct Driver {
    handles: Handles,
    mesh: Link,
    recent: Recent,
    peers: BTreeMap<String, Peer>,
    start: Instant,
    /// When metrics were last exported.
    reported: Instant,
    waiters: HashMap<String, oneshot::Sender<ForwardOutcome>>,
    receiver_config: ReceiverConfig,
}

impl Driver {
    pub(super) fn new(handles: Handles) -> Self {
        Self {
            mesh: handles.link.clone(),
            handles,
            recent: Recent::default(),
            peers: BTreeMap::new(),
            start: Instant::now(),
            reported: Instant::now(),
            waiters: HashMap::new(),
            receiver_config: ReceiverConfig::default(),
        }
    }

    fn now(&self) -> Millis {
        Millis::since(self.start.into_std(), Instant::now().into_std())
    }

    /// Runs until `shutdown`.
    pub(super) async fn run(mut self, runner: LinkRunner, shutdown: CancellationToken) {
        let LinkRunner {
            mut events,
            mut commands,
        } = runner;
        let span = tracing::info_span!("mesh", region = %self.mesh.region());
        async {
            if let Err(error) = self.load().await {
                tracing::error!(%error, "cannot start replication");
                return;
            }
            loop {
                let deadline = self.deadline();
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    event = events.recv() => match event {
                        Some(event) => self.on_event(event).await,
                        None => break,
                    },
                    command = commands.recv() => match command {
                        Some(command) => self.on_command(command),
                        None => break,
                    },
                    () = tokio::time::sleep_until(deadline) => self.tick(),
                }
                // Take what is already queued before looking at the clocks
                // again: under load, commits and acks arrive faster than one
                // at a time.
                for _ in 0..DRAIN {
                    if let Ok(command) = commands.try_recv() {
                        self.on_command(command);
                    } else if let Ok(event) = events.try_recv() {
                        self.on_event(event).await;
                    } else {
                        break;
                    }
                }
            }
            self.mesh.shutdown().await;
        }
        .instrument(span)
        .await;
    }

    /// Builds every peer's machines from the store: the logs this region
    /// homes, the replica cursors of each peer's logs, and the outbox.
    async fn load(&mut self) -> Result<(), crate::chat::Error> {
        let settings = &self.mesh.config().topology.settings.replication;
        let shipper_config = ShipperConfig {
            window: settings.window as u64,
            max_entries_per_message: settings.batch_entries as usize,
            ..ShipperConfig::default()
        };
        let receiver_config = ReceiverConfig {
            ack_delay: Duration::from_millis(settings.ack_interval_ms),
            ..ReceiverConfig::default()
        };
        self.receiver_config = receiver_config.clone();
        let homed = logs::homed(&self.handles, self.mesh.region()).await?;
        let pending = crate::chat::outbox::load(&self.handles.db).await?;
        let peers: Vec<String> = self
            .mesh
            .config()
            .peers
            .iter()
            .map(|p| p.region.clone())
            .collect();
        for name in peers {
            let cursors = logs::replica_cursors(&self.handles, &name).await?;
            let mut peer = Peer {
                shipper: Shipper::new(shipper_config.clone()),
                receiver: Receiver::new(receiver_config.clone(), cursors),
                outbox: Outbox::new(OutboxConfig {
                    max_in_flight_per_chat: FORWARDS_IN_FLIGHT,
                    ..OutboxConfig::default()
                }),
                applier: spawn_applier(&self.handles, name.clone()),
                generation: 0,
            };
            let now = self.now();
            for (log_id, seq) in &homed {
                let _ = peer.shipper.handle(
                    now,
                    shipper::Input::Committed {
                        chat_id: log_id.clone(),
                        seq: *seq,
                    },
                );
            }
            for row in pending.iter().filter(|r| r.home == name) {
                let _ = peer
                    .outbox
                    .handle(now, outbox::Input::Submit(row.item.clone()));
            }
            self.peers.insert(name, peer);
        }
        tracing::info!(
            homed = homed.len(),
            outbox = pending.len(),
            "replication ready"
        );
        Ok(())
    }

    fn deadline(&self) -> Instant {
        let next = self
            .peers
            .values()
            .flat_map(|p| {
                [
                    p.shipper.poll_timeout(),
                    p.receiver.poll_timeout(),
                    p.outbox.poll_timeout(),
                ]
            })
            .flatten()
            .min();
        let fallback = Instant::now() + Duration::from_secs(1);
        next.map_or(fallback, |at| {
            (self.start + Duration::from_millis(at.0)).min(fallback)
        })
    }

    fn tick(&mut self) {
        let now = self.now();
        let names: Vec<String> = self.peers.keys().cloned().collect();
        for name in names {
            self.shipper(&name, now, shipper::Input::Tick);
            self.receiver(&name, now, receiver::Input::Tick);
            self.outbox(&name, now, outbox::Input::Tick);
        }
        // Lag is summed over every chat: once a second is enough.
        if self.reported.elapsed() >= REPORT_EVERY {
            self.reported = Instant::now();
            self.report();
        }
    }

    async fn on_event(&mut self, event: TransportEvent) {
        let now = self.now();
        match event {
            TransportEvent::PeerUp { peer } => {
                tracing::info!(%peer, "link up");
                self.handles.metrics.set_peer_up(&peer, true);
                self.shipper(&peer, now, shipper::Input::PeerConnected);
                self.receiver(&peer, now, receiver::Input::PeerConnected);
                self.outbox(&peer, now, outbox::Input::PeerConnected);
                let handles = self.handles.clone();
                tokio::spawn(async move { deltas::resync(&handles, &peer).await });
            }
            TransportEvent::PeerDown { peer, reason } => {
                tracing::info!(%peer, %reason, "link down");
                self.handles.metrics.set_peer_up(&peer, false);
                self.handles.hub.presence.region_down(&peer);
                self.shipper(&peer, now, shipper::Input::PeerDisconnected);
                self.receiver(&peer, now, receiver::Input::PeerDisconnected);
                self.outbox(&peer, now, outbox::Input::PeerDisconnected);
            }
            TransportEvent::Message {
                peer,
                body,
                channel: Channel::Crdt,
            }
            | TransportEvent::Datagram { peer, body } => {
                let handles = self.handles.clone();
                tokio::spawn(async move { deltas::apply(&handles, &peer, &body).await });
            }
            TransportEvent::Message { peer, body, .. } => {
                match serde_json::from_slice::<PeerMessage>(&body) {
                    Ok(message) => self.on_message(&peer, now, message).await,
                    Err(error) => tracing::warn!(%peer, %error, "unreadable peer message"),
                }
            }
            TransportEvent::Request { peer, body, reply } => {
                let handles = self.handles.clone();
                tokio::spawn(
                    async move {
                        let answer = requests::answer(&handles, &peer, &body).await;
                        let _ = reply.send(Bytes::from(answer));
                    }
                    .in_current_span(),
                );
            }
            TransportEvent::Refused { peer, reason } => {
                tracing::warn!(%peer, %reason, "link refused");
                self.handles
                    .metrics
                    .refused(&peer, RefusalReason::classify(&reason));
            }
        }
    }

    async fn on_message(&mut self, peer: &str, now: Millis, message: PeerMessage) {
        // Entries whose clock this region cannot take in would show
        // messages that a reply from here would order before: they are
        // refused (not acknowledged, so the peer ships them again) until the
        // peer's clock is back within the max offset.
        if let PeerMessage::Entries { entries, .. } = &message
            && !entries
                .iter()
                .all(|entry| self.take_clock(peer, entry.hlc, "entries"))
        {
            return;
        }
        // A sequenced forward's HLC goes back to the sender as its `sent`:
        // this region's clock takes it in, so whatever the sender does next
        // here orders after it. An answer it cannot take in is left
        // unread; the outbox asks again once the clocks agree.
        if let PeerMessage::ForwardResult(ForwardResult {
            outcome: ForwardOutcome::Sequenced { hlc, .. },
            ..
        }) = &message
            && !self.take_clock(peer, *hlc, "forwarded send's answer")
        {
            return;
        }
        match route(message) {
            Routed::Shipper(input) => self.shipper(peer, now, input),
            Routed::Receiver(input) => self.receiver(peer, now, input),
            Routed::Outbox(input) => self.outbox(peer, now, input),
            Routed::Sequencer(item) => self.sequence(peer, item).await,
        }
    }

    /// Takes `peer`'s clock reading into this region's clock; false (logged
    /// and counted as a clock-offset refusal) when it runs further ahead
    /// than the max offset, and `what` carried it must wait.
    fn take_clock(&self, peer: &str, hlc: protocol::Hlc, what: &str) -> bool {
        match self.mesh.clock().update(hlc) {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%peer, %error, "{what} refused until the peer's clock is within the max offset");
                self.handles
                    .metrics
                    .refused(peer, RefusalReason::ClockOffset);
                false
            }
        }
    }

    /// A peer's user sent to a chat homed here: sequence it like a local
    /// send (the chat dedups by client_msg_id) and answer when committed.
    /// The chat's queue is entered here, in arrival order.
    async fn sequence(&mut self, peer: &str, item: ForwardSend) {
        // Sequenced under a clock that could not take in the sender's, the
        // message would order before what its sender had seen: leave it
        // unanswered, and the forwarding region's outbox sends it again.
        if !self.take_clock(peer, item.hlc, "forwarded send") {
            return;
        }
        let mesh = self.mesh.clone();
        let to = peer.to_owned();
        let id = item.id.clone();
        // The chat's task answers the peer itself once the send commits:
        // no task per forwarded send waits for it.
        let answer = move |outcome: Result<chat_core::Appended, crate::chat::Error>| {
            let outcome = match outcome {
                Ok(appended) => ForwardOutcome::Sequenced {
                    seq: appended.seq,
                    hlc: appended.hlc,
                },
                Err(error) => rejected(&error),
            };
            send(
                &mesh,
                &to,
                &PeerMessage::ForwardResult(ForwardResult { id, outcome }),
            );
        };
        let queued = match chat_core::Action::of_forward(&item) {
            Ok(action) => {
                self.handles
                    .chats
                    .send_then(
                        &item.sender_id,
                        &item.chat_id,
                        crate::chat::Draft {
                            client_msg_id: &item.client_msg_id,
                            text: &item.text,
                            action,
                        },
                        true,
                        answer,
                    )
                    .await
            }
            Err(error) => Err(error.into()),
        };
        if let Err(error) = queued {
            let result = PeerMessage::ForwardResult(ForwardResult {
                id: item.id,
                outcome: rejected(&error),
            });
            send(&self.mesh, peer, &result);
        }
    }

    fn on_command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Committed {
                log_id,
                seq,
                entries,
            } => {
                self.recent.add(&log_id, entries);
                let names: Vec<String> = self.peers.keys().cloned().collect();
                for name in names {
                    self.shipper(
                        &name,
                        now,
                        shipper::Input::Committed {
                            chat_id: log_id.clone(),
                            seq,
                        },
                    );
                }
            }
            Command::Submit { home, item, done } => {
                self.waiters.insert(item.id.clone(), done);
                self.outbox(&home, now, outbox::Input::Submit(item));
            }
            Command::LogRead {
                peer,
                log_id,
                entries,
            } => self.shipper(
                &peer,
                now,
                shipper::Input::LogRead {
                    chat_id: log_id,
                    entries,
                },
            ),
            Command::Applied { peer, log_id, seq } => self.receiver(
                &peer,
                now,
                receiver::Input::Applied {
                    chat_id: log_id,
                    seq,
                },
            ),
            Command::ApplyFailed { peer } => self.reload_receiver(peer),
            Command::Reload { peer, cursors } => {
                let connected = self.mesh.is_connected(&peer);
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.generation += 1;
                    p.receiver = Receiver::new(self.receiver_config.clone(), cursors);
                }
                if connected {
                    self.receiver(&peer, now, receiver::Input::PeerConnected);
                }
            }
        }
    }

    /// Rebuilds a receiver from the store after a failed write, as after a
    /// restart, so nothing is applied twice or skipped.
    fn reload_receiver(&self, peer: String) {
        let handles = self.handles.clone();
        let mesh = self.mesh.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            match logs::replica_cursors(&handles, &peer).await {
                Ok(cursors) => {
                    tracing::warn!(%peer, "replica writes failed; resuming from the store");
                    let _ = mesh.commands().send(Command::Reload { peer, cursors });
                }
                Err(error) => tracing::error!(%peer, %error, "cannot read replica cursors"),
            }
        });
    }

    fn shipper(&mut self, name: &str, now: Millis, input: shipper::Input) {
        let Some(peer) = self.peers.get_mut(name) else {
            return;
        };
        for output in peer.shipper.handle(now, input) {
            match output {
                shipper::Output::Send(message) => send(&self.mesh, name, &message),
                shipper::Output::ReadLog {
                    chat_id,
                    after_seq,
                    limit,
                } => {
                    // Entries just committed come from memory; the store
                    // is read only to catch a peer up.
                    if let Some(entries) = self.recent.read(&chat_id, after_seq, limit) {
                        let _ = self.mesh.commands().send(Command::LogRead {
                            peer: name.to_owned(),
                            log_id: chat_id,
                            entries,
                        });
                        continue;
                    }
                    let (handles, mesh, peer) =
                        (self.handles.clone(), self.mesh.clone(), name.to_owned());
                    tokio::spawn(async move {
                        let entries = logs::read(&handles, &chat_id, after_seq, limit)
                            .await
                            .unwrap_or_else(|error| {
                                tracing::warn!(chat = %chat_id, %error, "log read failed");
                                Vec::new()
                            });
                        let _ = mesh.commands().send(Command::LogRead {
                            peer,
                            log_id: chat_id,
                            entries,
                        });
                    });
                }
            }
        }
    }

    fn receiver(&mut self, name: &str, now: Millis, input: receiver::Input) {
        let Some(peer) = self.peers.get_mut(name) else {
            return;
        };
        for output in peer.receiver.handle(now, input) {
            match output {
                receiver::Output::Send(message) => send(&self.mesh, name, &message),
                receiver::Output::Apply { chat_id, entries } => {
                    peer.applier.send((peer.generation, chat_id, entries));
                }
            }
        }
    }

    fn outbox(&mut self, name: &str, now: Millis, input: outbox::Input) {
        let Some(peer) = self.peers.get_mut(name) else {
            return;
        };
        for output in peer.outbox.handle(now, input) {
            match output {
                outbox::Output::Send(message) => send(&self.mesh, name, &message),
                outbox::Output::Done { item, outcome } => {
                    self.handles.metrics.forwarded(
                        name,
                        match outcome {
                            ForwardOutcome::Sequenced { .. } => Forwarded::Sequenced,
                            ForwardOutcome::Rejected { .. } => Forwarded::Rejected,
                        },
                    );
                    let waiter = self.waiters.remove(&item.id);
                    let unanswered = match waiter {
                        Some(waiter) => waiter.send(outcome.clone()).is_err(),
                        None => true,
                    };
                    let handles = self.handles.clone();
                    tokio::spawn(async move {
                        durable::finish(&handles, &item, &outcome, unanswered).await;
                    });
                }
            }
        }
    }

    /// Exports lag, clock offsets and pending counts.
    fn report(&self) {
        let now = self.now();
        let metrics = &self.handles.metrics;
        let mut pending = 0;
        for (name, peer) in &self.peers {
            let lag = peer.shipper.lag(now);
            let age = lag
                .oldest_unacked_age
                .map_or(0, |a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
            metrics.set_lag(name, lag.events_behind, age);
            pending += peer.outbox.pending();
        }
        metrics.set_accepted_unsequenced(pending as u64);
        for (peer, offset) in self.mesh.clock().offsets() {
            metrics.set_clock_offset(&peer, offset);
        }
    }
}

fn rejected(error: &crate::chat::Error) -> ForwardOutcome {
    ForwardOutcome::Rejected {
        code: error.code(),
        message: error.to_string(),
    }
}

/// Sends a message on the log channel; a failure is left to the machines,
/// which resend.
fn send(mesh: &Link, peer: &str, message: &PeerMessage) {
    match serde_json::to_vec(message) {
        Ok(body) => {
            if let Err(error) = mesh.transport().send(peer, Channel::Log, Bytes::from(body)) {
                tracing::debug!(%peer, %error, "peer message not sent");
            }
        }
        Err(error) => tracing::error!(%error, "cannot encode a peer message"),
    }
}

/// Chats applied side by side per peer: each lane applies its chats'
/// batches in order, and the lanes' commits share the store's fsyncs.
const APPLY_LANES: usize = 16;

/// Applies one peer's entries: a chat's batches in order, different chats
/// side by side.
struct Applier {
    lanes: Vec<mpsc::UnboundedSender<ApplyJob>>,
}

impl Applier {
    /// Hands a batch to its chat's lane.
    fn send(&self, job: ApplyJob) {
        let lane = lane_of(&job.1, self.lanes.len());
        if let Some(lane) = self.lanes.get(lane) {
            let _ = lane.send(job);
        }
    }
}

/// The lane of `log_id` among `lanes`.
fn lane_of(log_id: &str, lanes: usize) -> usize {
    let hash = crate::link::fnv1a(log_id.as_bytes());
    usize::try_from(hash % lanes.max(1) as u64).unwrap_or(0)
}

fn spawn_applier(handles: &Handles, peer: String) -> Applier {
    let lanes = (0..APPLY_LANES)
        .map(|_| spawn_lane(handles.clone(), peer.clone()))
        .collect();
    Applier { lanes }
}

/// Applies one lane's entries in order, one batch at a time, and reports
/// each as applied (or the failure) to the driver. After a failure, jobs of
/// the failed generation are skipped: the rebuilt receiver asks again (a
/// batch another lane applies meanwhile is refused by the replica's cursor
/// check if it no longer continues it, so nothing is applied twice).
fn spawn_lane(handles: Handles, peer: String) -> mpsc::UnboundedSender<ApplyJob> {
    let (tx, mut rx) = mpsc::unbounded_channel::<ApplyJob>();
    tokio::spawn(
        async move {
            let mut failed = None;
            while let Some((generation, log_id, entries)) = rx.recv().await {
                if failed == Some(generation) {
                    continue;
                }
                let count = entries.len();
                let command = match logs::apply(&handles, &log_id, entries).await {
                    Ok(seq) => {
                        handles.metrics.applied(&peer, count);
                        Command::Applied {
                            peer: peer.clone(),
                            log_id,
                            seq,
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%log_id, %error, "applying replicated entries failed");
                        failed = Some(generation);
                        Command::ApplyFailed { peer: peer.clone() }
                    }
                };
                let _ = handles.link.commands().send(command);
            }
        }
        .in_current_span(),
    );
    tx
}
