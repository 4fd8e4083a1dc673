//! Elapsed-time durations as written in the files: `24h`, `90d`, `2w`, `1h 30m`, `5m`.
//!
//! Parsed with jiff's "friendly" duration format. Days are 24 hours and weeks
//! 7 days: SLA windows are elapsed time, not calendar arithmetic. Months and
//! years are refused because their length varies.

use std::fmt;
use std::str::FromStr;

use jiff::{Span, SpanRelativeTo, Unit};

/// The JSON Schema pattern of a duration (a loose pre-check for editors; the
/// parser has the last word). ASCII classes only: Unicode `\d` and `\s` make
/// every validator start slower.
pub const DURATION_PATTERN: &str = "^ *[0-9][0-9.]* *[a-zA-Z]+( *,? *[0-9][0-9.]* *[a-zA-Z]+)* *$";

/// A non-negative elapsed duration, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    secs: u64,
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not in the friendly format at all.
    #[error("`{0}` is not a duration")]
    Syntax(String),
    /// Uses months or years, whose length varies.
    #[error("`{0}` uses months or years, whose length varies")]
    Calendar(String),
    /// Negative.
    #[error("`{0}` is negative")]
    Negative(String),
    /// Finer than a second.
    #[error("`{0}` is finer than a second")]
    SubSecond(String),
}

impl DurationError {
    /// How to write a duration instead.
    pub const HELP: &'static str =
        "write a number and a unit: `30s`, `5m`, `24h`, `7d`, `2w`, or a combination like `1h 30m`";
}

impl Duration {
    /// A duration of whole seconds.
    pub const fn from_secs(secs: u64) -> Duration {
        Duration { secs }
    }

    /// The duration in seconds.
    pub fn as_secs(self) -> u64 {
        self.secs
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Duration, DurationError> {
        let s = text.trim();
        let span: Span = s
            .parse()
            .map_err(|_| DurationError::Syntax(text.to_string()))?;
        if span.get_years() != 0 || span.get_months() != 0 {
            return Err(DurationError::Calendar(text.to_string()));
        }
        if span.is_negative() {
            return Err(DurationError::Negative(text.to_string()));
        }
        let secs = span
            .total((Unit::Second, SpanRelativeTo::days_are_24_hours()))
            .map_err(|_| DurationError::Syntax(text.to_string()))?;
        if secs.fract() != 0.0 {
            return Err(DurationError::SubSecond(text.to_string()));
        }
        Ok(Duration { secs: secs as u64 })
    }
}

impl fmt::Display for Duration {
    /// The largest whole units: `1d 2h`, `30m`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.secs;
        if rest == 0 {
            return f.write_str("0s");
        }
        let mut first = true;
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            let n = rest / size;
            if n > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{n}{unit}")?;
                first = false;
                rest %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> u64 {
        s.parse::<Duration>()
            .map(Duration::as_secs)
            .unwrap_or(u64::MAX)
    }

    #[test]
    fn parses_friendly_durations() {
        assert_eq!(secs("24h"), 86_400);
        assert_eq!(secs("5m"), 300);
        assert_eq!(secs("90d"), 90 * 86_400);
        assert_eq!(secs("2w"), 14 * 86_400);
        assert_eq!(secs("1h 30m"), 5_400);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs(" 45s "), 45);
        assert_eq!(secs("1.5h"), 5_400);
    }

    #[test]
    fn refuses_what_is_not_elapsed_time() {
        assert!(matches!(
            "1mo".parse::<Duration>(),
            Err(DurationError::Calendar(_))
        ));
        assert!(matches!(
            "1y".parse::<Duration>(),
            Err(DurationError::Calendar(_))
        ));
        assert!(matches!(
            "24".parse::<Duration>(),
            Err(DurationError::Syntax(_))
        ));
        assert!(matches!(
            "soon".parse::<Duration>(),
            Err(DurationError::Syntax(_))
        ));
        assert!(matches!(
            "-5m".parse::<Duration>(),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            "10ms".parse::<Duration>(),
            Err(DurationError::SubSecond(_))
        ));
    }

    #[test]
    fn displays_largest_units() {
        assert_eq!(Duration::from_secs(93_600).to_string(), "1d 2h");
        assert_eq!(Duration::from_secs(1_800).to_string(), "30m");
        assert_eq!(Duration::from_secs(0).to_string(), "0s");
    }
}
