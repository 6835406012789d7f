//! The workload: users, groups and client processes that drive a mesh and
//! record what they did and saw.
//!
//! [`Workload::setup`] registers users, logs their devices in across the
//! regions and creates groups homed in every region. [`Workload::start`]
//! then runs one [`process::ClientProcess`] per device, each with its
//! WebSocket observer, at a combined rate of `rate` operations a second,
//! until the cancellation token fires; [`Workload::join`] waits for every
//! in-flight operation to complete, so every `invoke` has its completion.
//!
//! - [`recorder`]: the single history writer.
//! - [`setup`]: users, devices and groups.
//! - [`shared`]: memberships the processes share.
//! - [`choose`]: the operation mix.
//! - [`process`]: one client process.
//! - [`push`]: a device's WebSocket observer.
//! - [`outcome`]: `fail` or `info` for an error.
//! - [`convert`]: SDK answers in the history's shapes.
//! - [`auth`]: a device's tokens and their refresh.
//! - [`converge`]: the final reads after the faults heal.

pub mod auth;
pub mod choose;
pub mod converge;
pub mod convert;
pub mod outcome;
pub mod process;
pub mod push;
pub mod recorder;
pub mod setup;
pub mod shared;

use std::sync::Arc;
use std::time::Duration;

use client::Client;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cluster::RegionInfo;
use crate::history::Process;

use self::converge::FinalChat;
use self::process::ClientProcess;
use self::recorder::{Actor, Recorder};
use self::setup::{Fixture, SetupError};
use self::shared::Shared;

/// How the workload runs.
#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// Users to register (at least as many as regions, so every region
    /// homes a group).
    pub users: usize,
    /// Operations a second, all processes together.
    pub rate: f64,
    /// How long one operation may take before it is recorded `info`.
    pub op_timeout: Duration,
    /// The run's seed.
    pub seed: u64,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        Self {
            users: 6,
            rate: 30.0,
            op_timeout: Duration::from_secs(5),
            seed: 0,
        }
    }
}

/// A workload set up on a mesh.
pub struct Workload {
    regions: Vec<RegionInfo>,
    fixture: Fixture,
    shared: Arc<Shared>,
    options: WorkloadOptions,
    tasks: JoinSet<()>,
}

/// Each process's own random stream, so adding a process leaves the others'
/// draws unchanged.
fn process_seed(seed: u64, process: u64) -> u64 {
    seed ^ process.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Workload {
    /// Registers the users, logs in the devices and creates the groups.
    /// `tag` keeps names unique across runs against one deployment.
    pub async fn setup(
        regions: &[RegionInfo],
        options: WorkloadOptions,
        tag: &str,
    ) -> Result<Self, SetupError> {
        let users = options.users.max(regions.len()).max(2);
        let fixture = setup::setup(regions, users, tag).await?;
        let shared = Arc::new(Shared::new(fixture.users.clone(), fixture.groups.clone()));
        Ok(Self {
            regions: regions.to_vec(),
            fixture,
            shared,
            options,
            tasks: JoinSet::new(),
        })
    }

    /// How many client processes run.
    pub fn processes(&self) -> usize {
        self.fixture.devices.len()
    }

    /// The groups' chat ids.
    pub fn chats(&self) -> Vec<String> {
        self.fixture
            .groups
            .iter()
            .map(|g| g.chat_id.clone())
            .collect()
    }

    /// Starts every process and its observer; they stop at `cancel`.
    pub fn start(&mut self, recorder: &Recorder, cancel: &CancellationToken) {
        let processes = self.fixture.devices.len().max(1) as f64;
        let interval = Duration::from_secs_f64(processes / self.options.rate.max(0.01));
        for device in &self.fixture.devices {
            let Ok(http) = Client::new(&device.base) else {
                tracing::warn!(base = %device.base, "unusable region URL; process skipped");
                continue;
            };
            let user = &self.fixture.users[device.user];
            let actor = Actor {
                process: Process::Client(device.process),
                region: Some(device.region.clone()),
                device: Some(device.device_id.clone()),
                user: Some(user.user_id.clone()),
            };
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            self.tasks.spawn(push::watch(
                device.base.clone(),
                device.auth.clone(),
                http.clone(),
                tx,
                cancel.clone(),
            ));
            let process = ClientProcess::new(
                actor,
                device.user,
                http,
                device.auth.clone(),
                self.shared.clone(),
                recorder.clone(),
                StdRng::seed_from_u64(process_seed(self.options.seed, device.process)),
                interval,
                self.options.op_timeout,
            );
            self.tasks.spawn(process.run(rx, cancel.clone()));
        }
    }

    /// Waits for every process to finish its last operation.
    pub async fn join(&mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(error) = joined {
                tracing::error!(%error, "a client process failed");
            }
        }
    }

    /// Every group, with its owner's first device as the reader: owners are
    /// never removed, so they can read everything.
    pub fn final_chats(&self) -> Vec<FinalChat> {
        self.fixture
            .groups
            .iter()
            .filter_map(|group| {
                let device = self
                    .fixture
                    .devices
                    .iter()
                    .find(|d| d.user == group.owner)?;
                Some(FinalChat {
                    chat: group.chat_id.clone(),
                    reader: device.auth.clone(),
                    issuer: Client::new(&device.base).ok()?,
                })
            })
            .collect()
    }

    /// The regions the workload talks to.
    pub fn regions(&self) -> &[RegionInfo] {
        &self.regions
    }
}
