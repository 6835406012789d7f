//! The numbers the timeline draws, taken from the history: each `ok`
//! client operation's latency, each region's share of `ok` completions per
//! second, and the fault windows the nemesis recorded.

use std::collections::{BTreeMap, HashMap};

use crate::history::{F, Fault, Op, OpType, Process};

const NANOS_PER_SECOND: f64 = 1e9;
const NANOS_PER_MS: f64 = 1e6;

/// A fault from its start to its stop (or the end of the run).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    /// Seconds since the run started.
    pub start_s: f64,
    /// Seconds since the run started.
    pub end_s: f64,
    /// What it was (`partition r1`, …).
    pub label: String,
}

/// What the timeline shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Length of the run in seconds.
    pub duration_s: f64,
    /// (completion second, latency ms) of each ok client operation, by operation.
    pub latencies: BTreeMap<F, Vec<(f64, f64)>>,
    /// region → (second, ok share of that second's completions).
    pub availability: BTreeMap<String, Vec<(f64, f64)>>,
    /// The faults.
    pub faults: Vec<FaultWindow>,
}

impl Series {
    /// Extracts the series from a history.
    pub fn from_history(ops: &[Op]) -> Self {
        let start = ops.iter().map(|o| o.time).min().unwrap_or(0);
        let seconds = |t: u64| t.saturating_sub(start) as f64 / NANOS_PER_SECOND;
        let end = ops.iter().map(|o| o.time).max().unwrap_or(0);
        let mut series = Series {
            duration_s: seconds(end),
            ..Series::default()
        };
        let mut invoked: HashMap<(u64, F), u64> = HashMap::new();
        // region → second → (ok, all)
        let mut per_second: BTreeMap<String, BTreeMap<u64, (u32, u32)>> = BTreeMap::new();
        let mut open_faults: Vec<(String, f64, String)> = Vec::new();
        for op in ops {
            match &op.process {
                Process::Client(p) if op.kind == OpType::Invoke => {
                    invoked.insert((*p, op.f), op.time);
                }
                Process::Client(p) => {
                    let Some(began) = invoked.remove(&(*p, op.f)) else {
                        continue;
                    };
                    let ok = op.kind == OpType::Ok;
                    if ok {
                        let latency = op.time.saturating_sub(began) as f64 / NANOS_PER_MS;
                        series
                            .latencies
                            .entry(op.f)
                            .or_default()
                            .push((seconds(op.time), latency));
                    }
                    if let Some(region) = &op.region {
                        let second = op.time.saturating_sub(start) / 1_000_000_000;
                        let cell = per_second
                            .entry(region.clone())
                            .or_default()
                            .entry(second)
                            .or_default();
                        cell.0 += u32::from(ok);
                        cell.1 += 1;
                    }
                }
                process if process.is_nemesis() => {
                    let Ok(fault) = op.value_as::<Fault>() else {
                        continue;
                    };
                    let key = format!("{} {}", fault.fault, fault.regions.join(","));
                    if fault.action == "stop" {
                        if let Some(i) = open_faults.iter().position(|(k, _, _)| *k == key) {
                            let (_, start_s, label) = open_faults.remove(i);
                            series.faults.push(FaultWindow {
                                start_s,
                                end_s: seconds(op.time),
                                label,
                            });
                        }
                    } else {
                        let label = if fault.detail.is_empty() {
                            key.trim().to_owned()
                        } else {
                            format!("{} {}", fault.fault, fault.detail)
                        };
                        open_faults.push((key, seconds(op.time), label));
                    }
                }
                Process::Named(_) => {}
            }
        }
        for (_, start_s, label) in open_faults {
            series.faults.push(FaultWindow {
                start_s,
                end_s: series.duration_s,
                label,
            });
        }
        for (region, seconds) in per_second {
            let points = seconds
                .into_iter()
                .map(|(s, (ok, all))| (s as f64 + 0.5, f64::from(ok) / f64::from(all)))
                .collect();
            series.availability.insert(region, points);
        }
        series
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(time_ms: u64, process: Process, kind: OpType, f: F, value: serde_json::Value) -> Op {
        Op {
            index: 0,
            time: time_ms * 1_000_000,
            process,
            kind,
            f,
            value,
            region: Some("r1".to_owned()),
            device: None,
            user: None,
            error: None,
        }
    }

    #[test]
    fn latencies_availability_and_fault_windows() {
        let c = Process::Client(1);
        let fault = |action: &str| json!({"fault": "partition", "action": action, "regions": ["r1"], "detail": "isolate r1"});
        let ops = vec![
            op(0, c.clone(), OpType::Invoke, F::Read, json!({})),
            op(40, c.clone(), OpType::Ok, F::Read, json!({})),
            op(
                100,
                Process::nemesis(),
                OpType::Info,
                F::Nemesis,
                fault("start"),
            ),
            op(200, c.clone(), OpType::Invoke, F::Read, json!({})),
            op(1_200, c.clone(), OpType::Fail, F::Read, json!({})),
            op(
                1_500,
                Process::nemesis(),
                OpType::Info,
                F::Nemesis,
                fault("stop"),
            ),
            op(
                2_000,
                Process::nemesis(),
                OpType::Info,
                F::Nemesis,
                json!({"fault": "kill", "action": "start"}),
            ),
        ];
        let series = Series::from_history(&ops);
        assert_eq!(series.duration_s, 2.0);
        assert_eq!(series.latencies[&F::Read], vec![(0.04, 40.0)]);
        assert_eq!(series.availability["r1"], vec![(0.5, 1.0), (1.5, 0.0)]);
        assert_eq!(
            series.faults,
            vec![
                FaultWindow {
                    start_s: 0.1,
                    end_s: 1.5,
                    label: "partition isolate r1".to_owned()
                },
                FaultWindow {
                    start_s: 2.0,
                    end_s: 2.0,
                    label: "kill".to_owned()
                },
            ]
        );
    }
}
