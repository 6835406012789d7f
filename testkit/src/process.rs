//! One region as a `region-node` child process, started the same way every
//! time: its output copied to ours behind a `[region]` label or appended to
//! a log file, and stopped, killed, paused, resumed or restarted on demand.
//!
//! Each started child is owned by one watcher task, which alone waits on it
//! and signals it: a process id is only signalled while its child is not yet
//! reaped, so a signal can never reach an unrelated process that reused the
//! id. Dropping a [`RegionProcess`] kills its child.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::error::MeshError;
use crate::plan::PEER_ADDRS_ENV;

/// Settings a region node takes from its environment that are per region or
/// set by whoever starts the mesh; inherited, they would give every region
/// the same value or contradict the topology.
pub const PER_REGION_ENV: [&str; 6] = [
    "CHATMESH_LISTEN",
    "CHATMESH_REGION",
    "CHATMESH_DATA",
    "CHATMESH_REGIONS",
    PEER_ADDRS_ENV,
    "CHATMESH_CLOCK_SKEW_MS",
];

/// How long a finished child's output may take to drain after it exits.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// Where a region's stdout and stderr go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Copied to our own stdout and stderr, each line behind this label.
    Prefixed(String),
    /// Appended to this file, so a restart keeps the earlier output.
    Appended(PathBuf),
}

/// How to start one region, the same way every time.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `region-node` executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment set on top of ours, after [`PER_REGION_ENV`] is removed.
    pub envs: Vec<(OsString, OsString)>,
    /// Its working directory; ours when `None`.
    pub dir: Option<PathBuf>,
    /// Where its output goes.
    pub output: Output,
    /// Start it in its own process group, so a terminal's Ctrl-C reaches
    /// only us and we decide how the region stops.
    pub own_group: bool,
}

impl Launch {
    /// `program` with no arguments, output copied behind `[name]`.
    pub fn new(program: impl Into<PathBuf>, name: &str) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
            dir: None,
            output: Output::Prefixed(format!("[{name}]")),
            own_group: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    fn command(&self) -> Result<Command, MeshError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            // If we fail or panic, no region is left behind.
            .kill_on_drop(true);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        for name in PER_REGION_ENV {
            command.env_remove(name);
        }
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        match &self.output {
            Output::Prefixed(_) => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Output::Appended(path) => {
                let open =
                    |source| MeshError::io(format!("open the log {}", path.display()), source);
                let log = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(open)?;
                let log_err = log.try_clone().map_err(open)?;
                command
                    .stdout(Stdio::from(log))
                    .stderr(Stdio::from(log_err));
            }
        }
        #[cfg(unix)]
        if self.own_group {
            command.process_group(0);
        }
        Ok(command)
    }
}

/// A signal for a running region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ask it to drain and exit (SIGTERM).
    Terminate,
    /// End it now (SIGKILL); a paused process dies of it too.
    Kill,
    /// Freeze it (SIGSTOP).
    Pause,
    /// Thaw it (SIGCONT).
    Resume,
}

/// Why the exit status of a region is unknown.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not wait for it: {0}")]
pub struct WaitError(Arc<io::Error>);

/// How one region's process ended.
#[derive(Debug, Clone)]
pub struct Exit {
    /// The region.
    pub region: String,
    /// Its exit status, or why waiting for it failed.
    pub status: Result<ExitStatus, WaitError>,
}

impl Exit {
    /// The status as a person reads it: `exit status: 3`, `signal: 9 (SIGKILL)`.
    pub fn status_text(&self) -> String {
        match &self.status {
            Ok(status) => status.to_string(),
            Err(error) => error.to_string(),
        }
    }

    /// Whether it stopped as asked: it exited 0, or died of a SIGTERM sent
    /// before its own handler was installed.
    pub fn stopped_cleanly(&self) -> bool {
        let Ok(status) = &self.status else {
            return false;
        };
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            if status.signal() == Some(libc::SIGTERM) {
                return true;
            }
        }
        status.success()
    }
}

/// The exit of one start of a region, to be awaited.
#[derive(Debug)]
pub struct ExitWatch(watch::Receiver<Option<Exit>>);

