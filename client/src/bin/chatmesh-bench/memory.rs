//! Resident memory of a region process over a window: `VmRSS` sampled on
//! its own thread, and the kernel's own high-water mark `VmHWM`, reset at
//! the start of the window so set-up does not count.
//!
//! Sampling sees only the moments it looks; a spike shorter than the
//! interval can fall between two samples. `VmHWM` sees every page the
//! process touched, so the two together bound the peak from both sides:
//! the sampled peak is reached, the high-water mark is not exceeded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A field of `/proc/<pid>/status` given in kB (`VmRSS:`, `VmHWM:`), in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, field)
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the process's `VmHWM` to its current `VmRSS` (writing `5` to
/// `/proc/<pid>/clear_refs`, Linux 4.0 and later); false when that is not
/// allowed or not supported.
pub fn reset_high_water_mark(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The largest `VmRSS` seen while it runs.
///
/// A thread rather than a task: the load shares the runtime with the
/// sampler, and a sampler that waits behind page decoding would miss the
/// very moments it is there to see.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Peak>,
}

/// What a [`PeakSampler`] saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Peak {
    /// The largest `VmRSS`, in KiB.
    pub kib: u64,
    /// Samples taken.
    pub samples: u64,
}

impl PeakSampler {
    /// Starts reading `pid`'s `VmRSS` every `every`.
    pub fn start(pid: u32, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = Peak::default();
            loop {
                if let Some(kib) = status_kib(pid, "VmRSS:") {
                    peak.kib = peak.kib.max(kib);
                    peak.samples += 1;
                }
                if stopped.load(Ordering::Relaxed) {
                    return peak;
                }
                std::thread::sleep(every);
            }
        });
        Self { stop, thread }
    }

    /// Stops sampling (after one last sample) and returns the peak.
    pub fn stop(self) -> Peak {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tregion-node\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS:"), Some(102_400));
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(204_800));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn the_sampler_sees_this_process() {
        let sampler = PeakSampler::start(std::process::id(), Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        let peak = sampler.stop();
        assert!(peak.samples >= 2, "{peak:?}");
        assert!(peak.kib > 0, "{peak:?}");
    }
}
