//! Calendar periods in the organisation's time zone: weeks, months, fiscal
//! quarters and fiscal years, as half-open windows of instants.
//!
//! Conventions (also in the README):
//! - A fiscal year is named after the calendar year it starts in: with
//!   `fiscal_year_start = "february"`, FY2026 runs 2026-02-01 to 2027-01-31 and
//!   its Q1 is February to April. When the fiscal year starts in January the
//!   labels drop the `FY` (`2026-Q3`, `2026`).
//! - Week `2026-W41` is the week (starting on `week_start`) that holds the
//!   Thursday of ISO week 41; with Monday starts it is exactly the ISO week.
//! - A window runs from midnight on its first day to midnight after its last
//!   day, in the organisation's time zone, so daylight-saving changes give
//!   23- and 25-hour days, never a lost or doubled hour.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::tz::TimeZone;

use super::Period;
use super::manifest::{Organization, Weekday as FileWeekday};

/// An instant, in milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// The organisation's calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The time zone periods start and end in.
    pub tz: TimeZone,
    /// The month (1-12) the fiscal year starts in.
    pub fiscal_start: i8,
    /// The day weeks start on.
    pub week_start: Weekday,
}

/// A period of the calendar: `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    /// Week, month, quarter or year.
    pub period: Period,
    /// Its first day.
    pub first: Date,
    /// The day after its last day.
    pub after: Date,
    /// Its first instant.
    pub start: Millis,
    /// The first instant after it.
    pub end: Millis,
    /// How it is written (`2026-10`, `FY2026-Q3`, `2026-W41`).
    pub label: String,
}

impl Window {
    /// Whether the instant falls in the window.
    pub fn contains(&self, t: Millis) -> bool {
        self.start <= t && t < self.end
    }

