//! [`SessionOptions`] and [`Credentials`]: how a resuming
//! [`Session`](super::Session) connects, authenticates and paces itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use protocol::auth::TokenResponse;

use super::connection::ConnectOptions;

/// Called with the new tokens after each refresh, e.g. to save them.
pub type OnRefresh = Arc<dyn Fn(&TokenResponse) + Send + Sync>;

/// Answers the newest saved `(access_token, refresh_token)` of the device,
/// if any.
pub type Reload = Arc<dyn Fn() -> Option<(String, String)> + Send + Sync>;

/// The tokens a session connects with.
#[derive(Clone)]
pub struct Credentials {
    /// The access token for the next connection.
    pub access_token: String,
    /// When set, a refused access token is exchanged for a new pair with it.
    pub refresh_token: Option<String>,
    /// Told about every successful refresh (refresh tokens are single use,
    /// so the caller must keep the newest one).
    pub on_refresh: Option<OnRefresh>,
    /// Asked before refreshing: when another process sharing the device
    /// (another CLI command) refreshed already, its tokens are used instead,
    /// because reusing a spent refresh token revokes the device.
    pub reload: Option<Reload>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("refreshable", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// An access token alone: once it is refused, the session stops.
    pub fn token(access_token: impl Into<String>) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token: None,
            on_refresh: None,
            reload: None,
        }
    }

    /// Refreshes with `refresh_token` when the access token is refused.
    pub fn with_refresh(mut self, refresh_token: impl Into<String>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// Calls `callback` with the new tokens after each refresh.
    pub fn on_refresh(mut self, callback: impl Fn(&TokenResponse) + Send + Sync + 'static) -> Self {
        self.on_refresh = Some(Arc::new(callback));
        self
    }

    /// Asks `reload` for newer saved tokens before refreshing.
    pub fn reload(
        mut self,
        reload: impl Fn() -> Option<(String, String)> + Send + Sync + 'static,
    ) -> Self {
        self.reload = Some(Arc::new(reload));
        self
    }
}

/// How a [`Session`](super::Session) behaves.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Base URL of the region (`http(s)://host:port`).
    pub base: String,
    /// Tokens.
    pub credentials: Credentials,
    /// Where to resume: chat → last `seq` already seen. Chats not listed are
    /// replayed from their start by the first `sync`.
    pub cursors: BTreeMap<String, u64>,
    /// When set, `message` frames of other chats are tracked (so resumes
    /// stay short) but not yielded, and their gaps are not filled.
    pub only_chats: Option<BTreeSet<String>>,
    /// Fill a gap in a chat's messages from HTTP history instead of waiting
    /// for the next resume.
    pub fill_gaps: bool,
    /// Send `ack` frames for the messages yielded.
    pub auto_ack: bool,
    /// Acks go out at most this often, each carrying the newest cursor of
    /// every chat that moved.
    pub ack_interval: Duration,
    /// A `ping` goes out after this long without one (the server closes
    /// connections that stay silent for 60 s).
    pub ping_interval: Duration,
    /// The connection is treated as dead after this long without any frame
    /// from the server.
    pub idle_timeout: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Socket settings and connect timeout.
    pub connect: ConnectOptions,
    /// Events buffered for a slow reader before the session stops reading
    /// the socket (the server then closes it as a slow consumer, and the
    /// session resumes).
    pub events_capacity: usize,
}

impl SessionOptions {
    /// Defaults for the server at `base`.
    pub fn new(base: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            base: base.into(),
            credentials,
            cursors: BTreeMap::new(),
            only_chats: None,
            fill_gaps: true,
            auto_ack: true,
            ack_interval: Duration::from_millis(500),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            connect: ConnectOptions::default(),
            events_capacity: 1024,
        }
    }

    /// Resumes after these cursors.
    pub fn cursors(mut self, cursors: BTreeMap<String, u64>) -> Self {
        self.cursors = cursors;
        self
    }

    /// Yields messages of these chats only.
    pub fn only_chats(mut self, chats: impl IntoIterator<Item = String>) -> Self {
        self.only_chats = Some(chats.into_iter().collect());
        self
    }

    /// Whether to fill gaps from history.
    pub fn fill_gaps(mut self, fill: bool) -> Self {
        self.fill_gaps = fill;
        self
    }

    /// Whether to send `ack` frames.
    pub fn auto_ack(mut self, ack: bool) -> Self {
        self.auto_ack = ack;
        self
    }

    /// How often acks go out at most.
    pub fn ack_interval(mut self, interval: Duration) -> Self {
        self.ack_interval = interval;
        self
    }

    /// Keepalive pacing: ping interval and dead-connection timeout.
    pub fn keepalive(mut self, ping_interval: Duration, idle_timeout: Duration) -> Self {
        self.ping_interval = ping_interval;
        self.idle_timeout = idle_timeout;
        self
    }

    /// Reconnect delays.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// True when messages of `chat_id` are yielded.
    pub(crate) fn wants(&self, chat_id: &str) -> bool {
        self.only_chats
            .as_ref()
            .is_none_or(|chats| chats.contains(chat_id))
    }
}
