//! The region processes of a local mesh: spawning them, copying their output
//! to ours with a `[region]` prefix, stopping them, and reporting each exit.
//!
//! Each child is owned by one task, which alone waits on it and signals it:
//! a process id is only signalled while its child is not yet reaped, so a
//! stop can never reach an unrelated process that reused the id.

use std::io::{self, Write as _};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::warn;

/// How long a finished child's output may take to drain after it exits.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// What to do to a running child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ask it to drain and exit (SIGTERM).
    Terminate,
    /// End it now (SIGKILL).
    Kill,
}

/// How one region's process ended.
#[derive(Debug)]
pub struct Exit {
    /// The region.
    pub region: String,
    /// Its exit status, or why waiting for it failed.
    pub status: io::Result<ExitStatus>,
}

/// The running region processes.
#[derive(Debug, Default)]
pub struct Children {
    running: JoinSet<Exit>,
    controls: Vec<(String, mpsc::UnboundedSender<Stop>)>,
}

impl Children {
    /// No children yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `command` as `region`'s process, in its own process group (so
    /// a terminal's Ctrl-C reaches only the launcher, which then stops the
    /// regions in order), with its stdout and stderr copied to ours behind
    /// `label`.
    pub fn spawn(&mut self, region: &str, label: &str, mut command: Command) -> io::Result<()> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A launcher that fails or panics does not leave regions behind.
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn()?;
        let mut outputs = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            outputs.push(copy_output(stdout, label, Sink::Stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            outputs.push(copy_output(stderr, label, Sink::Stderr));
        }
        let (control, stops) = mpsc::unbounded_channel();
        let name = region.to_owned();
        self.running.spawn(async move {
            let status = watch(child, stops).await;
            for output in outputs {
                let _ = tokio::time::timeout(OUTPUT_DRAIN, output).await;
            }
            Exit {
                region: name,
                status,
            }
        });
        self.controls.push((region.to_owned(), control));
        Ok(())
    }

    /// Asks every child still running to drain and exit.
    pub fn terminate_all(&self) {
        self.send_all(Stop::Terminate);
    }

    /// Ends every child still running at once.
    pub fn kill_all(&self) {
        self.send_all(Stop::Kill);
    }

    fn send_all(&self, stop: Stop) {
        for (_, control) in &self.controls {
            // A closed channel means that child has already exited.
            let _ = control.send(stop);
        }
    }

    /// The next child to exit; `None` once all have.
    pub async fn next_exit(&mut self) -> Option<Exit> {
        loop {
            match self.running.join_next().await? {
                Ok(exit) => return Some(exit),
                // The watcher cannot panic; if it did, kill_on_drop has
                // already ended its child, so it counts as gone.
                Err(error) => warn!(%error, "region watcher failed"),
            }
        }
    }

    /// How many children have not been reported as exited.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether every child has been reported as exited.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }
}

/// Waits for `child` to exit, signalling it when asked.
async fn watch(
    mut child: Child,
    mut stops: mpsc::UnboundedReceiver<Stop>,
) -> io::Result<ExitStatus> {
    loop {
        tokio::select! {
            status = child.wait() => return status,
            Some(stop) = stops.recv() => {
                let sent = match stop {
                    Stop::Terminate => terminate(&mut child),
                    Stop::Kill => child.start_kill(),
                };
                if let Err(error) = sent {
                    warn!(%error, ?stop, "signal region process");
                }
            }
        }
    }
}

/// Sends SIGTERM, which a region node answers by draining and exiting.
#[cfg(unix)]
fn terminate(child: &mut Child) -> io::Result<()> {
    // No id means the child was reaped already: nothing left to stop.
    let Some(pid) = child.id() else {
        return Ok(());
    };
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id out of range"))?;
    // SAFETY: kill(2) takes no pointers and cannot break memory safety; the
    // id is our own child's, not yet reaped, so it names no other process.
    #[allow(unsafe_code)]
    let result = unsafe { libc::kill(pid, libc::SIGTERM) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Without SIGTERM there is no gentler way to stop a process.
#[cfg(not(unix))]
fn terminate(child: &mut Child) -> io::Result<()> {
    child.start_kill()
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
    fn sleeper() -> Command {
        let mut command = Command::new("sleep");
        command.arg("30");
        command
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn terminate_stops_every_child_and_reports_each_exit() {
        use std::os::unix::process::ExitStatusExt as _;

        let mut children = Children::new();
        children.spawn("a", "[a]", sleeper()).unwrap();
        children.spawn("b", "[b]", sleeper()).unwrap();
        assert_eq!(children.len(), 2);
        children.terminate_all();
        let mut seen = Vec::new();
        while let Some(exit) = children.next_exit().await {
            let status = exit.status.unwrap();
            assert_eq!(status.signal(), Some(libc::SIGTERM));
            seen.push(exit.region);
        }
        seen.sort();
        assert_eq!(seen, ["a", "b"]);
        assert!(children.is_empty());
        // Stopping after everything exited is harmless.
        children.terminate_all();
        children.kill_all();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_child_that_ends_by_itself_is_reported() {
        let mut children = Children::new();
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo going; exit 3"]);
        children.spawn("c", "[c]", failing).unwrap();
        let exit = children.next_exit().await.unwrap();
        assert_eq!(exit.region, "c");
        assert_eq!(exit.status.unwrap().code(), Some(3));
        assert!(children.next_exit().await.is_none());
    }
}
