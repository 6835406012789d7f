//! The standalone placement service: serves [`crate::service::router`] (plus
//! `GET /healthz`) on a listener, polls region health, keeps the directory in a state file, and
//! drains on shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::directory::Directory;
use crate::persist::{self, StateFileError};
use crate::service::{self, AdminToken, ApiError, PlacementState, SharedDirectory};
use crate::topology::Topology;

/// How long shutdown waits for background tasks before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`run`] needs, validated by the caller.
#[derive(Debug, Clone)]
pub struct Config {
    /// The validated topology.
    pub topology: Topology,
    /// JSON file the directory is loaded from at start and saved to after
    /// each change; the directory lives only in memory without it.
    pub state_file: Option<PathBuf>,
    /// The token state-changing requests must carry.
    pub admin_token: AdminToken,
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The state file could not be loaded or saved.
    #[error("state file: {0}")]
    State(#[from] StateFileError),
    /// The health poller's HTTP client could not be built.
    #[error("health poller: {0}")]
    Poller(#[from] reqwest::Error),
    /// Serving HTTP failed.
    #[error("serve: {0}")]
    Serve(#[from] std::io::Error),
}

/// Serves placement on `listener` until `shutdown` resolves, then stops the
/// pollers, finishes open requests and saves the directory.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let directory = match &config.state_file {
        Some(path) => persist::load(path)?,
        None => Directory::new(),
    };
    let state = PlacementState::new(Arc::new(config.topology), directory, config.admin_token);
    serve(state, config.state_file, listener, shutdown)
        .instrument(tracing::info_span!("placement"))
        .await
}

async fn serve(
    state: PlacementState,
    state_file: Option<PathBuf>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    crate::poller::spawn(&state.topology, &state.health, &tracker, &cancel)?;
    if let Some(path) = &state_file {
        tracker.spawn(save_on_change(
            state.directory.clone(),
            path.clone(),
            cancel.clone(),
        ));
    }
    if !state.admin_token.is_set() {
        tracing::warn!("no admin token: anyone who can reach this service can move chats");
    }
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        regions = state.topology.regions.len(),
        chats = state.directory.read(Directory::len),
        "listening"
    );
    let directory = state.directory.clone();
    let stop = cancel.clone();
    let app = service::router(state)
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .fallback(|| async { ApiError::not_found("no such endpoint") });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("draining");
            stop.cancel();
        })
        .await?;
    cancel.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks still running at shutdown");
    }
    if let Some(path) = state_file {
        let snapshot = directory.read(Directory::clone);
        tokio::task::spawn_blocking(move || persist::save(&path, &snapshot))
            .await
            .map_err(|join| std::io::Error::other(join.to_string()))??;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Saves the directory after each change until cancelled. Changes that
/// arrive while a save runs are folded into the next save.
async fn save_on_change(directory: SharedDirectory, path: PathBuf, cancel: CancellationToken) {
    let mut changes = directory.subscribe();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
        changes.mark_unchanged();
        let snapshot = directory.read(Directory::clone);
        let path = path.clone();
        match tokio::task::spawn_blocking(move || persist::save(&path, &snapshot)).await {
            Ok(Ok(())) => tracing::debug!("directory saved"),
            // The directory stays in memory and the next change retries;
            // a person must look before the service stops.
            Ok(Err(error)) => tracing::error!(%error, "save directory"),
            Err(error) => tracing::error!(%error, "save directory task failed"),
        }
    }
}