impl ExitWatch {
    /// Waits until the process has exited and its output has drained.
    pub async fn wait(mut self) -> Exit {
        match self.0.wait_for(Option::is_some).await {
            Ok(exit) => exit.clone().unwrap_or_else(|| unreachable_exit("no exit")),
            // The watcher only ends after reporting; a panic is all that is left.
            Err(_) => unreachable_exit("the watcher stopped"),
        }
    }

    fn now(&self) -> Option<Exit> {
        self.0.borrow().clone()
    }
}

fn unreachable_exit(why: &str) -> Exit {
    Exit {
        region: String::new(),
        status: Err(WaitError(Arc::new(io::Error::other(why.to_owned())))),
    }
}

type Reply = oneshot::Sender<io::Result<()>>;

/// One start of the process: how to reach its watcher.
#[derive(Debug)]
struct Running {
    signals: mpsc::UnboundedSender<(Signal, Option<Reply>)>,
    exit: watch::Receiver<Option<Exit>>,
}

/// A region process that may be running, paused, exited or not started.
#[derive(Debug)]
pub struct RegionProcess {
    name: String,
    launch: Launch,
    running: Mutex<Option<Running>>,
}

impl RegionProcess {
    /// Region `name`, not started yet.
    pub fn new(name: impl Into<String>, launch: Launch) -> Self {
        Self {
            name: name.into(),
            launch,
            running: Mutex::new(None),
        }
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        // Nothing panics while holding the lock; if something did, the
        // handle inside is still the truth.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the process unless a start of it is still on record (running,
    /// paused, or exited by itself and not yet [`kill`](Self::kill)ed);
    /// answers whether it started now.
    pub fn spawn(&self) -> Result<bool, MeshError> {
        let mut running = self.lock();
        if running.is_some() {
            return Ok(false);
        }
        let mut child = self.launch.command()?.spawn().map_err(|source| {
            MeshError::io(
                format!(
                    "start region {} as {}",
                    self.name,
                    self.launch.program.display()
                ),
                source,
            )
        })?;
        let mut outputs = Vec::new();
        if let Output::Prefixed(label) = &self.launch.output {
            if let Some(stdout) = child.stdout.take() {
                outputs.push(copy_output(stdout, label, Sink::Stdout));
            }
            if let Some(stderr) = child.stderr.take() {
                outputs.push(copy_output(stderr, label, Sink::Stderr));
            }
        }
        let (signals, requests) = mpsc::unbounded_channel();
        let (report, exit) = watch::channel(None);
        tokio::spawn(watch_child(
            self.name.clone(),
            child,
            requests,
            outputs,
            report,
        ));
        *running = Some(Running { signals, exit });
        Ok(true)
    }

    /// Its exit, to await, if it was started.
    pub fn exit_watch(&self) -> Option<ExitWatch> {
        self.lock()
            .as_ref()
            .map(|running| ExitWatch(running.exit.clone()))
    }

    /// Sends `signal` without waiting for it to be delivered; false when no
    /// process is on record.
    pub fn request(&self, signal: Signal) -> bool {
        match self.lock().as_ref() {
            // A closed channel means the process has exited already.
            Some(running) => running.signals.send((signal, None)).is_ok(),
            None => false,
        }
    }

    /// Delivers `signal`; `Ok(false)` when there is no process to signal
    /// (never started, killed, or exited by itself).
    pub async fn signal(&self, signal: Signal) -> Result<bool, MeshError> {
        let (reply, delivered) = oneshot::channel();
        let sent = match self.lock().as_ref() {
            Some(running) => running.signals.send((signal, Some(reply))).is_ok(),
            None => false,
        };
        if !sent {
            return Ok(false);
        }
        match delivered.await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(source)) => Err(MeshError::io(
                format!("send {signal:?} to region {}", self.name),
                source,
            )),
            // The process exited before the request was read.
            Err(_) => Ok(false),
        }
    }

    /// SIGKILLs the process and waits until it is reaped, forgetting it so a
    /// [`spawn`](Self::spawn) starts it again; nothing happens if no
    /// process is on record.
    pub async fn kill(&self) -> Result<(), MeshError> {
        let Some(running) = self.lock().take() else {
            return Ok(());
        };
        let (reply, delivered) = oneshot::channel();
        if running.signals.send((Signal::Kill, Some(reply))).is_ok()
            && let Ok(Err(source)) = delivered.await
        {
            return Err(MeshError::io(format!("kill region {}", self.name), source));
        }
        ExitWatch(running.exit).wait().await;
        Ok(())
    }

    /// Whether a start is on record: running, paused, or exited by itself
    /// and not yet killed.
    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    /// How the process ended, if it exited by itself (or by a signal other
    /// than [`kill`](Self::kill)'s) and is still on record.
    pub fn exited(&self) -> Option<Exit> {
        self.lock()
            .as_ref()
            .and_then(|running| ExitWatch(running.exit.clone()).now())
    }
}

