//! Start-up configuration: command-line flags, environment variables and an
//! optional TOML file, merged once and validated into a typed [`Config`].
//!
//! Precedence is flag > environment variable > file > default. Code past
//! start-up receives `&Config` and never reads the environment itself.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use clap::Args;
use placement::topology::Topology;
use serde::Deserialize;

mod media;
mod mesh;
mod tls;

pub use media::{MediaBackend, MediaConfig, RawMedia};
pub use mesh::MeshConfig;
pub use tls::{RawTls, TlsConfig};

/// Flags shared by every way of starting a node.
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// TOML configuration file.
    #[arg(long, env = "CHATMESH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to serve HTTP and WebSocket on [default: 127.0.0.1:8080].
    #[arg(long, env = "CHATMESH_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the embedded store [default: $XDG_DATA_HOME/chatmesh/<region>].
    #[arg(long, env = "CHATMESH_DATA")]
    pub data: Option<PathBuf>,
    /// Name of the region this node serves [default: local].
    #[arg(long, env = "CHATMESH_REGION")]
    pub region: Option<String>,
    /// The mesh topology (regions.yaml); with it this node serves `--region`
    /// of that mesh.
    #[arg(long, env = "CHATMESH_REGIONS")]
    pub regions: Option<PathBuf>,
    /// Where to dial peers instead of their `quic` address, e.g. through a
    /// link proxy: `us-east=127.0.0.1:19082,ap-south=127.0.0.1:19083`.
    #[arg(long, env = "CHATMESH_PEER_ADDRS")]
    pub peer_addrs: Option<String>,
    /// Testing only: runs this node's physical clock this many milliseconds
    /// ahead (negative: behind), to check how the mesh copes with skew.
    #[arg(
        long,
        env = "CHATMESH_CLOCK_SKEW_MS",
        hide = true,
        allow_hyphen_values = true
    )]
    pub clock_skew_ms: Option<i64>,
    /// Testing only: serves `PUT /v1/test/clock-skew`, which skews this
    /// node's clock while it runs (for consistency tests).
    #[arg(long, env = "CHATMESH_TEST_ADMIN")]
    pub test_admin: bool,
    /// Testing only: runs with a deliberate defect (drop-acked, duplicate,
    /// reorder, skip-fsync, ignore-removal, hlc-backwards), to check that a
    /// consistency harness catches it. Refused unless the environment also
    /// has CHATMESH_SABOTAGE_ALLOWED=yes.
    #[arg(long, env = "CHATMESH_SABOTAGE")]
    pub sabotage: Option<chat_core::Sabotage>,
    /// PEM certificate chain to serve HTTPS and WSS with (needs --tls-key).
    #[arg(long, env = "CHATMESH_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CHATMESH_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// The TOML file as written; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Region name.
    pub region: Option<String>,
    /// Listen address.
    pub listen: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Store backend settings.
    #[serde(default)]
    pub store: RawStore,
    /// Authentication settings.
    #[serde(default)]
    pub auth: RawAuth,
    /// Request limits.
    #[serde(default)]
    pub limits: RawLimits,
    /// HTTPS and WSS.
    #[serde(default)]
    pub tls: RawTls,
    /// Uploaded media.
    #[serde(default)]
    pub media: RawMedia,
}

/// `[store]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `embedded` (default) or `fdb`.
    pub backend: Option<String>,
    /// FoundationDB cluster file; the client library's default when absent.
    pub fdb_cluster_file: Option<PathBuf>,
}

