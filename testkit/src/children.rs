//! Region processes supervised together, the way `region-node mesh` runs
//! them: started one by one, stopped or killed all at once, and each exit
//! reported once, in the order they happen.

use tokio::task::JoinSet;
use tracing::warn;

use crate::error::MeshError;
use crate::process::{Exit, RegionProcess, Signal};

/// The region processes of a mesh and the exits not yet reported.
#[derive(Debug, Default)]
pub struct Children {
    processes: Vec<RegionProcess>,
    exits: JoinSet<Exit>,
}

impl Children {
    /// No children yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `process` and watches for its exit.
    pub fn spawn(&mut self, process: RegionProcess) -> Result<(), MeshError> {
        process.spawn()?;
        if let Some(exit) = process.exit_watch() {
            self.exits.spawn(exit.wait());
        }
        self.processes.push(process);
        Ok(())
    }

    /// Asks every child still running to drain and exit (SIGTERM).
    pub fn terminate_all(&self) {
        self.request_all(Signal::Terminate);
    }

    /// Ends every child still running at once (SIGKILL).
    pub fn kill_all(&self) {
        self.request_all(Signal::Kill);
    }

    fn request_all(&self, signal: Signal) {
        for process in &self.processes {
            // False means that child has exited already.
            process.request(signal);
        }
    }

    /// The next child to exit; `None` once all have.
    pub async fn next_exit(&mut self) -> Option<Exit> {
        loop {
            match self.exits.join_next().await? {
                Ok(exit) => return Some(exit),
                // Waiting cannot panic; if it did, the child is still
                // killed when its process handle is dropped.
                Err(error) => warn!(%error, "region watcher failed"),
            }
        }
    }

    /// How many children have not been reported as exited.
    pub fn len(&self) -> usize {
        self.exits.len()
    }

    /// Whether every child has been reported as exited.
    pub fn is_empty(&self) -> bool {
        self.exits.is_empty()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::process::Launch;

    fn shell(name: &str, script: &str) -> RegionProcess {
        let mut launch = Launch::new("sh", name);
        launch.arg("-c").arg(script);
        launch.own_group = true;
        RegionProcess::new(name, launch)
    }

    #[tokio::test]
    async fn terminate_stops_every_child_and_reports_each_exit() {
        use std::os::unix::process::ExitStatusExt as _;

        let mut children = Children::new();
        children.spawn(shell("a", "exec sleep 30")).unwrap();
        children.spawn(shell("b", "exec sleep 30")).unwrap();
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

    #[tokio::test]
    async fn a_child_that_ends_by_itself_is_reported() {
        let mut children = Children::new();
        children.spawn(shell("c", "echo going; exit 3")).unwrap();
        let exit = children.next_exit().await.unwrap();
        assert_eq!(exit.region, "c");
        assert_eq!(exit.status.unwrap().code(), Some(3));
        assert!(children.next_exit().await.is_none());
    }

    #[tokio::test]
    async fn kill_all_ends_children_that_ignore_sigterm() {
        use std::os::unix::process::ExitStatusExt as _;

        let mut children = Children::new();
        children
            .spawn(shell(
                "stubborn",
                "trap '' TERM; while true; do sleep 0.05; done",
            ))
            .unwrap();
        // Let the shell install its trap.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        children.terminate_all();
        let stuck =
            tokio::time::timeout(std::time::Duration::from_millis(300), children.next_exit()).await;
        assert!(stuck.is_err(), "SIGTERM was ignored");
        children.kill_all();
        let exit = children.next_exit().await.unwrap();
        assert_eq!(exit.status.unwrap().signal(), Some(libc::SIGKILL));
    }
}