/// Waits for `child` to exit, signalling it when asked, then reports its
/// exit once its output has drained. Kills it when its [`RegionProcess`]
/// is gone.
async fn watch_child(
    region: String,
    mut child: Child,
    mut requests: mpsc::UnboundedReceiver<(Signal, Option<Reply>)>,
    outputs: Vec<JoinHandle<()>>,
    report: watch::Sender<Option<Exit>>,
) {
    let mut orphaned = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            request = requests.recv(), if !orphaned => match request {
                Some((signal, reply)) => {
                    let sent = deliver(&mut child, signal);
                    match reply {
                        Some(reply) => {
                            let _ = reply.send(sent);
                        }
                        None => {
                            if let Err(error) = sent {
                                warn!(%error, ?signal, %region, "signal region process");
                            }
                        }
                    }
                }
                None => {
                    orphaned = true;
                    if let Err(error) = child.start_kill() {
                        warn!(%error, %region, "kill an abandoned region process");
                    }
                }
            },
        }
    };
    for output in outputs {
        let _ = tokio::time::timeout(OUTPUT_DRAIN, output).await;
    }
    report.send_replace(Some(Exit {
        region,
        status: status.map_err(|error| WaitError(Arc::new(error))),
    }));
}

/// Signals a child that is not yet reaped.
fn deliver(child: &mut Child, signal: Signal) -> io::Result<()> {
    if signal == Signal::Kill {
        return child.start_kill();
    }
    // No id means the child was reaped already: nothing left to signal.
    let Some(pid) = child.id() else {
        return Ok(());
    };
    send_signal(pid, signal)
}

#[cfg(unix)]
fn send_signal(pid: u32, signal: Signal) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id out of range"))?;
    let number = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
        Signal::Pause => libc::SIGSTOP,
        Signal::Resume => libc::SIGCONT,
    };
    // SAFETY: kill(2) takes no pointers and cannot break memory safety; the
    // id is our own child's, not yet reaped, so it names no other process.
    #[allow(unsafe_code)]
    let result = unsafe { libc::kill(pid, number) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Without signals there is no gentler stop than a kill, and no pause.
#[cfg(not(unix))]
fn send_signal(_pid: u32, signal: Signal) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{signal:?} needs a Unix system"),
    ))
}

/// Which of our streams a child's stream is copied to.
#[derive(Debug, Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    /// Writes one whole line under the stream's lock, so lines of different
    /// regions never interleave mid-line.
    fn write_line(self, line: &[u8]) {
        // Nothing useful can be done when our own output is gone.
        let _ = match self {
            Sink::Stdout => io::stdout().lock().write_all(line),
            Sink::Stderr => io::stderr().lock().write_all(line),
        };
    }
}

fn copy_output(
    stream: impl AsyncRead + Unpin + Send + 'static,
    label: &str,
    sink: Sink,
) -> JoinHandle<()> {
    let label = label.to_owned();
    tokio::spawn(prefix_lines(stream, label, move |line| {
        sink.write_line(line)
    }))
}

