//! A last-writer-wins register for presence and other small fields.
//!
//! Writes are ordered by their HLC timestamp, then by the writer's name
//! (the region that wrote), so two regions that write in the same
//! timestamp still pick the same winner. A writer's hybrid clock never
//! issues one timestamp twice, so (HLC, writer) names exactly one write;
//! merge relies on that and keeps its own value when both sides claim the
//! same (HLC, writer).

use protocol::Hlc;
use serde::{Deserialize, Serialize};

/// A value with the timestamp and writer of the write that set it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Lww<T> {
    value: T,
    hlc: Hlc,
    writer: String,
}

impl<T> Lww<T> {
    /// A register holding `value`, written at `hlc` by `writer`.
    pub fn new(value: T, hlc: Hlc, writer: impl Into<String>) -> Self {
        Self {
            value,
            hlc,
            writer: writer.into(),
        }
    }

    /// The winning value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The winning value, consuming the register.
    pub fn into_value(self) -> T {
        self.value
    }

    /// When the winning value was written.
    pub fn hlc(&self) -> Hlc {
        self.hlc
    }

    /// Who wrote the winning value.
    pub fn writer(&self) -> &str {
        &self.writer
    }

    /// Writes `value` if (`hlc`, `writer`) is later than the current write;
    /// returns whether it won.
    pub fn set(&mut self, value: T, hlc: Hlc, writer: &str) -> bool {
        if (hlc, writer) <= (self.hlc, self.writer.as_str()) {
            return false;
        }
        self.value = value;
        self.hlc = hlc;
        writer.clone_into(&mut self.writer);
        true
    }
}

impl<T: Clone> Lww<T> {
    /// Keeps whichever write is later.
    pub fn merge(&mut self, other: &Self) {
        self.set(other.value.clone(), other.hlc, &other.writer);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn later_timestamp_wins_then_writer_name() {
        let mut presence = Lww::new("offline", Hlc::new(100, 0), "eu");
        assert!(presence.set("online", Hlc::new(100, 1), "eu"));
        assert!(!presence.set("away", Hlc::new(99, 7), "us"));
        assert!(presence.set("busy", Hlc::new(100, 1), "us"));
        assert!(!presence.set("online", Hlc::new(100, 1), "ap"));
        assert_eq!(*presence.value(), "busy");
        assert_eq!(
            (presence.hlc(), presence.writer()),
            (Hlc::new(100, 1), "us")
        );
    }

    #[test]
    fn round_trips_through_json() {
        let register = Lww::new(true, Hlc::new(1_700_000_000_000, 2), "us-east");
        let text = serde_json::to_string(&register).expect("serialize");
        assert_eq!(
            text,
            r#"{"value":true,"hlc":"018bcfe568000002","writer":"us-east"}"#
        );
        let back: Lww<bool> = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, register);
    }

    /// A register whose value is a function of (hlc, writer), as it is when
    /// every writer's clock issues unique timestamps.
    fn register() -> impl Strategy<Value = Lww<String>> {
        (
            0u64..4,
            0u16..3,
            prop::sample::select(vec!["ap", "eu", "us"]),
        )
            .prop_map(|(ms, logical, writer)| {
                let hlc = Hlc::new(ms, logical);
                Lww::new(format!("{writer}@{hlc}"), hlc, writer)
            })
    }

    fn merged(a: &Lww<String>, b: &Lww<String>) -> Lww<String> {
        let mut out = a.clone();
        out.merge(b);
        out
    }

    proptest! {
        #[test]
        fn merge_is_a_join(a in register(), b in register(), c in register()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
            prop_assert_eq!(merged(&a, &a), a.clone());
            let winner = merged(&a, &b);
            prop_assert!(winner == a || winner == b);
            prop_assert!((winner.hlc(), winner.writer()) >= (a.hlc(), a.writer()));
        }
    }
}
