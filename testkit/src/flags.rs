//! Parsing the mesh tools' command-line values: durations through the
//! `humantime` crate (`80ms`, `1.5s`, `250us`, `2m`, `1h 30m`), and
//! probabilities (`0.01`).
//!
//! [`parse_duration`] refuses a bare number (except `0`): whether `80`
//! means milliseconds or seconds is exactly the mistake a unit prevents.
//! Tools whose flags always took a bare number as seconds keep that with
//! [`parse_duration_or_seconds`].

use std::time::Duration;

/// A duration or probability that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlagError {
    /// The text is not a duration with units.
    #[error("{text:?} is not a duration such as 80ms, 1.5s or 2m: {source}")]
    NotADuration {
        /// The text given.
        text: String,
        /// What the parser found wrong.
        source: humantime::DurationError,
    },
    /// The probability is not a number between 0 and 1.
    #[error("{0:?} is not a probability between 0 and 1")]
    NotAProbability(String),
}

/// Parses a duration with units, e.g. `80ms`, `1.5s`, `250us`, `2m`, or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, FlagError> {
    humantime::parse_duration(text.trim()).map_err(|source| FlagError::NotADuration {
        text: text.to_owned(),
        source,
    })
}

/// Like [`parse_duration`], reading a bare number (`45`, `1.5`) as seconds.
pub fn parse_duration_or_seconds(text: &str) -> Result<Duration, FlagError> {
    let trimmed = text.trim();
    let bare = !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.');
    if bare {
        parse_duration(&format!("{trimmed}s")).map_err(|error| match error {
            FlagError::NotADuration { source, .. } => FlagError::NotADuration {
                text: text.to_owned(),
                source,
            },
            other => other,
        })
    } else {
        parse_duration(text)
    }
}

/// Parses a probability in `0..=1`, e.g. `0.01` for 1 % loss.
pub fn parse_probability(text: &str) -> Result<f64, FlagError> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| FlagError::NotAProbability(text.to_owned()))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(FlagError::NotAProbability(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_people_write_are_read() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("80ms"), Ok(ms(80)));
        assert_eq!(parse_duration("1s"), Ok(ms(1000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("5m"), Ok(ms(300_000)));
        assert_eq!(parse_duration("2min"), Ok(ms(120_000)));
        assert_eq!(parse_duration(" 5ms "), Ok(ms(5)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
    }

    #[test]
    fn bare_numbers_and_malformed_durations_are_refused() {
        for text in ["80", "ms", ".5s", "1.2.3s", "-5ms", "5 parsecs", ""] {
            assert!(
                matches!(parse_duration(text), Err(FlagError::NotADuration { .. })),
                "{text:?}"
            );
        }
        assert!(parse_duration("99999999999999999999999m").is_err());
    }

    #[test]
    fn bare_numbers_can_mean_seconds() {
        let s = Duration::from_secs;
        assert_eq!(parse_duration_or_seconds("45"), Ok(s(45)));
        assert_eq!(parse_duration_or_seconds(" 45 "), Ok(s(45)));
        assert_eq!(
            parse_duration_or_seconds("1.5"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(parse_duration_or_seconds("60s"), Ok(s(60)));
        assert_eq!(parse_duration_or_seconds("2m"), Ok(s(120)));
        assert_eq!(
            parse_duration_or_seconds("500ms"),
            Ok(Duration::from_millis(500))
        );
        assert!(parse_duration_or_seconds("soon").is_err());
        assert!(parse_duration_or_seconds("1.2.3").is_err());
        assert!(parse_duration_or_seconds(".").is_err());
        let error = parse_duration_or_seconds("1..5").unwrap_err().to_string();
        assert!(error.starts_with("\"1..5\" is not a duration"), "{error}");
    }

    #[test]
    fn probabilities_stay_between_zero_and_one() {
        assert_eq!(parse_probability("0.01"), Ok(0.01));
        assert_eq!(parse_probability("0"), Ok(0.0));
        assert_eq!(parse_probability("1"), Ok(1.0));
        assert!(parse_probability("1.5").is_err());
        assert!(parse_probability("-0.1").is_err());
        assert!(parse_probability("NaN").is_err());
        assert!(parse_probability("1%").is_err());
    }

    proptest! {
        #[test]
        fn formatted_durations_parse_back(micros in 0u64..10_000_000_000) {
            let duration = Duration::from_micros(micros);
            let text = humantime::format_duration(duration).to_string();
            prop_assert_eq!(parse_duration(&text), Ok(duration));
        }
    }
}
