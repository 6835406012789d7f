//! What the checker answers: the anomalies it found, grouped by class, and
//! the statistics of the run. A class keeps every anomaly's count but only
//! its first few examples, so a history with a systematic fault still gives
//! a report a person can read.

use std::collections::BTreeMap;

use serde::Serialize;

use super::stats::Stats;

/// How many examples a class keeps; the rest are only counted.
pub const EXAMPLES_PER_CLASS: usize = 20;

/// A kind of violation of chatmesh's guarantees (or of the history format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Final logs of a chat differ between regions.
    FinalDivergence,
    /// An acknowledged send or a resolve is missing from the final log.
    LostWrite,
    /// A send that certainly failed is in the final log.
    FailedWriteVisible,
    /// One message at two seqs, or one seq twice in one read.
    Duplicate,
    /// An operation reports a message at another seq or HLC than the final log.
    SeqMismatch,
    /// Seqs that are not contiguous.
    Gap,
    /// A read that does not agree with the final log at its seqs.
    NotPrefix,
    /// A device's reads went backwards.
    NonmonotonicRead,
    /// A process did not read its own sequenced send.
    ReadYourWrites,
    /// HLCs that do not grow along a final log.
    HlcOrder,
    /// A send's HLC is not above an HLC its sender had already seen.
    Causality,
    /// Delivered or read marks that went down.
    ReceiptRegression,
    /// Chat metadata that differs between regions or was never written.
    MetaDivergence,
    /// A message seen or sent by someone who was not a member.
    MembershipViolation,
    /// A message deleted for everyone whose text (or an edit's text) a
    /// region still shows.
    DeletedReadable,
    /// A message whose folded state (text, edit history, reactions) is not
    /// what its edit and reaction entries give in `seq` order.
    FoldMismatch,
    /// Events the checker could not understand.
    Malformed,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 17] = [
        Class::FinalDivergence,
        Class::LostWrite,
        Class::FailedWriteVisible,
        Class::Duplicate,
        Class::SeqMismatch,
        Class::Gap,
        Class::NotPrefix,
        Class::NonmonotonicRead,
        Class::ReadYourWrites,
        Class::HlcOrder,
        Class::Causality,
        Class::ReceiptRegression,
        Class::MetaDivergence,
        Class::MembershipViolation,
        Class::DeletedReadable,
        Class::FoldMismatch,
        Class::Malformed,
    ];

    /// The class's name as it appears in results (snake_case).
    pub fn name(self) -> &'static str {
        match self {
            Class::FinalDivergence => "final_divergence",
            Class::LostWrite => "lost_write",
            Class::FailedWriteVisible => "failed_write_visible",
            Class::Duplicate => "duplicate",
            Class::SeqMismatch => "seq_mismatch",
            Class::Gap => "gap",
            Class::NotPrefix => "not_prefix",
            Class::NonmonotonicRead => "nonmonotonic_read",
            Class::ReadYourWrites => "read_your_writes",
            Class::HlcOrder => "hlc_order",
            Class::Causality => "causality",
            Class::ReceiptRegression => "receipt_regression",
            Class::MetaDivergence => "meta_divergence",
            Class::MembershipViolation => "membership_violation",
            Class::DeletedReadable => "deleted_readable",
            Class::FoldMismatch => "fold_mismatch",
            Class::Malformed => "malformed",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One violation, with the events that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// Its class.
    pub class: Class,
    /// The chat, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// The region, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The `index` of each event involved.
    pub ops: Vec<u64>,
    /// What is wrong, in words.
    pub detail: String,
}

impl Anomaly {
    /// An anomaly of `class` about the events `ops`.
    pub fn new(class: Class, ops: Vec<u64>, detail: impl Into<String>) -> Self {
        Self {
            class,
            chat: None,
            region: None,
            ops,
            detail: detail.into(),
        }
    }

