//! Start-up, serving, and a draining shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpListener;
use tracing::Instrument as _;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accounts::Accounts;
use crate::chat::Chats;
use crate::config::Config;
use crate::hlc::HlcClock;
use crate::hub::Hub;
use crate::limits::Limits;
use crate::link::Link;
use crate::state::{AppState, Services};

/// Why a node stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store could not be opened or flushed.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// A service failed to start.
    #[error("start services: {0}")]
    Start(#[from] crate::accounts::Error),
    /// Serving HTTP failed.
    #[error("serve: {0}")]
    Serve(#[from] std::io::Error),
    /// The mesh transport could not start.
    #[error("mesh: {0}")]
    Mesh(#[from] crate::link::MeshError),
    /// The TLS certificate or key cannot be used.
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The media blob store or spool directory could not be opened.
    #[error("media: {0}")]
    Media(#[from] crate::media::Error),
}

/// Serves the region on `listener` until `shutdown` resolves, then stops
/// taking work, lets open requests finish, and flushes the store.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let span = tracing::info_span!("node", region = %config.region);
    serve(config, listener, shutdown).instrument(span).await
}

async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    // Certificate problems are reported before anything is opened.
    let tls = config
        .tls
        .as_ref()
        .map(|tls| crate::tls::server_config(tls).map(|server| (server, tls.hsts)))
        .transpose()?;
    let db = crate::storage::open(&config)?;
    let media = crate::media::Media::open(&config.media, db.clone())?;
    let ready = Arc::new(AtomicBool::new(false));
    let tracker = TaskTracker::new();
    let max_offset = config
        .mesh
        .as_ref()
        .map_or(std::time::Duration::from_millis(500), |m| {
            m.max_clock_offset
        });
    let hlc = Arc::new(HlcClock::new(max_offset, config.clock_skew_ms));
    let mesh = match &config.mesh {
        Some(mesh_config) => Some(Link::start(&config.region, mesh_config, hlc.clone()).await?),
        None => None,
    };
    let (mesh, runner) = match mesh {
        Some((mesh, runner)) => (Some(mesh), Some(runner)),
        None => (None, None),
    };
    let hub = Hub::new(
        config.outbound_queue,
        config.presence_grace,
        db.clone(),
        mesh.clone(),
    );
    let accounts = Accounts::open(
        db.clone(),
        &config.auth,
        &config.region,
        hlc.clone(),
        mesh.clone(),
    )
    .await?;
    let stop = CancellationToken::new();
    let chats = Chats::new(
        db.clone(),
        hub.clone(),
        hlc.clone(),
        &config.region,
        (tracker.clone(), stop.clone()),
        mesh.clone(),
        config.sabotage,
    );
    if let Some(mode) = config.sabotage {
        tracing::error!(%mode, "running with a deliberate defect: this region breaks its guarantees on purpose");
    }
    let metrics = crate::metrics::Metrics::new();
    let limits = Limits::new(
        config.sends_per_second,
        config.send_burst,
        config.registrations_per_address,
    );
    let state = AppState::new(Services {
        config: Arc::new(config),
        db: db.clone(),
        accounts,
        ready: ready.clone(),
        hub,
        chats,
        media,
        hlc,
        limits,
        shutdown: stop.clone(),
        mesh: mesh.clone(),
        metrics: metrics.clone(),
    });
    if let (Some(link), Some(runner)) = (mesh, runner) {
        let handles = crate::replica::Handles {
            region: state.config.region.clone(),
            db: db.clone(),
            chats: state.chats.clone(),
            accounts: state.accounts.clone(),
            hub: state.hub.clone(),
            metrics: metrics.clone(),
            link,
        };
        tracker.spawn(crate::replica::run(handles, runner, stop.clone()));
    }
    let mut app = crate::http::router(state.clone());
    if state.config.test_admin {
        tracing::warn!("test admin endpoint enabled: PUT /v1/test/clock-skew");
        app = app.merge(crate::http::test_admin::router().with_state(state.clone()));
    }
    let mut app = app
        .merge(crate::metrics::router(metrics.clone()))
        .layer(axum::middleware::from_fn(crate::http::guard::guard))
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            crate::metrics::track_http,
        ));
    if let Some((_, true)) = &tls {
        app = app.layer(axum::middleware::map_response(crate::tls::hsts));
    }
    let addr = listener.local_addr()?;
    ready.store(true, Ordering::Release);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, data = %state.config.data_dir.display(), "listening");

    let drain = ready.clone();
    let shutdown = async move {
        shutdown.await;
        drain.store(false, Ordering::Release);
        stop.cancel();
        tracing::info!("draining");
    };
    match tls {
        Some((server, _)) => crate::tls::serve(listener, server, app, shutdown).await?,
        None => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?;
        }
    }
    // Chat tasks finish what they hold (pending receipts) once idle channels close.
    tracker.close();
    drop(state);
    if tokio::time::timeout(std::time::Duration::from_secs(10), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("chat tasks still running at shutdown");
    }
    db.close().await?;
    tracing::info!("stopped");
    Ok(())
}
