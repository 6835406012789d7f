//! Parsing the launcher's fault flags: durations written the way people
//! write them (`80ms`, `1s`, `1.5s`, `250us`) and probabilities (`0.01`).
//!
//! A bare number is refused (except `0`): whether `80` means milliseconds or
//! seconds is exactly the mistake a unit prevents.

use std::time::Duration;

/// A duration or probability flag that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// The text has no number, or the number does not parse.
    #[error("{0:?} is not a number followed by a unit (us, ms, s, m), e.g. 80ms")]
    NotADuration(String),
    /// The unit is not one of us, ms, s, m.
    #[error("{0:?} has unit {1:?}; use us, ms, s or m")]
    UnknownUnit(String, String),
    /// The duration is too large to represent.
    #[error("{0:?} is too long")]
    TooLong(String),
    /// The probability is not a number between 0 and 1.
    #[error("{0:?} is not a probability between 0 and 1")]
    NotAProbability(String),
}

/// Parses `80ms`, `1s`, `1.5s`, `250us`, `2m` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, FlagError> {
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| FlagError::NotADuration(text.to_owned()))?;
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(FlagError::NotADuration(text.to_owned()));
    }
    let nanos_per_unit: u128 = match unit.trim() {
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        other => return Err(FlagError::UnknownUnit(text.to_owned(), other.to_owned())),
    };
    // Integer arithmetic, so `80ms` is exactly 80 ms and not 79.999...
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let not_a_duration = || FlagError::NotADuration(text.to_owned());
    let whole: u128 = whole.parse().map_err(|_| not_a_duration())?;
    let mut nanos = whole
        .checked_mul(nanos_per_unit)
        .ok_or_else(|| FlagError::TooLong(text.to_owned()))?;
    if !fraction.is_empty() {
        // Digits past nanosecond precision cannot change the result.
        let digits = &fraction[..fraction.len().min(18)];
        let scale = 10u128.pow(u32::try_from(digits.len()).unwrap_or(18));
        let fraction: u128 = digits.parse().map_err(|_| not_a_duration())?;
        nanos += fraction * nanos_per_unit / scale;
    }
    let secs =
        u64::try_from(nanos / 1_000_000_000).map_err(|_| FlagError::TooLong(text.to_owned()))?;
    let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, subsec))
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

/// Writes a duration back the way [`parse_duration`] reads it, in the
/// largest unit that keeps it whole (`80ms`, `1s`, `1500us`).
pub fn format_duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros == 0 {
        "0ms".to_owned()
    } else if micros.is_multiple_of(1_000_000) {
        format!("{}s", micros / 1_000_000)
    } else if micros.is_multiple_of(1_000) {
        format!("{}ms", micros / 1_000)
    } else {
        format!("{micros}us")
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
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration(" 5ms "), Ok(ms(5)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn bare_numbers_and_unknown_units_are_refused() {
        assert!(matches!(
            parse_duration("80"),
            Err(FlagError::NotADuration(_))
        ));
        assert!(matches!(
            parse_duration("ms"),
            Err(FlagError::NotADuration(_))
        ));
        assert!(matches!(
            parse_duration(".5s"),
            Err(FlagError::NotADuration(_))
        ));
        assert!(matches!(
            parse_duration("1.2.3s"),
            Err(FlagError::NotADuration(_))
        ));
        assert!(matches!(
            parse_duration("-5ms"),
            Err(FlagError::NotADuration(_))
        ));
        assert!(matches!(
            parse_duration("5h"),
            Err(FlagError::UnknownUnit(_, unit)) if unit == "h"
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999m"),
            Err(FlagError::TooLong(_))
        ));
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

    #[test]
    fn formatting_picks_the_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_millis(80)), "80ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
    }

    proptest! {
        #[test]
        fn formatted_durations_parse_back(micros in 0u64..10_000_000_000) {
            let duration = Duration::from_micros(micros);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
    }
}