/// `[auth]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Lifetime of access tokens in seconds.
    pub access_token_ttl_secs: Option<u64>,
    /// Argon2id memory cost in KiB.
    pub argon2_memory_kib: Option<u32>,
    /// Argon2id iterations.
    pub argon2_iterations: Option<u32>,
    /// Failed logins allowed per username in a burst before throttling.
    pub login_failures_per_username: Option<u32>,
    /// Failed logins allowed per client address in a burst before throttling.
    pub login_failures_per_address: Option<u32>,
    /// Seconds for a throttled key to regain its whole burst.
    pub login_throttle_window_secs: Option<u64>,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Largest accepted HTTP request body in bytes.
    pub max_body_bytes: Option<usize>,
    /// Sends per second per device, on average.
    pub sends_per_second: Option<u32>,
    /// Sends per device allowed at once.
    pub send_burst: Option<u32>,
    /// Frames queued per connection before it counts as a slow consumer.
    pub outbound_queue: Option<usize>,
    /// Seconds a user stays online after their last connection closes.
    pub presence_grace_secs: Option<u64>,
    /// Accounts registered per client address in a burst, refilled over an hour.
    pub registrations_per_address: Option<u32>,
    /// Open WebSocket connections per device on this node.
    pub connections_per_device: Option<u32>,
    /// Users one connection may watch the presence of.
    pub presence_subscriptions: Option<usize>,
}

/// Which store the node runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// The embedded engine in `data_dir`.
    Embedded,
    /// FoundationDB, through this cluster file (or the client default).
    Fdb {
        /// Cluster file path.
        cluster_file: Option<PathBuf>,
    },
}

/// Validated configuration of one node.
#[derive(Debug, Clone)]
pub struct Config {
    /// Region name, `[a-z0-9-]{1,32}`.
    pub region: String,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The mesh this region belongs to; `None` for a region on its own.
    pub mesh: Option<MeshConfig>,
    /// Testing only: offset of the node's physical clock, in milliseconds.
    pub clock_skew_ms: i64,
    /// Testing only: serve the test admin endpoint.
    pub test_admin: bool,
    /// Testing only: a deliberate defect to run with.
    pub sabotage: Option<chat_core::Sabotage>,
    /// Where the embedded store lives.
    pub data_dir: PathBuf,
    /// Store backend.
    pub store: StoreBackend,
    /// Authentication settings.
    pub auth: AuthConfig,
    /// Largest accepted HTTP request body in bytes.
    pub max_body_bytes: usize,
    /// Sends per second per device.
    pub sends_per_second: NonZeroU32,
    /// Send burst per device.
    pub send_burst: NonZeroU32,
    /// Outbound frames queued per connection.
    pub outbound_queue: usize,
    /// Presence grace period.
    pub presence_grace: Duration,
    /// HTTPS and WSS; `None` serves plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Registrations per client address in a burst (refilled over an hour).
    pub registrations_per_address: NonZeroU32,
    /// Open WebSocket connections per device.
    pub connections_per_device: usize,
    /// Presence subscriptions per connection.
    pub presence_subscriptions: usize,
    /// Uploaded media.
    pub media: MediaConfig,
}

/// Validated `[auth]`.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Failed-login burst per username.
    pub login_failures_per_username: u32,
    /// Failed-login burst per client address.
    pub login_failures_per_address: u32,
    /// Time for a throttled key to regain its whole burst.
    pub login_throttle_window: Duration,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("parse config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of its allowed range or form.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending setting.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl RawConfig {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }
}

impl Config {
    /// Merges flags over the file named by `--config` (if any) and validates.
    pub fn load(args: &NodeArgs) -> Result<Self, ConfigError> {
        let raw = match &args.config {
            Some(path) => RawConfig::from_file(path)?,
            None => RawConfig::default(),
        };
        Self::from_parts(args, raw)
    }

