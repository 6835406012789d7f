//! What a person reads after a run: `results.json` (the checker's report,
//! for machines), `summary.txt` (the verdict in words) and `timeline.png`
//! (latency and per-region availability over time, with the faults
//! shaded), all written into one directory.

mod series;
mod summary;
mod timeline;

use std::path::{Path, PathBuf};

pub use summary::summary;

use crate::checker::Report;
use crate::history::Op;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or the directory could not be written.
    #[error("write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The report could not be encoded as JSON.
    #[error("encode results: {0}")]
    Json(#[from] serde_json::Error),
    /// The chart could not be drawn.
    #[error("draw timeline: {0}")]
    Chart(String),
}

/// Writes `results.json`, `summary.txt` and `timeline.png` into `dir`
/// (created if missing).
pub fn write(dir: &Path, ops: &[Op], report: &Report) -> Result<(), ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let results = dir.join("results.json");
    let json = serde_json::to_vec_pretty(report)?;
    std::fs::write(&results, json).map_err(io(&results))?;
    let text = dir.join("summary.txt");
    std::fs::write(&text, summary(report)).map_err(io(&text))?;
    let chart = dir.join("timeline.png");
    timeline::draw(
        &chart,
        &series::Series::from_history(ops),
        timeline::font_loaded(),
    )
}

/// An operation's name as the history spells it (`set_meta`, …).
fn f_name(f: crate::history::F) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{f:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::history::{F, OpType, Process};
    use serde_json::json;

    fn op(index: u64, kind: OpType, f: F, value: serde_json::Value) -> Op {
        Op {
            index,
            time: index * 300_000_000,
            process: Process::Client(1),
            kind,
            f,
            value,
            region: Some("r1".to_owned()),
            device: Some("d1".to_owned()),
            user: Some("u1".to_owned()),
            error: None,
        }
    }

    #[test]
    fn writes_the_three_files() {
        let ops = vec![
            op(
                0,
                OpType::Invoke,
                F::Send,
                json!({"chat": "c", "client_msg_id": "a", "text": "t"}),
            ),
            op(
                1,
                OpType::Ok,
                F::Send,
                json!({"chat": "c", "client_msg_id": "a", "status": "sent", "seq": 1, "hlc": "0000000000000001"}),
            ),
        ];
        let report = check(&ops);
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("run");
        write(&out, &ops, &report).expect("write report");
        let results: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("results.json")).expect("read"))
                .expect("json");
        assert_eq!(results["valid"], true);
        assert_eq!(results["stats"]["completions"], 1);
        let text = std::fs::read_to_string(out.join("summary.txt")).expect("read");
        assert!(text.contains("VALID"), "{text}");
        let png = std::fs::read(out.join("timeline.png")).expect("read");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn operations_are_named_as_in_the_history() {
        assert_eq!(f_name(F::SetMeta), "set_meta");
        assert_eq!(f_name(F::Send), "send");
    }
}
