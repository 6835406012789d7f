//! CPU time of the region processes, read from `/proc/<pid>/stat`: user
//! plus system time (`utime + stime`, every thread of the process, not its
//! children), in clock ticks of `sysconf(_SC_CLK_TCK)`.
//!
//! A scenario reads a [`Meter`] right before the measured window of a rate
//! step and again once that step's answers and deliveries are in, and
//! divides the difference by the sends and deliveries it counted, so
//! set-up (accounts, chats, connections) and warm-up never count. A tick is
//! usually 10 ms, so a step needs some seconds of load for the figure to
//! mean much.

use std::time::Duration;

use crate::stats;

/// Why a process's CPU time could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// The stat file could not be read: the process is gone, or this is
    /// not Linux.
    #[error("read /proc/{pid}/stat")]
    Read {
        /// The process.
        pid: u32,
        /// What reading failed with.
        #[source]
        source: std::io::Error,
    },
    /// The stat file did not hold the fields of `proc(5)`.
    #[error("unexpected /proc/{pid}/stat: no {field}")]
    Parse {
        /// The process.
        pid: u32,
        /// The field that was missing or not a number.
        field: &'static str,
    },
}

/// User plus system CPU time `pid` has used so far.
pub fn cpu_time(pid: u32) -> Result<Duration, CpuError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|source| CpuError::Read { pid, source })?;
    let ticks = stat_ticks(&text).map_err(|field| CpuError::Parse { pid, field })?;
    Ok(ticks_to_duration(ticks, clock_ticks_per_second()))
}

/// `sysconf(_SC_CLK_TCK)`: the unit of the times in `/proc/<pid>/stat`
/// (100 on every Linux in use; that is the fallback should sysconf fail).
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value; it takes no
    // pointers and has no preconditions.
    #[allow(unsafe_code)]
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in clock ticks. The
/// command name (field 2) is in parentheses and may itself hold spaces and
/// parentheses, so fields are counted from the last `)`: `utime` and
/// `stime` are fields 14 and 15, the 12th and 13th after it.
fn stat_ticks(text: &str) -> Result<u64, &'static str> {
    let (_, rest) = text.rsplit_once(')').ok_or("command name")?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let mut next = |field| {
        fields
            .next()
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or(field)
    };
    let utime = next("utime")?;
    let stime = next("stime")?;
    Ok(utime + stime)
}

fn ticks_to_duration(ticks: u64, per_second: u64) -> Duration {
    let per_second = per_second.max(1);
    Duration::from_micros(
        u64::try_from(u128::from(ticks) * 1_000_000 / u128::from(per_second)).unwrap_or(u64::MAX),
    )
}

/// The region processes a scenario measures, by name.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    processes: Vec<(String, u32)>,
}

/// The CPU time of each process of a [`Meter`] at one moment.
#[derive(Debug, Clone)]
pub struct Reading(Vec<Duration>);

/// CPU time each process used between two readings.
#[derive(Debug, Clone)]
pub struct Usage {
    /// Per process, in the meter's order.
    pub per_process: Vec<(String, Duration)>,
}

impl Meter {
    /// Measures `processes` (name, pid).
    pub fn new(processes: Vec<(String, u32)>) -> Self {
        Self { processes }
    }

    /// A meter of nothing: the region's processes are not known.
    pub fn unavailable() -> Self {
        Self::default()
    }

    /// Whether there is anything to measure.
    pub fn is_available(&self) -> bool {
        !self.processes.is_empty()
    }

    /// Reads every process now; `None` when there is nothing to measure.
    pub fn read(&self) -> Result<Option<Reading>, CpuError> {
        if !self.is_available() {
            return Ok(None);
        }
        self.processes
            .iter()
            .map(|(_, pid)| cpu_time(*pid))
            .collect::<Result<_, _>>()
            .map(|times| Some(Reading(times)))
    }

    /// Reads every process at `unix_us` (µs since the epoch, the clock the
    /// load schedules its sends on), or now if that has passed.
    pub fn read_at(
        &self,
        unix_us: u64,
    ) -> tokio::task::JoinHandle<Result<Option<Reading>, CpuError>> {
        let meter = self.clone();
        tokio::spawn(async move {
            let now = stats::unix_micros();
            if unix_us > now {
                tokio::time::sleep(Duration::from_micros(unix_us - now)).await;
            }
            meter.read()
        })
    }

