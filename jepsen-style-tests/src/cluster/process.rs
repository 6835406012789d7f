//! One region as a `region-node` child process: started with fixed
//! arguments on its data directory, output appended to its log file, and
//! killed, restarted, paused and resumed by signal.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;

use tokio::process::{Child, Command};

use super::ClusterError;

/// Settings a region node takes from its environment that the cluster sets
/// per region or through flags; inherited, they would contradict them.
const CLEARED_ENV: [&str; 7] = [
    "CHATMESH_LISTEN",
    "CHATMESH_REGION",
    "CHATMESH_DATA",
    "CHATMESH_REGIONS",
    "CHATMESH_CONFIG",
    "CHATMESH_PEER_ADDRS",
    "CHATMESH_CLOCK_SKEW_MS",
];

/// How to start one region, the same way every time.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `region-node` executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub envs: Vec<(String, String)>,
    /// Its working and data directory.
    pub dir: PathBuf,
    /// Where its output goes (appended, so restarts keep earlier output).
    pub log: PathBuf,
}

/// A region process that may be running, stopped by a signal, or dead.
pub struct RegionProcess {
    launch: Launch,
    child: Mutex<Option<Child>>,
}

impl RegionProcess {
    /// A region not started yet.
    pub fn new(launch: Launch) -> Self {
        Self {
            launch,
            child: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        // A panic elsewhere while holding the lock leaves the child handle
        // intact, so the poisoned value is still the truth.
        self.child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the process unless it already runs.
    pub fn spawn(&self) -> Result<(), ClusterError> {
        let mut child = self.lock();
        if child.is_some() {
            return Ok(());
        }
        let io = |what: &str, source| ClusterError::Io {
            what: format!("{what} {}", self.launch.log.display()),
            source,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.launch.log)
            .map_err(|e| io("open the log", e))?;
        let log_err = log.try_clone().map_err(|e| io("open the log", e))?;
        let mut command = Command::new(&self.launch.program);
        command
            .args(&self.launch.args)
            .current_dir(&self.launch.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        for name in CLEARED_ENV {
            command.env_remove(name);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        for (key, value) in &self.launch.envs {
            command.env(key, value);
        }
        let started = command.spawn().map_err(|source| ClusterError::Io {
            what: format!("start {}", self.launch.program.display()),
            source,
        })?;
        *child = Some(started);
        Ok(())
    }

    /// SIGKILLs the process and reaps it; nothing happens if it is not running.
    pub async fn kill(&self) -> Result<(), ClusterError> {
        let taken = self.lock().take();
        if let Some(mut child) = taken {
            // A stopped process dies of SIGKILL too; no SIGCONT needed.
            child.start_kill().map_err(|source| ClusterError::Io {
                what: "kill a region".to_owned(),
                source,
            })?;
            child.wait().await.map_err(|source| ClusterError::Io {
                what: "wait for a killed region".to_owned(),
                source,
            })?;
        }
        Ok(())
    }

    /// Whether a process is running (or stopped), as far as we started it.
    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    /// Sends SIGSTOP (`stop` true) or SIGCONT to the running process; false
    /// when there is none.
    pub async fn signal_stop(&self, stop: bool) -> Result<bool, ClusterError> {
        let pid = self.lock().as_ref().and_then(Child::id);
        let Some(pid) = pid else {
            return Ok(false);
        };
        // The `kill` utility rather than libc: the workspace forbids unsafe code.
        let signal = if stop { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .await
            .map_err(|source| ClusterError::Io {
                what: format!("run kill {signal} {pid}"),
                source,
            })?;
        if !status.success() {
            return Err(ClusterError::Signal {
                signal: signal.trim_start_matches('-').to_owned(),
                pid,
            });
        }
        Ok(true)
    }

    /// The exit status if the process ended by itself.
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        self.lock()
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }
}

/// Which optional flags a `region-node` executable understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeFlags {
    /// `--test-admin`: the testing endpoints (clock skew).
    pub test_admin: bool,
    /// `--sabotage MODE`: deliberate bugs, to test the checker.
    pub sabotage: bool,
}

/// Reads `program --help`, so a build without the testing flags still runs
/// (without clock skew) instead of refusing to start.
pub async fn probe_flags(program: &std::path::Path) -> Result<NodeFlags, ClusterError> {
    let output = Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| ClusterError::Io {
            what: format!("run {} --help", program.display()),
            source,
        })?;
    let help = String::from_utf8_lossy(&output.stdout);
    Ok(flags_in_help(&help))
}

fn flags_in_help(help: &str) -> NodeFlags {
    let has = |flag: &str| {
        help.split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[')
            .any(|word| word == flag)
    };
    NodeFlags {
        test_admin: has("--test-admin"),
        sabotage: has("--sabotage"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_found_as_whole_words_in_the_help() {
        let help = "Options:\n      --regions <REGIONS>  The mesh\n      --test-admin  Testing endpoints\n";
        assert_eq!(
            flags_in_help(help),
            NodeFlags {
                test_admin: true,
                sabotage: false
            }
        );
        let help = "      --sabotage <MODE>  Break things\n      --test-administrator\n";
        assert_eq!(
            flags_in_help(help),
            NodeFlags {
                test_admin: false,
                sabotage: true
            }
        );
    }
}
