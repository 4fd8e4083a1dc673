//! Judging a measured value against a target: pass, warn, fail, no-data, error.
//!
//! - A value that meets the target and its warn threshold passes; one that
//!   meets the target only warns; one that misses the target fails.
//! - Relative targets (`+5%`) compare the change against the previous period.
//! - While a period is open, counts and sums are judged on pace: the actual is
//!   held against the target pro-rated by the share of the period elapsed
//!   (equivalently, the actual projected to the period's end against the
//!   target). Being behind is a warning, not a failure, until the period ends.
//!   Ratios and durations in an open period are judged as they stand, and a
//!   miss is likewise a warning.
//! - A cohort conversion whose window has not elapsed for the whole cohort
//!   (period end + `within` after now) is maturing: a miss is a warning.

use std::fmt;

use serde::Serialize;

use super::metric::Unit;
use super::target::{Comparison, Target, TargetValue};

/// The verdict on one target for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Met the target and the warn threshold.
    Pass,
    /// Met the target but not the warn threshold, or behind pace in an open period.
    Warn,
    /// Missed the target.
    Fail,
    /// Nothing to measure in the period.
    NoData,
    /// The data could not be read or the metric not computed.
    Error,
}

impl Status {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::NoData => "no-data",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known about the period when judging.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Share of the period elapsed, in (0, 1]; 1 when it has ended.
    pub elapsed: f64,
    /// The cohort's conversion window is still open for some of it.
    pub maturing: bool,
}

/// A judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The status.
    pub status: Status,
    /// The number compared with the target: the actual, the projection to the
    /// period's end (open periods, counts and sums), or the change in percent
    /// (relative targets).
    pub compared: Option<f64>,
    /// Why, when it is not a plain pass or fail.
    pub note: Option<String>,
}

fn meets(c: Comparison, actual: f64, target: f64) -> bool {
    // Compare at a precision finer than anything displayed, so a percentage
    // computed as 74.99999999 from 3/4 of a cohort is 75.
    let eps = 1e-9 * target.abs().max(1.0);
    match c {
        Comparison::AtLeast => actual >= target - eps,
        Comparison::MoreThan => actual > target + eps,
        Comparison::AtMost => actual <= target + eps,
        Comparison::LessThan => actual < target - eps,
        Comparison::Exactly => (actual - target).abs() <= eps,
    }
}

fn magnitude(v: TargetValue) -> f64 {
    v.magnitude()
}