    /// Merges flags over an already-read file and validates.
    pub fn from_parts(args: &NodeArgs, raw: RawConfig) -> Result<Self, ConfigError> {
        let region = args
            .region
            .clone()
            .or(raw.region)
            .unwrap_or_else(|| "local".to_owned());
        validate_region(&region)?;
        let topology = match &args.regions {
            Some(path) => Some(Arc::new(
                Topology::load(path).map_err(|e| invalid("regions", e.to_string()))?,
            )),
            None => None,
        };
        let spec = match &topology {
            Some(topology) => Some(topology.region(&region).cloned().ok_or_else(|| {
                invalid(
                    "region",
                    format!("{region:?} is not a region of the topology"),
                )
            })?),
            None => None,
        };

        let listen_text = args
            .listen
            .clone()
            .or(raw.listen)
            .or_else(|| spec.as_ref().map(|s| s.http.to_string()))
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen = listen_text
            .parse()
            .map_err(|e| invalid("listen", format!("{listen_text:?}: {e}")))?;

        let data_dir = args
            .data
            .clone()
            .or(raw.data_dir)
            .unwrap_or_else(|| default_data_dir(&region));

        let store = match raw.store.backend.as_deref().unwrap_or("embedded") {
            "embedded" => StoreBackend::Embedded,
            "fdb" => StoreBackend::Fdb {
                cluster_file: raw.store.fdb_cluster_file,
            },
            other => {
                return Err(invalid(
                    "store.backend",
                    format!("{other:?} is neither \"embedded\" nor \"fdb\""),
                ));
            }
        };

        let auth = raw.auth;
        let ttl = auth.access_token_ttl_secs.unwrap_or(15 * 60);
        if !(1..=24 * 3600).contains(&ttl) {
            return Err(invalid(
                "auth.access_token_ttl_secs",
                "must be between 1 and 86400",
            ));
        }
        let memory = auth.argon2_memory_kib.unwrap_or(19 * 1024);
        if !(8..=1024 * 1024).contains(&memory) {
            return Err(invalid(
                "auth.argon2_memory_kib",
                "must be between 8 and 1048576",
            ));
        }
        let iterations = auth.argon2_iterations.unwrap_or(2);
        if !(1..=16).contains(&iterations) {
            return Err(invalid(
                "auth.argon2_iterations",
                "must be between 1 and 16",
            ));
        }
        let per_user = auth.login_failures_per_username.unwrap_or(10);
        let per_addr = auth.login_failures_per_address.unwrap_or(100);
        if per_user == 0 || per_addr == 0 {
            return Err(invalid("auth.login_failures_*", "must be at least 1"));
        }
        let window = auth.login_throttle_window_secs.unwrap_or(60);
        if window == 0 {
            return Err(invalid(
                "auth.login_throttle_window_secs",
                "must be positive",
            ));
        }

        let max_body_bytes = raw.limits.max_body_bytes.unwrap_or(1024 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(invalid(
                "limits.max_body_bytes",
                "must be between 1 KiB and 16 MiB",
            ));
        }

        let nonzero = |field: &'static str, value: u32| {
            NonZeroU32::new(value).ok_or_else(|| invalid(field, "must be at least 1"))
        };
        let sends_per_second = nonzero(
            "limits.sends_per_second",
            raw.limits.sends_per_second.unwrap_or(50),
        )?;
        let send_burst = nonzero("limits.send_burst", raw.limits.send_burst.unwrap_or(200))?;
        let outbound_queue = raw.limits.outbound_queue.unwrap_or(1024);
        if !(16..=1_000_000).contains(&outbound_queue) {
            return Err(invalid(
                "limits.outbound_queue",
                "must be between 16 and 1000000",
            ));
        }
        let presence_grace = Duration::from_secs(raw.limits.presence_grace_secs.unwrap_or(5));
        let registrations_per_address = nonzero(
            "limits.registrations_per_address",
            raw.limits.registrations_per_address.unwrap_or(100),
        )?;
        let connections_per_device = nonzero(
            "limits.connections_per_device",
            raw.limits.connections_per_device.unwrap_or(8),
        )?;
        let presence_subscriptions = raw.limits.presence_subscriptions.unwrap_or(1000);
        if !(1..=100_000).contains(&presence_subscriptions) {
            return Err(invalid(
                "limits.presence_subscriptions",
                "must be between 1 and 100000",
            ));
        }

