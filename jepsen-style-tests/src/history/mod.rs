//! The history of a run: one JSON object per line, one line per event.
//!
//! Every operation a client process performs is recorded twice: an
//! `invoke` when it starts, and a completion when it ends: `ok` (it
//! happened), `fail` (it certainly did not happen) or `info` (it timed out
//! or the connection broke: it may or may not have happened). The nemesis
//! records each fault it starts and stops as an `info` event of its own
//! process. The checker reads nothing else, so a saved history can be
//! re-checked at any time.
//!
//! The operations (`f`) and their values are in [`values`].

pub mod values;

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use values::*;

/// Who performed an operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Process {
    /// A client process, bound to one region and one device.
    Client(u64),
    /// The fault injector, or the harness's own final reads:
    /// `"nemesis"` or `"final"`.
    Named(String),
}

impl Process {
    /// The fault injector.
    pub fn nemesis() -> Self {
        Self::Named("nemesis".to_owned())
    }

    /// The harness reading every region after the run.
    pub fn final_reader() -> Self {
        Self::Named("final".to_owned())
    }

    /// Whether this is the fault injector.
    pub fn is_nemesis(&self) -> bool {
        matches!(self, Self::Named(name) if name == "nemesis")
    }
}

/// The kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation started.
    Invoke,
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown: it may or may not have happened.
    Info,
}

/// One event of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, from 0, gapless.
    pub index: u64,
    /// Nanoseconds since the run started.
    pub time: u64,
    /// Who performed it.
    pub process: Process,
    /// Invoke or completion.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// What operation (see [`values`]).
    pub f: F,
    /// The operation's arguments (invoke) or results (ok); its shape
    /// depends on `f`.
    #[serde(default)]
    pub value: serde_json::Value,
    /// The region the process talks to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The process's device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The device's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// For `fail` and `info`: why (an error code or a description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Op {
    /// The value read as the typed shape of its operation.
    pub fn value_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, HistoryError> {
        serde_json::from_value(self.value.clone()).map_err(|source| HistoryError::Value {
            index: self.index,
            source,
        })
    }
}

/// Why a history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read or written.
    #[error("history I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not an event.
    #[error("line {line}: {source}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// The parse error.
        source: serde_json::Error,
    },
    /// An event's value does not have the shape its operation needs.
    #[error("event {index}: value: {source}")]
    Value {
        /// The event's index.
        index: u64,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// Reads a history file (JSON lines; blank lines are skipped).
pub fn read(path: &Path) -> Result<Vec<Op>, HistoryError> {
    let file = std::fs::File::open(path)?;
    parse(std::io::BufReader::new(file))
}

/// Reads a history from any reader of JSON lines.
pub fn parse(reader: impl BufRead) -> Result<Vec<Op>, HistoryError> {
    let mut ops = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let op = serde_json::from_str(&line).map_err(|source| HistoryError::Line {
            line: n + 1,
            source,
        })?;
        ops.push(op);
    }
    Ok(ops)
}

/// Writes events as JSON lines, numbering them as they come.
pub struct Writer<W: Write> {
    out: W,
    next: u64,
}

impl<W: Write> Writer<W> {
    /// A writer numbering from 0.
    pub fn new(out: W) -> Self {
        Self { out, next: 0 }
    }

    /// Appends one event, giving it the next index; answers that index.
    pub fn append(&mut self, mut op: Op) -> Result<u64, HistoryError> {
        op.index = self.next;
        let line = serde_json::to_string(&op).map_err(|source| HistoryError::Value {
            index: op.index,
            source,
        })?;
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.next += 1;
        Ok(op.index)
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> Result<(), HistoryError> {
        Ok(self.out.flush()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpType, f: F, value: serde_json::Value) -> Op {
        Op {
            index: 0,
            time: 5,
            process: Process::Client(3),
            kind,
            f,
            value,
            region: Some("eu-west".to_owned()),
            device: Some("d_1".to_owned()),
            user: Some("u_1".to_owned()),
            error: None,
        }
    }

    #[test]
    fn events_round_trip_through_json_lines() {
        let mut buf = Vec::new();
        let mut writer = Writer::new(&mut buf);
        let send = serde_json::json!({"chat": "c_1", "client_msg_id": "m1", "text": "hi"});
        writer
            .append(op(OpType::Invoke, F::Send, send.clone()))
            .expect("write");
        let mut nemesis = op(OpType::Info, F::Nemesis, serde_json::json!({}));
        nemesis.process = Process::nemesis();
        writer.append(nemesis).expect("write");
        let ops = parse(buf.as_slice()).expect("parse");
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].index, 0);
        assert_eq!(ops[1].index, 1);
        assert_eq!(ops[0].value, send);
        assert!(ops[1].process.is_nemesis());
        let line = String::from_utf8(buf).expect("utf-8");
        assert!(line.contains(r#""type":"invoke""#), "{line}");
        assert!(line.contains(r#""process":3"#), "{line}");
        assert!(line.contains(r#""process":"nemesis""#), "{line}");
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let text = "\n{\"index\":0}\n";
        match parse(text.as_bytes()) {
            Err(HistoryError::Line { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a line error, got {other:?}"),
        }
    }
}
