//! Targets and warn thresholds: `>= 400`, `<= 24h`, `>= 95%`, `>= 1.2M`, and
//! targets relative to the previous period: `+5%` (at least 5 % more than the
//! previous period), `-10%` (at least 10 % less), `>= -5%` (no more than 5 % less).

use std::fmt;
use std::str::FromStr;

use super::duration::Duration;
use super::metric::Unit;

/// The JSON Schema pattern of a target (a loose pre-check for editors; the parser
/// has the last word).
pub const TARGET_PATTERN: &str = "^ *(>=|<=|==|>|<|=)? *[+-]? *[0-9][0-9a-zA-Z_,. %]*$";

/// How the actual value is compared with the target value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `>=`: at least.
    AtLeast,
    /// `>`: more than.
    MoreThan,
    /// `<=`: at most.
    AtMost,
    /// `<`: less than.
    LessThan,
    /// `==`: exactly.
    Exactly,
}

impl Comparison {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::MoreThan => ">",
            Comparison::AtMost => "<=",
            Comparison::LessThan => "<",
            Comparison::Exactly => "==",
        }
    }

    /// +1 when higher actuals are better, -1 when lower are, 0 for `==`.
    pub fn direction(self) -> i8 {
        match self {
            Comparison::AtLeast | Comparison::MoreThan => 1,
            Comparison::AtMost | Comparison::LessThan => -1,
            Comparison::Exactly => 0,
        }
    }
}

/// The value side of a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetValue {
    /// A plain number (count or currency): `400`, `1.2M`, `250k`.
    Number(f64),
    /// A percentage: `95%` (stored as 95.0).
    Percent(f64),
    /// An elapsed duration: `24h`.
    Duration(Duration),
    /// A change relative to the previous period, in percent: `+5%` (stored as 5.0).
    Relative(f64),
}

impl TargetValue {
    /// The value as a number comparable with another of the same kind.
    pub fn magnitude(self) -> f64 {
        match self {
            TargetValue::Number(v) | TargetValue::Percent(v) | TargetValue::Relative(v) => v,
            TargetValue::Duration(d) => d.as_secs() as f64,
        }
    }

    /// What kind of value this is, in words.
    pub fn kind_name(self) -> &'static str {
        match self {
            TargetValue::Number(_) => "a number",
            TargetValue::Percent(_) => "a percentage",
            TargetValue::Duration(_) => "a duration",
            TargetValue::Relative(_) => "a change relative to the previous period",
        }
    }

    /// Whether a value of this kind can be held against a metric of this unit.
    pub fn fits(self, unit: Unit) -> bool {
        matches!(
            (self, unit),
            (TargetValue::Relative(_), _)
                | (TargetValue::Number(_), Unit::Count | Unit::Currency)
                | (TargetValue::Percent(_), Unit::Percent)
                | (TargetValue::Duration(_), Unit::Duration)
        )
    }

    fn same_kind(self, other: TargetValue) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// A parsed target or warn threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The comparison.
    pub comparison: Comparison,
    /// The value compared against.
    pub value: TargetValue,
}

/// Why a target did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Empty.
    #[error("the target is empty")]
    Empty,
    /// An absolute value without a comparison.
    #[error("`{0}` has no comparison")]
    NoComparison(String),
    /// A relative change not in percent.
    #[error("`{0}` is a relative change but not in percent")]
    RelativeNotPercent(String),
    /// The value is not a number, percentage or duration.
    #[error("`{0}` is not a number, a percentage or a duration")]
    Value(String),
}

impl TargetError {
    /// How to write a target instead.
    pub fn help(&self) -> &'static str {
        match self {
            TargetError::NoComparison(_) => {
                "start with a comparison: `>= 400`, `<= 24h`, `>= 95%` (only relative targets like `+5%` may omit it)"
            }
            TargetError::RelativeNotPercent(_) => {
                "a change relative to the previous period is written in percent: `+5%`, `-10%`, `>= -5%`"
            }
            TargetError::Empty | TargetError::Value(_) => {
                "write a comparison and a value: `>= 400`, `>= 1.2M`, `>= 95%`, `<= 24h`, or a relative change `+5%`"
            }
        }
    }
}