/// Copies `stream` line by line to `write`, each line behind `label`; a
/// last line without a newline gets one.
async fn prefix_lines(stream: impl AsyncRead + Unpin, label: String, mut write: impl FnMut(&[u8])) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                out.clear();
                out.extend_from_slice(label.as_bytes());
                out.push(b' ');
                out.extend_from_slice(&line);
                if !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                write(&out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_lines_get_the_region_label() {
        let input: &[u8] = b"listening\nready\nno newline";
        let mut written = Vec::new();
        prefix_lines(input, "[eu-west]".to_owned(), |line| {
            written.push(String::from_utf8_lossy(line).into_owned())
        })
        .await;
        assert_eq!(
            written,
            [
                "[eu-west] listening\n",
                "[eu-west] ready\n",
                "[eu-west] no newline\n"
            ]
        );
    }

    #[cfg(unix)]
    fn shell(name: &str, script: &str) -> RegionProcess {
        let mut launch = Launch::new("sh", name);
        launch.arg("-c").arg(script);
        RegionProcess::new(name, launch)
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn kill_reaps_and_spawn_starts_again_with_the_same_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("r.log");
        let mut launch = Launch::new("sh", "r");
        launch
            .arg("-c")
            .arg("echo \"started$EXTRA\"; exec sleep 30")
            .env("EXTRA", "!");
        launch.output = Output::Appended(log.clone());
        let process = RegionProcess::new("r", launch);
        // Waits until the log holds `n` lines, so a kill never beats the echo.
        let logged = |n: usize| {
            let log = log.clone();
            async move {
                while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < n {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        assert!(!process.is_running());
        assert!(process.spawn().unwrap());
        assert!(!process.spawn().unwrap(), "a running region is left alone");
        assert!(process.is_running());
        logged(1).await;
        process.kill().await.unwrap();
        assert!(!process.is_running());
        assert!(
            process.exited().is_none(),
            "a kill is not an exit by itself"
        );
        assert!(process.spawn().unwrap());
        logged(2).await;
        process.kill().await.unwrap();
        process.kill().await.unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text, "started!\nstarted!\n", "appended, with the env set");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_paused_region_makes_no_progress_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ticks");
        let script = format!(
            "while true; do echo x >> '{}'; sleep 0.02; done",
            marker.display()
        );
        let process = shell("p", &script);
        assert!(!process.signal(Signal::Pause).await.unwrap(), "not started");
        process.spawn().unwrap();
        let ticks = || std::fs::read_to_string(&marker).map_or(0, |t| t.lines().count());
        while ticks() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(process.signal(Signal::Pause).await.unwrap());
        // Let a write that was under way land.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let paused = ticks();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(ticks(), paused, "no progress while paused");
        assert!(process.signal(Signal::Resume).await.unwrap());
        while ticks() == paused {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        process.kill().await.unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_exit_by_itself_stays_on_record_until_killed() {
        use std::os::unix::process::ExitStatusExt as _;

        let process = shell("c", "echo going; exit 3");
        process.spawn().unwrap();
        let exit = process.exit_watch().unwrap().wait().await;
        assert_eq!(exit.region, "c");
        assert_eq!(exit.status.as_ref().unwrap().code(), Some(3));
        assert!(!exit.stopped_cleanly());
        assert_eq!(exit.status_text(), "exit status: 3");
        assert_eq!(process.exited().unwrap().status_text(), "exit status: 3");
        assert!(process.is_running(), "on record until killed");
        assert!(!process.signal(Signal::Terminate).await.unwrap());
        process.kill().await.unwrap();
        assert!(process.exited().is_none());

        let terminated = shell("t", "exec sleep 30");
        terminated.spawn().unwrap();
        assert!(terminated.signal(Signal::Terminate).await.unwrap());
        let exit = terminated.exit_watch().unwrap().wait().await;
        assert_eq!(exit.status.as_ref().unwrap().signal(), Some(libc::SIGTERM));
        assert!(exit.stopped_cleanly());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn dropping_the_handle_kills_the_child() {
        let process = shell("d", "exec sleep 30");
        process.spawn().unwrap();
        let exit = process.exit_watch().unwrap();
        drop(process);
        let exit = tokio::time::timeout(Duration::from_secs(10), exit.wait())
            .await
            .unwrap();
        assert!(exit.status.is_ok());
    }
}