    /// Its last day.
    pub fn last(&self) -> Date {
        self.after.yesterday().unwrap_or(self.after)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Why a period did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a period")]
pub struct PeriodError(pub String);

impl PeriodError {
    /// How to write one.
    pub const HELP: &'static str = "write a month `2026-10`, a fiscal quarter `2026-Q3` (or `FY2026-Q3`), a week `2026-W41`, a fiscal year `FY2026` (or `2026`), `current` or `previous`";
}

fn weekday(w: FileWeekday) -> Weekday {
    match w {
        FileWeekday::Monday => Weekday::Monday,
        FileWeekday::Tuesday => Weekday::Tuesday,
        FileWeekday::Wednesday => Weekday::Wednesday,
        FileWeekday::Thursday => Weekday::Thursday,
        FileWeekday::Friday => Weekday::Friday,
        FileWeekday::Saturday => Weekday::Saturday,
        FileWeekday::Sunday => Weekday::Sunday,
    }
}

impl Calendar {
    /// The calendar of an organisation; `None` when its time zone is unknown
    /// (validation reports that).
    pub fn of(org: &Organization) -> Option<Calendar> {
        let tz = TimeZone::get(&org.time_zone).ok()?;
        Some(Calendar {
            tz,
            fiscal_start: org.fiscal_year_start.number() as i8,
            week_start: weekday(org.week_start),
        })
    }

    /// A plain calendar: UTC, January fiscal years, Monday weeks.
    pub fn utc() -> Calendar {
        Calendar {
            tz: TimeZone::UTC,
            fiscal_start: 1,
            week_start: Weekday::Monday,
        }
    }

    /// The first instant of a day.
    pub fn midnight(&self, d: Date) -> Millis {
        d.to_zoned(self.tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(i64::MAX)
    }

    /// The day an instant falls on.
    pub fn date_of(&self, t: Millis) -> Date {
        Timestamp::from_millisecond(t)
            .map(|ts| ts.to_zoned(self.tz.clone()).date())
            .unwrap_or(Date::MIN)
    }

    /// The fiscal year (named by its starting calendar year) a day falls in.
    pub fn fiscal_year(&self, d: Date) -> i16 {
        if d.month() >= self.fiscal_start {
            d.year()
        } else {
            d.year() - 1
        }
    }

    fn fy_prefix(&self) -> &'static str {
        if self.fiscal_start == 1 { "" } else { "FY" }
    }

    fn month_start(year: i16, month0: i32) -> Date {
        let y = year as i32 + month0.div_euclid(12);
        let m = month0.rem_euclid(12) + 1;
        Date::new(y as i16, m as i8, 1).unwrap_or(Date::MIN)
    }

    /// The window of the given period that holds a day.
    pub fn window(&self, period: Period, d: Date) -> Window {
        let (first, after, label) = match period {
            Period::Week => {
                let back = (d.weekday().to_monday_zero_offset()
                    - self.week_start.to_monday_zero_offset())
                .rem_euclid(7);
                let first = d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d);
                let after = first
                    .checked_add(jiff::Span::new().days(7))
                    .unwrap_or(first);
                let mid = first
                    .checked_add(jiff::Span::new().days(3))
                    .unwrap_or(first);
                let iso = mid.iso_week_date();
                (first, after, format!("{}-W{:02}", iso.year(), iso.week()))
            }
            Period::Month => {
                let first = Date::new(d.year(), d.month(), 1).unwrap_or(d);
                let after = Self::month_start(d.year(), d.month() as i32);
                (first, after, format!("{:04}-{:02}", d.year(), d.month()))
            }
            Period::Quarter => {
                let fy = self.fiscal_year(d);
                let into = (d.month() as i32 - self.fiscal_start as i32).rem_euclid(12);
                let q = into / 3;
                let m0 = self.fiscal_start as i32 - 1 + 3 * q;
                let first = Self::month_start(fy, m0);
                let after = Self::month_start(fy, m0 + 3);
                (first, after, format!("{}{fy}-Q{}", self.fy_prefix(), q + 1))
            }
            Period::Year => {
                let fy = self.fiscal_year(d);
                let m0 = self.fiscal_start as i32 - 1;
                let first = Self::month_start(fy, m0);
                let after = Self::month_start(fy, m0 + 12);
                (first, after, format!("{}{fy}", self.fy_prefix()))
            }
        };
        Window {
            period,
            start: self.midnight(first),
            end: self.midnight(after),
            first,
            after,
            label,
        }
    }

    /// The window before.
    pub fn previous(&self, w: &Window) -> Window {
        self.window(w.period, w.first.yesterday().unwrap_or(w.first))
    }

    /// The window after.
    pub fn next(&self, w: &Window) -> Window {
        self.window(w.period, w.after)
    }

    /// The windows of a period that overlap `[first, after)`, oldest first.
    pub fn windows_over(&self, period: Period, first: Date, after: Date) -> Vec<Window> {
        let mut out = Vec::new();
        let mut w = self.window(period, first);
        while w.first < after {
            let next = self.next(&w);
            out.push(w);
            if next.first <= out[out.len() - 1].first {
                break;
            }
            w = next;
        }
        out
    }

    /// Parses a period: `2026-10`, `2026-Q3`, `FY2026-Q3`, `2026-W41`, `FY2026`,
    /// `2026`, or `current` / `previous` (of `default`, at `now`).
    pub fn parse(&self, text: &str, default: Period, now: Millis) -> Result<Window, PeriodError> {
        let err = || PeriodError(text.to_string());
        let s = text.trim();
        match s {
            "current" => return Ok(self.window(default, self.date_of(now))),
            "previous" => return Ok(self.previous(&self.window(default, self.date_of(now)))),
            _ => {}
        }
        let body = s
            .strip_prefix("FY")
            .or_else(|| s.strip_prefix("fy"))
            .unwrap_or(s);
        let fiscal_prefix = body.len() != s.len();
        let (year, rest) = match body.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (body, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let year: i16 = year.parse().map_err(|_| err())?;
        let number = |r: &str, max: i8| -> Result<i8, PeriodError> {
            if r.is_empty() || r.len() > 2 || !r.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            let n: i8 = r.parse().map_err(|_| err())?;
            if (1..=max).contains(&n) {
                Ok(n)
            } else {
                Err(err())
            }
        };
        let fy_start = |fy: i16| Self::month_start(fy, self.fiscal_start as i32 - 1);
        match rest {
            None => Ok(self.window(Period::Year, fy_start(year))),
            Some(r) if r.starts_with(['Q', 'q']) => {
                let q = number(&r[1..], 4)?;
                let first =
                    Self::month_start(year, self.fiscal_start as i32 - 1 + 3 * (q as i32 - 1));
                Ok(self.window(Period::Quarter, first))
            }
            Some(r) if r.starts_with(['W', 'w']) && !fiscal_prefix => {
                let w = number(&r[1..], 53)?;
                let thursday = ISOWeekDate::new(year, w, Weekday::Thursday).map_err(|_| err())?;
                Ok(self.window(Period::Week, thursday.date()))
            }
            Some(r) if !fiscal_prefix => {
                let m = number(r, 12)?;
                Ok(self.window(Period::Month, Date::new(year, m, 1).map_err(|_| err())?))
            }
            Some(_) => Err(err()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn acme() -> Calendar {
        Calendar {
            tz: TimeZone::get("America/New_York").unwrap(),
            fiscal_start: 2,
            week_start: Weekday::Monday,
        }
    }

    fn ms(s: &str) -> Millis {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn months_start_at_local_midnight() {
        let c = acme();
        let w = c.window(Period::Month, date(2026, 10, 17));
        assert_eq!(w.label, "2026-10");
        // EDT (UTC-4) on Oct 1; EST (UTC-5) on Nov 1 after the change on Nov 1 at 2am.
        assert_eq!(w.start, ms("2026-10-01T04:00:00Z"));
        assert_eq!(w.end, ms("2026-11-01T04:00:00Z"));
        let nov = c.next(&w);
        assert_eq!(nov.end, ms("2026-12-01T05:00:00Z"));
        // An instant one millisecond before local midnight on Oct 31 is in October.
        assert!(w.contains(ms("2026-11-01T03:59:59.999Z")));
        assert!(!w.contains(ms("2026-11-01T04:00:00Z")));
    }

    #[test]
    fn dst_days_are_23_and_25_hours() {
        let c = acme();
        let spring = c.midnight(date(2026, 3, 9)) - c.midnight(date(2026, 3, 8));
        let fall = c.midnight(date(2026, 11, 2)) - c.midnight(date(2026, 11, 1));
        assert_eq!(spring, 23 * 3_600_000);
        assert_eq!(fall, 25 * 3_600_000);
    }

    #[test]
    fn fiscal_quarters_and_years() {
        let c = acme();
        let q = c.window(Period::Quarter, date(2026, 10, 5));
        assert_eq!(q.label, "FY2026-Q3");
        assert_eq!((q.first, q.after), (date(2026, 8, 1), date(2026, 11, 1)));
        let q4 = c.window(Period::Quarter, date(2027, 1, 31));
        assert_eq!(q4.label, "FY2026-Q4");
        assert_eq!((q4.first, q4.after), (date(2026, 11, 1), date(2027, 2, 1)));
        let y = c.window(Period::Year, date(2026, 1, 31));
        assert_eq!(y.label, "FY2025");
        assert_eq!((y.first, y.after), (date(2025, 2, 1), date(2026, 2, 1)));
        assert_eq!(c.previous(&q).label, "FY2026-Q2");
        assert_eq!(
            c.previous(&c.window(Period::Quarter, date(2026, 2, 1)))
                .label,
            "FY2025-Q4"
        );
        let jan = Calendar::utc();
        assert_eq!(
            jan.window(Period::Quarter, date(2026, 12, 31)).label,
            "2026-Q4"
        );
        assert_eq!(jan.window(Period::Year, date(2026, 12, 31)).label, "2026");
    }

    #[test]
    fn weeks_follow_iso_numbers_and_week_start() {
        let c = acme();
        let w = c.window(Period::Week, date(2026, 10, 7));
        assert_eq!(w.label, "2026-W41");
        assert_eq!(w.first, date(2026, 10, 5));
        // ISO week 1 of 2026 starts on Monday 2025-12-29.
        assert_eq!(c.window(Period::Week, date(2025, 12, 31)).label, "2026-W01");
        let mut sunday = acme();
        sunday.week_start = Weekday::Sunday;
        let s = sunday.window(Period::Week, date(2026, 10, 7));
        assert_eq!((s.first, s.label.as_str()), (date(2026, 10, 4), "2026-W41"));
        assert_eq!(sunday.parse("2026-W41", Period::Month, 0).unwrap(), s);
    }

    #[test]
    fn parses_periods() {
        let c = acme();
        let now = ms("2026-11-22T12:00:00Z");
        let p = |s: &str| c.parse(s, Period::Month, now).map(|w| w.label);
        assert_eq!(p("2026-10").unwrap(), "2026-10");
        assert_eq!(p("2026-Q3").unwrap(), "FY2026-Q3");
        assert_eq!(p("FY2026-Q4").unwrap(), "FY2026-Q4");
        assert_eq!(p("FY2026").unwrap(), "FY2026");
        assert_eq!(p("2026").unwrap(), "FY2026");
        assert_eq!(p("2026-W41").unwrap(), "2026-W41");
        assert_eq!(p("current").unwrap(), "2026-11");
        assert_eq!(p("previous").unwrap(), "2026-10");
        for bad in [
            "2026-13",
            "2026-Q5",
            "26-10",
            "FY2026-10",
            "2026-W54",
            "october",
            "",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        let q = c.parse("2026-Q1", Period::Month, now).unwrap();
        assert_eq!((q.first, q.after), (date(2026, 2, 1), date(2026, 5, 1)));
    }

    #[test]
    fn windows_over_a_span() {
        let c = acme();
        let q = c.parse("2026-Q3", Period::Month, 0).unwrap();
        let months: Vec<String> = c
            .windows_over(Period::Month, q.first, q.after)
            .into_iter()
            .map(|w| w.label)
            .collect();
        assert_eq!(months, ["2026-08", "2026-09", "2026-10"]);
        let years = c.windows_over(Period::Year, q.first, q.after);
        assert_eq!(years.len(), 1);
    }
}