/// Why a warn threshold does not go with its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarnError {
    /// A different comparison than the target's.
    Comparison,
    /// A different kind of value than the target's.
    Kind,
    /// Not stricter than the target (the warning would never come before the failure).
    NotStricter,
    /// The target is `==`, which has no side to warn on.
    Exact,
}

fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != '_' && *c != ',').collect();
    let (digits, factor) = match cleaned.as_bytes().last()? {
        b'k' | b'K' => (&cleaned[..cleaned.len() - 1], 1e3),
        b'M' => (&cleaned[..cleaned.len() - 1], 1e6),
        b'B' => (&cleaned[..cleaned.len() - 1], 1e9),
        _ => (cleaned.as_str(), 1.0),
    };
    let digits = digits.trim_end();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v: f64 = digits.parse().ok()?;
    v.is_finite().then_some(v * factor)
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Target, TargetError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(TargetError::Empty);
        }
        let ops = [
            (">=", Comparison::AtLeast),
            ("<=", Comparison::AtMost),
            ("==", Comparison::Exactly),
            (">", Comparison::MoreThan),
            ("<", Comparison::LessThan),
            ("=", Comparison::Exactly),
        ];
        let (comparison, rest) = match ops.iter().find(|(sym, _)| s.starts_with(sym)) {
            Some((sym, cmp)) => (Some(*cmp), s[sym.len()..].trim_start()),
            None => (None, s),
        };
        if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
            let body = rest[1..].trim_start();
            let Some(number) = body.strip_suffix('%') else {
                return Err(TargetError::RelativeNotPercent(text.to_string()));
            };
            let v = parse_number(number.trim_end())
                .filter(|_| !number.trim_end().ends_with(['k', 'K', 'M', 'B']))
                .ok_or_else(|| TargetError::Value(text.to_string()))?;
            let v = if sign == '-' { -v } else { v };
            let comparison = comparison.unwrap_or(if sign == '-' {
                Comparison::AtMost
            } else {
                Comparison::AtLeast
            });
            return Ok(Target {
                comparison,
                value: TargetValue::Relative(v),
            });
        }
        let value = if let Some(number) = rest.strip_suffix('%') {
            TargetValue::Percent(
                parse_number(number.trim_end())
                    .filter(|_| !number.trim_end().ends_with(['k', 'K', 'M', 'B']))
                    .ok_or_else(|| TargetError::Value(text.to_string()))?,
            )
        } else if let Some(v) = parse_number(rest) {
            TargetValue::Number(v)
        } else if let Ok(d) = rest.parse::<Duration>() {
            TargetValue::Duration(d)
        } else {
            return Err(TargetError::Value(text.to_string()));
        };
        let comparison = comparison.ok_or_else(|| TargetError::NoComparison(text.to_string()))?;
        Ok(Target { comparison, value })
    }
}

impl Target {
    /// Checks that `warn` is a warn threshold for this target: same comparison,
    /// same kind of value, and stricter (a value that warns comes before one that fails).
    pub fn check_warn(&self, warn: &Target) -> Result<(), WarnError> {
        if self.comparison == Comparison::Exactly {
            return Err(WarnError::Exact);
        }
        if warn.comparison != self.comparison {
            return Err(WarnError::Comparison);
        }
        if !warn.value.same_kind(self.value) {
            return Err(WarnError::Kind);
        }
        let d = f64::from(self.comparison.direction());
        if (warn.value.magnitude() - self.value.magnitude()) * d > 0.0 {
            Ok(())
        } else {
            Err(WarnError::NotStricter)
        }
    }

    /// Whether the target asks for more (`>=`, `>`) rather than less.
    pub fn wants_more(&self) -> bool {
        self.comparison.direction() > 0
    }
}

fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl fmt::Display for TargetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TargetValue::Number(v) => f.write_str(&fmt_number(v)),
            TargetValue::Percent(v) => write!(f, "{}%", fmt_number(v)),
            TargetValue::Duration(d) => write!(f, "{d}"),
            TargetValue::Relative(v) if v >= 0.0 => write!(f, "+{}%", fmt_number(v)),
            TargetValue::Relative(v) => write!(f, "{}%", fmt_number(v)),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.comparison.symbol(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        match s.parse() {
            Ok(t) => t,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parses_absolute_targets() {
        assert_eq!(t(">= 400").value, TargetValue::Number(400.0));
        assert_eq!(t(">=400").comparison, Comparison::AtLeast);
        assert_eq!(t(">= 1.2M").value, TargetValue::Number(1_200_000.0));
        assert_eq!(t(">= 250k").value, TargetValue::Number(250_000.0));
        assert_eq!(t(">= 250_000").value, TargetValue::Number(250_000.0));
        assert_eq!(t(">= 95%").value, TargetValue::Percent(95.0));
        assert_eq!(t(">= 37.5%").value, TargetValue::Percent(37.5));
        assert_eq!(
            t("<= 24h").value,
            TargetValue::Duration(Duration::from_secs(86_400))
        );
        assert_eq!(t("< 5m").comparison, Comparison::LessThan);
        assert_eq!(t("= 3").comparison, Comparison::Exactly);
        assert_eq!(t("<= 1h 30m").to_string(), "<= 1h 30m");
    }

    #[test]
    fn parses_relative_targets() {
        assert_eq!(
            t("+5%"),
            Target {
                comparison: Comparison::AtLeast,
                value: TargetValue::Relative(5.0)
            }
        );
        assert_eq!(
            t("-10%"),
            Target {
                comparison: Comparison::AtMost,
                value: TargetValue::Relative(-10.0)
            }
        );
        assert_eq!(t(">= -5%").comparison, Comparison::AtLeast);
        assert_eq!(t(">= -5%").value, TargetValue::Relative(-5.0));
        assert_eq!(t("+5%").to_string(), ">= +5%");
    }

    #[test]
    fn refuses_bad_targets() {
        assert_eq!(
            "400".parse::<Target>(),
            Err(TargetError::NoComparison("400".into()))
        );
        assert_eq!("".parse::<Target>(), Err(TargetError::Empty));
        assert_eq!(
            "+5".parse::<Target>(),
            Err(TargetError::RelativeNotPercent("+5".into()))
        );
        assert_eq!(
            ">= lots".parse::<Target>(),
            Err(TargetError::Value(">= lots".into()))
        );
        assert_eq!(
            ">= 5k%".parse::<Target>(),
            Err(TargetError::Value(">= 5k%".into()))
        );
        assert!(">= 1.2.3".parse::<Target>().is_err());
        assert!(">= 24x".parse::<Target>().is_err());
    }

    #[test]
    fn units_fit() {
        assert!(t(">= 95%").value.fits(Unit::Percent));
        assert!(!t(">= 95%").value.fits(Unit::Count));
        assert!(t(">= 400").value.fits(Unit::Count));
        assert!(t(">= 400").value.fits(Unit::Currency));
        assert!(!t(">= 400").value.fits(Unit::Duration));
        assert!(t("<= 24h").value.fits(Unit::Duration));
        assert!(t("+5%").value.fits(Unit::Count));
    }

    #[test]
    fn warn_thresholds_must_be_stricter() {
        assert_eq!(t(">= 400").check_warn(&t(">= 440")), Ok(()));
        assert_eq!(
            t(">= 400").check_warn(&t(">= 400")),
            Err(WarnError::NotStricter)
        );
        assert_eq!(
            t(">= 400").check_warn(&t(">= 380")),
            Err(WarnError::NotStricter)
        );
        assert_eq!(t("<= 24h").check_warn(&t("<= 12h")), Ok(()));
        assert_eq!(
            t("<= 24h").check_warn(&t("<= 36h")),
            Err(WarnError::NotStricter)
        );
        assert_eq!(
            t(">= 95%").check_warn(&t("<= 97%")),
            Err(WarnError::Comparison)
        );
        assert_eq!(t(">= 95%").check_warn(&t(">= 97")), Err(WarnError::Kind));
        assert_eq!(t("== 3").check_warn(&t("== 3")), Err(WarnError::Exact));
        assert_eq!(t("+5%").check_warn(&t("+8%")), Ok(()));
    }
}