    /// The same anomaly, about `chat`.
    pub fn chat(mut self, chat: impl Into<String>) -> Self {
        self.chat = Some(chat.into());
        self
    }

    /// The same anomaly, about `region`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
}

/// The anomalies of one class: how many, and the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClassResult {
    /// How many were found.
    pub count: usize,
    /// The first [`EXAMPLES_PER_CLASS`] of them.
    pub examples: Vec<Anomaly>,
}

/// Collects anomalies while the checks run, keeping counts and examples.
#[derive(Debug, Default)]
pub struct Findings {
    by_class: BTreeMap<Class, ClassResult>,
}

impl Findings {
    /// Records one anomaly.
    pub fn add(&mut self, anomaly: Anomaly) {
        let entry = self.by_class.entry(anomaly.class).or_default();
        entry.count += 1;
        if entry.examples.len() < EXAMPLES_PER_CLASS {
            entry.examples.push(anomaly);
        }
    }

    /// The collected anomalies by class (only classes that occurred).
    pub fn into_classes(self) -> BTreeMap<Class, ClassResult> {
        self.by_class
    }
}

/// The checker's verdict on a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Whether no anomaly of any class was found.
    pub valid: bool,
    /// Anomalies by class; every class is present, most with count 0.
    pub anomalies: BTreeMap<Class, ClassResult>,
    /// Counts, throughput, availability and convergence of the run.
    pub stats: Stats,
}

impl Report {
    /// Builds a report from what the checks found.
    pub fn new(findings: Findings, stats: Stats) -> Self {
        let mut anomalies: BTreeMap<Class, ClassResult> = Class::ALL
            .iter()
            .map(|c| (*c, ClassResult::default()))
            .collect();
        anomalies.extend(findings.into_classes());
        let valid = anomalies.values().all(|r| r.count == 0);
        Self {
            valid,
            anomalies,
            stats,
        }
    }

    /// Whether the history shows no anomaly at all.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// How many anomalies of each class were found (every class, zeros too).
    pub fn anomaly_counts(&self) -> BTreeMap<Class, usize> {
        self.anomalies
            .iter()
            .map(|(class, result)| (*class, result.count))
            .collect()
    }

    /// The classes that have at least one anomaly.
    pub fn failing_classes(&self) -> Vec<Class> {
        self.anomalies
            .iter()
            .filter(|(_, r)| r.count > 0)
            .map(|(c, _)| *c)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_count_everything_but_keep_few_examples() {
        let mut findings = Findings::default();
        for i in 0..(EXAMPLES_PER_CLASS as u64 + 5) {
            findings.add(Anomaly::new(Class::Gap, vec![i], "gap"));
        }
        findings.add(Anomaly::new(Class::LostWrite, vec![1], "lost").chat("c"));
        let report = Report::new(findings, Stats::default());
        assert!(!report.is_valid());
        let counts = report.anomaly_counts();
        assert_eq!(counts[&Class::Gap], EXAMPLES_PER_CLASS + 5);
        assert_eq!(counts[&Class::LostWrite], 1);
        assert_eq!(counts[&Class::Duplicate], 0);
        assert_eq!(counts.len(), Class::ALL.len());
        assert_eq!(
            report.anomalies[&Class::Gap].examples.len(),
            EXAMPLES_PER_CLASS
        );
        assert_eq!(report.failing_classes(), vec![Class::LostWrite, Class::Gap]);
    }

    #[test]
    fn an_empty_report_is_valid_and_serializes_class_names() {
        let report = Report::new(Findings::default(), Stats::default());
        assert!(report.is_valid());
        let json = serde_json::to_value(&report).expect("serialize");
        assert_eq!(json["anomalies"]["final_divergence"]["count"], 0);
        assert_eq!(json["valid"], true);
        for class in Class::ALL {
            assert_eq!(
                serde_json::to_value(class).expect("serialize"),
                serde_json::Value::String(class.name().to_owned())
            );
        }
    }
}
