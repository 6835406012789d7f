//! Latency histograms, their summaries, and the live progress line.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use indicatif::{ProgressBar, ProgressStyle};

/// A latency histogram in microseconds, 1 µs to 10 minutes, 3 digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("static histogram bounds are valid")
}

/// Microseconds since the Unix epoch: a clock every process on the machine
/// shares, so a receiver process can measure from a sender's intended time.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Records a latency in microseconds, saturating at the histogram's top.
pub fn record(hist: &mut Histogram<u64>, micros: u64) {
    hist.saturating_record(micros.max(1));
}

/// A histogram as base64 text, for a line between processes.
pub fn encode(hist: &Histogram<u64>) -> Result<String> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(hist, &mut bytes)
        .context("serialize a histogram")?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The inverse of [`encode`].
pub fn decode(text: &str) -> Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("decode a histogram")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .context("deserialize a histogram")
}

/// `p50 1.23 ms  p99 …` of a histogram of microseconds.
pub fn percentiles(hist: &Histogram<u64>) -> String {
    if hist.is_empty() {
        return "no samples".to_owned();
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        hist.max() as f64 / 1000.0
    )
}

/// p50 and p99 in milliseconds.
pub fn p50_p99(hist: &Histogram<u64>) -> (f64, f64) {
    if hist.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (
        hist.value_at_quantile(0.5) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
    )
}

/// A spinner on stderr with a message the scenario updates.
pub fn progress(prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {prefix}: {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(prefix.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `12,345` for readable counts.
pub fn thousands(n: f64) -> String {
    let whole = n.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_trip_between_processes() {
        let mut hist = histogram();
        for v in [5, 500, 50_000] {
            record(&mut hist, v);
        }
        let back = decode(&encode(&hist).unwrap()).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back.max(), hist.max());
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
