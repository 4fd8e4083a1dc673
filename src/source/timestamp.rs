//! Timestamps as CRM exports write them.
//!
//! - ISO 8601 / RFC 3339 with `Z` or an offset, with or without a colon and
//!   with optional fractions: `2024-01-17T19:55:04.281Z` (HubSpot),
//!   `2018-03-18T07:38:12.000+0000` (Salesforce), `2026-10-01T09:00:00-04:00`;
//! - without a zone, `T` or a space between date and time:
//!   `2022-01-04 10:44:11` (Pipedrive v1), read in the source's time zone;
//! - a date alone, `2026-10-01`: midnight starting that day in the source's time zone;
//! - epoch milliseconds (13 digits) or seconds (10 digits).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::model::calendar::Millis;

/// What the formats above accept, for error messages.
pub const FORMATS: &str = "ISO 8601 (`2026-10-01T09:00:00Z`, `+0000` or `+00:00` offsets), `2026-10-01 09:00:00`, `2026-10-01`, or epoch milliseconds";

/// Parses a timestamp; `naive` is the zone of values written without one.
pub fn parse(s: &str, naive: &TimeZone) -> Option<Millis> {
    parse_bytes(s.as_bytes(), naive)
}

/// [`parse`] on bytes, as read from a file.
pub fn parse_bytes(b: &[u8], naive: &TimeZone) -> Option<Millis> {
    let b = trim_ascii(b);
    if b.is_empty() {
        return None;
    }
    if b.iter().all(u8::is_ascii_digit) {
        let n: i64 = std::str::from_utf8(b).ok()?.parse().ok()?;
        return match b.len() {
            13 => Some(n),
            10 => Some(n * 1000),
            _ => None,
        };
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])? as i32;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let (mut h, mut mi, mut sec, mut ms) = (0u32, 0u32, 0u32, 0u32);
    let mut rest = &b[10..];
    if !rest.is_empty() {
        if rest[0] != b'T' && rest[0] != b' ' && rest[0] != b't' {
            return None;
        }
        rest = &rest[1..];
        if rest.len() < 5 || rest[2] != b':' {
            return None;
        }
        h = digits(&rest[0..2])?;
        mi = digits(&rest[3..5])?;
        rest = &rest[5..];
        if rest.first() == Some(&b':') {
            if rest.len() < 3 {
                return None;
            }
            sec = digits(&rest[1..3])?;
            rest = &rest[3..];
            if rest.first() == Some(&b'.') || rest.first() == Some(&b',') {
                let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                let frac = &rest[1..1 + n];
                let mut v = 0u32;
                for i in 0..3 {
                    v = v * 10 + frac.get(i).map_or(0, |d| (d - b'0') as u32);
                }
                ms = v;
                rest = &rest[1 + n..];
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
    }
    let local_ms = (days_from_civil(year, month, day) * 86_400
        + (h * 3600 + mi * 60 + sec.min(59)) as i64)
        * 1000
        + ms as i64;
    let rest = trim_ascii(rest);
    if rest.is_empty() {
        if naive == &TimeZone::UTC {
            return Some(local_ms);
        }
        let dt = DateTime::new(
            year as i16,
            month as i8,
            day as i8,
            h as i8,
            mi as i8,
            sec.min(59) as i8,
            ms as i32 * 1_000_000,
        )
        .ok()?;
        // Ambiguous local times (the repeated hour in autumn) take the earlier
        // instant; times in the skipped spring hour move forward: jiff's default.
        return dt
            .to_zoned(naive.clone())
            .ok()
            .map(|z| z.timestamp().as_millisecond());
    }
    let offset = match rest {
        b"Z" | b"z" | b"UTC" | b"+00" => 0,
        _ => {
            let sign = match rest[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = &rest[1..];
            let (oh, om) = match o.len() {
                2 => (digits(o)?, 0),
                4 => (digits(&o[0..2])?, digits(&o[2..4])?),
                5 if o[2] == b':' => (digits(&o[0..2])?, digits(&o[3..5])?),
                _ => return None,
            };
            if oh > 18 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60) as i64
        }
    };
    Some(local_ms - offset * 1000)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn jiff_ms(s: &str) -> Millis {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn agrees_with_jiff_on_zoned_forms() {
        let utc = TimeZone::UTC;
        let cases = [
            ("2024-01-17T19:55:04.281Z", "2024-01-17T19:55:04.281Z"),
            ("2018-03-18T07:38:12.000+0000", "2018-03-18T07:38:12Z"),
            ("2026-10-01T09:00:00-04:00", "2026-10-01T13:00:00Z"),
            ("2026-10-01T09:00-0530", "2026-10-01T14:30:00Z"),
            ("2024-02-29T23:59:59.9999Z", "2024-02-29T23:59:59.999Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
            ("2026-10-01 09:00:00", "2026-10-01T09:00:00Z"),
            ("2026-10-01", "2026-10-01T00:00:00Z"),
            ("1700000000000", "2023-11-14T22:13:20Z"),
            ("1700000000", "2023-11-14T22:13:20Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input, &utc), Some(jiff_ms(want)), "{input}");
        }
    }

    #[test]
    fn naive_values_use_the_zone_across_dst() {
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            parse("2026-03-07 12:00:00", &ny),
            Some(jiff_ms("2026-03-07T17:00:00Z"))
        );
        assert_eq!(
            parse("2026-03-09 12:00:00", &ny),
            Some(jiff_ms("2026-03-09T16:00:00Z"))
        );
        assert_eq!(
            parse("2026-11-01", &ny),
            Some(jiff_ms("2026-11-01T04:00:00Z"))
        );
        // The repeated hour: 01:30 on 2026-11-01 happens twice; the first (EDT) wins.
        assert_eq!(
            parse("2026-11-01 01:30:00", &ny),
            Some(jiff_ms("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let utc = TimeZone::UTC;
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-10-01T25:00",
            "2026/10/01",
            "17000000000",
            "2026-10-01T09:00:00+5",
            "2026-10-01X",
            "10/01/2026",
        ] {
            assert_eq!(parse(bad, &utc), None, "{bad}");
        }
    }
}