    /// What the processes used since `before` (`None` if it was not read).
    pub fn since(&self, before: Option<&Reading>) -> Result<Option<Usage>, CpuError> {
        let (Some(before), Some(after)) = (before, self.read()?) else {
            return Ok(None);
        };
        Ok(Some(Usage {
            per_process: self
                .processes
                .iter()
                .zip(before.0.iter().zip(&after.0))
                .map(|((name, _), (b, a))| (name.clone(), a.saturating_sub(*b)))
                .collect(),
        }))
    }

    /// A line for the report saying what was measured.
    pub fn describe(&self) -> String {
        if self.is_available() {
            let names: Vec<String> = self
                .processes
                .iter()
                .map(|(name, pid)| format!("{name} (pid {pid})"))
                .collect();
            format!(
                "region CPU (utime+stime from /proc/<pid>/stat, measured window and its answers only): {}",
                names.join(", ")
            )
        } else {
            "region CPU: cannot be measured, the region was given by --url; pass --region-pid to measure it"
                .to_owned()
        }
    }
}

impl Usage {
    /// CPU time of every process together.
    pub fn total(&self) -> Duration {
        self.per_process.iter().map(|(_, d)| *d).sum()
    }
}

/// Total CPU µs per unit (send, delivery), `-` when not measured or there
/// was nothing to divide by.
pub fn per_unit(usage: Option<&Usage>, units: u64) -> String {
    match usage {
        Some(usage) if units > 0 => {
            format!("{:.1}", usage.total().as_micros() as f64 / units as f64)
        }
        _ => "-".to_owned(),
    }
}

/// The set-up line: region CPU per account registered and logged in once
/// (with the bench's cheap password hashing, so not what production
/// hashing costs).
pub fn accounts_line(usage: &Usage, accounts: usize) -> String {
    format!(
        "set-up: {accounts} accounts registered and logged in (bench password hashing), region CPU {} µs per account",
        per_unit(Some(usage), accounts as u64)
    )
}

/// CPU µs per unit of each process: `region-a 12.3 / region-b 4.5`.
pub fn per_unit_by_process(usage: Option<&Usage>, units: u64) -> String {
    match usage {
        Some(usage) if units > 0 => usage
            .per_process
            .iter()
            .map(|(name, d)| format!("{name} {:.1}", d.as_micros() as f64 / units as f64))
            .collect::<Vec<_>>()
            .join(" / "),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    150 25 0 0 20 0 8 0 123 456 789";
        assert_eq!(stat_ticks(line), Ok(175));
        assert_eq!(stat_ticks("4242 (x) S 1 2"), Err("utime"));
        assert_eq!(stat_ticks("no name here"), Err("command name"));
    }

    #[test]
    fn ticks_become_microseconds() {
        assert_eq!(ticks_to_duration(250, 100), Duration::from_millis(2500));
        assert_eq!(ticks_to_duration(3, 1000), Duration::from_millis(3));
    }

    #[test]
    fn this_process_uses_cpu_while_it_works() {
        let meter = Meter::new(vec![("self".into(), std::process::id())]);
        let before = meter.read().unwrap();
        // Spin until the kernel has charged at least one tick.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_time(std::process::id()).unwrap()
            <= before.as_ref().map_or(Duration::ZERO, |r| r.0[0])
        {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            assert!(started.elapsed() < Duration::from_secs(10), "{x}");
        }
        let usage = meter.since(before.as_ref()).unwrap().unwrap();
        assert!(usage.total() > Duration::ZERO);
        assert_ne!(per_unit(Some(&usage), 10), "-");
        assert!(per_unit_by_process(Some(&usage), 10).starts_with("self "));
        assert_eq!(per_unit(Some(&usage), 0), "-");
    }

    #[test]
    fn a_missing_process_is_an_error_and_no_meter_reads_nothing() {
        assert!(matches!(
            cpu_time(u32::MAX),
            Err(CpuError::Read { pid: u32::MAX, .. })
        ));
        let meter = Meter::unavailable();
        assert!(meter.read().unwrap().is_none());
        assert!(meter.since(None).unwrap().is_none());
        assert_eq!(per_unit(None, 10), "-");
        assert!(meter.describe().contains("--region-pid"));
    }
}