/// Judges `actual` (and `previous`, for relative targets) against a target.
pub fn judge(
    target: &Target,
    warn: Option<&Target>,
    unit: Unit,
    actual: Option<f64>,
    previous: Option<f64>,
    timing: Timing,
) -> Verdict {
    let Some(actual) = actual else {
        return Verdict {
            status: Status::NoData,
            compared: None,
            note: None,
        };
    };
    let additive = matches!(unit, Unit::Count | Unit::Currency);
    let open = timing.elapsed < 1.0;
    let projected = if open && additive {
        actual / timing.elapsed.max(1e-9)
    } else {
        actual
    };
    let compared = if matches!(target.value, TargetValue::Relative(_)) {
        match previous {
            Some(p) if p != 0.0 => (projected - p) / p.abs() * 100.0,
            Some(_) => {
                return Verdict {
                    status: Status::NoData,
                    compared: None,
                    note: Some("the previous period is zero: no change to compare".into()),
                };
            }
            None => {
                return Verdict {
                    status: Status::NoData,
                    compared: None,
                    note: Some("the previous period has no data to compare with".into()),
                };
            }
        }
    } else {
        projected
    };
    let mut status = if !meets(target.comparison, compared, magnitude(target.value)) {
        Status::Fail
    } else if let Some(w) = warn
        && !meets(w.comparison, compared, magnitude(w.value))
    {
        Status::Warn
    } else {
        Status::Pass
    };
    let mut note = None;
    if open {
        let pct = (timing.elapsed * 100.0).floor();
        note = Some(if additive {
            format!("period {pct:.0}% elapsed: judged on pace (projected to the period's end)")
        } else {
            format!("period {pct:.0}% elapsed: judged as it stands")
        });
        if status == Status::Fail {
            status = Status::Warn;
            note = Some(if additive {
                format!("behind pace with {pct:.0}% of the period elapsed")
            } else {
                format!("missing the target with {pct:.0}% of the period elapsed")
            });
        }
    } else if timing.maturing {
        note = Some(
            "cohort still maturing: the conversion window has not closed for every record".into(),
        );
        if status == Status::Fail {
            status = Status::Warn;
        }
    }
    Verdict {
        status,
        compared: Some(compared),
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        s.parse().unwrap()
    }

    const DONE: Timing = Timing {
        elapsed: 1.0,
        maturing: false,
    };

    #[test]
    fn pass_warn_fail() {
        let status = |target: &str, warn: &str, unit: Unit, v: f64| {
            judge(&t(target), Some(&t(warn)), unit, Some(v), None, DONE).status
        };
        let j = |v: f64| status(">= 600", ">= 660", Unit::Count, v);
        assert_eq!(j(700.0), Status::Pass);
        assert_eq!(j(660.0), Status::Pass);
        assert_eq!(j(659.0), Status::Warn);
        assert_eq!(j(600.0), Status::Warn);
        assert_eq!(j(599.0), Status::Fail);
        let d = |v: f64| status("<= 2h", "<= 1h", Unit::Duration, v);
        assert_eq!(d(3600.0), Status::Pass);
        assert_eq!(d(3601.0), Status::Warn);
        assert_eq!(d(7201.0), Status::Fail);
        assert_eq!(
            judge(
                &t(">= 75%"),
                None,
                Unit::Percent,
                Some(75.0 - 1e-12),
                None,
                DONE
            )
            .status,
            Status::Pass
        );
        assert_eq!(
            judge(&t(">= 75%"), None, Unit::Percent, None, None, DONE).status,
            Status::NoData
        );
    }

    #[test]
    fn relative_targets() {
        let j = |cur: f64, prev: Option<f64>| {
            judge(
                &t("+5%"),
                Some(&t("+8%")),
                Unit::Percent,
                Some(cur),
                prev,
                DONE,
            )
        };
        assert_eq!(j(21.8, Some(20.0)).status, Status::Pass);
        assert_eq!(
            j(21.0, Some(20.0)).status,
            Status::Warn,
            "exactly +5% meets the target"
        );
        assert!((j(21.0, Some(20.0)).compared.unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(j(20.5, Some(20.0)).status, Status::Fail);
        assert_eq!(j(21.4, Some(20.0)).status, Status::Warn);
        assert_eq!(j(21.0, None).status, Status::NoData);
        assert_eq!(j(21.0, Some(0.0)).status, Status::NoData);
        let down = judge(
            &t(">= -5%"),
            None,
            Unit::Count,
            Some(96.0),
            Some(100.0),
            DONE,
        );
        assert_eq!(down.status, Status::Pass);
    }

    #[test]
    fn open_periods_are_judged_on_pace() {
        let half = Timing {
            elapsed: 0.5,
            maturing: false,
        };
        let j = |v: f64| {
            judge(
                &t(">= 600"),
                Some(&t(">= 660")),
                Unit::Count,
                Some(v),
                None,
                half,
            )
        };
        assert_eq!(j(330.0).status, Status::Pass);
        assert_eq!(j(330.0).compared, Some(660.0));
        assert_eq!(j(310.0).status, Status::Warn);
        let behind = j(100.0);
        assert_eq!(
            behind.status,
            Status::Warn,
            "behind pace warns, never fails"
        );
        assert!(behind.note.unwrap().contains("behind pace"));
        let ratio = judge(&t(">= 75%"), None, Unit::Percent, Some(50.0), None, half);
        assert_eq!((ratio.status, ratio.compared), (Status::Warn, Some(50.0)));
    }

    #[test]
    fn maturing_cohorts_warn() {
        let m = Timing {
            elapsed: 1.0,
            maturing: true,
        };
        assert_eq!(
            judge(&t(">= 15%"), None, Unit::Percent, Some(10.0), None, m).status,
            Status::Warn
        );
        assert_eq!(
            judge(&t(">= 15%"), None, Unit::Percent, Some(16.0), None, m).status,
            Status::Pass
        );
    }
}