        let sabotage = args.sabotage;
        if let Some(mode) = sabotage
            && std::env::var(chat_core::sabotage::ALLOW_ENV).as_deref() != Ok("yes")
        {
            return Err(invalid(
                "sabotage",
                format!(
                    "{mode} breaks chatmesh's guarantees on purpose; it runs only with {}=yes",
                    chat_core::sabotage::ALLOW_ENV
                ),
            ));
        }

        let tls = TlsConfig::from_parts(
            args.tls_cert.clone().or(raw.tls.cert_file),
            args.tls_key.clone().or(raw.tls.key_file),
            raw.tls.hsts,
        )?;

        let media = MediaConfig::from_raw(raw.media, &data_dir)?;

        let mesh = match (topology, spec) {
            (Some(topology), Some(spec)) => Some(MeshConfig::new(
                topology,
                &spec,
                args.peer_addrs.as_deref(),
                &data_dir,
            )?),
            _ => None,
        };

        Ok(Self {
            region,
            listen,
            mesh,
            clock_skew_ms: args.clock_skew_ms.unwrap_or(0),
            test_admin: args.test_admin,
            sabotage,
            data_dir,
            store,
            auth: AuthConfig {
                access_token_ttl: Duration::from_secs(ttl),
                argon2_memory_kib: memory,
                argon2_iterations: iterations,
                login_failures_per_username: per_user,
                login_failures_per_address: per_addr,
                login_throttle_window: Duration::from_secs(window),
            },
            max_body_bytes,
            sends_per_second,
            send_burst,
            outbound_queue,
            presence_grace,
            tls,
            registrations_per_address,
            connections_per_device: connections_per_device.get() as usize,
            presence_subscriptions,
            media,
        })
    }
}

fn validate_region(region: &str) -> Result<(), ConfigError> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "region",
            format!("{region:?} is not 1-32 of [a-z0-9-]"),
        ))
    }
}

/// `$XDG_DATA_HOME/chatmesh/<region>` (or the platform's data directory),
/// falling back to `./chatmesh-data/<region>`.
pub fn default_data_dir(region: &str) -> PathBuf {
    dirs::data_dir()
        .map(|d| d.join("chatmesh"))
        .unwrap_or_else(|| PathBuf::from("chatmesh-data"))
        .join(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_describe_a_local_region() {
        let config = Config::from_parts(&NodeArgs::default(), RawConfig::default()).unwrap();
        assert_eq!(config.region, "local");
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert!(config.data_dir.ends_with("chatmesh/local"));
        assert_eq!(config.store, StoreBackend::Embedded);
    }

    #[test]
    fn flags_win_over_the_file() {
        let raw: RawConfig = toml::from_str(
            "region = \"eu-west\"\nlisten = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/a\"\n",
        )
        .unwrap();
        let args = NodeArgs {
            listen: Some("127.0.0.1:9001".into()),
            ..NodeArgs::default()
        };
        let config = Config::from_parts(&args, raw).unwrap();
        assert_eq!(config.region, "eu-west");
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/a"));
    }

    #[test]
    fn bad_values_are_refused() {
        let bad_listen = NodeArgs {
            listen: Some("nowhere".into()),
            ..NodeArgs::default()
        };
        assert!(Config::from_parts(&bad_listen, RawConfig::default()).is_err());
        let bad_region = NodeArgs {
            region: Some("EU West".into()),
            ..NodeArgs::default()
        };
        assert!(Config::from_parts(&bad_region, RawConfig::default()).is_err());
        let raw: RawConfig = toml::from_str("[store]\nbackend = \"sqlite\"\n").unwrap();
        assert!(Config::from_parts(&NodeArgs::default(), raw).is_err());
        assert!(toml::from_str::<RawConfig>("listn = \"x\"").is_err());
    }
}
