//! Kusto's datetime text, read and written in one place for everything that meets it: the
//! sandbox's values and extents, `status` (ingestion failures since a point in time) and
//! `verify` (canary timestamps). Datetimes are 100 ns ticks since the Unix epoch, as Kusto
//! stores them.

use super::calendar::{civil_from_days, days_from_civil};
use crate::model::timespan::TICKS_PER_SECOND;

/// 100 ns ticks in one day.
pub const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND as i64;

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses `n` ASCII digits at the start of `s`.
fn digits(s: &str, n: usize) -> Option<(i64, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// Reads fraction digits (any number, kept to 7 = 100 ns ticks) after a `.`.
fn fraction_ticks(s: &str) -> Option<(i64, &str)> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return None;
    }
    let kept = &s[..len.min(7)];
    let ticks = kept.parse::<i64>().ok()? * 10_i64.pow(7 - kept.len() as u32);
    Some((ticks, &s[len..]))
}

/// Parses an ISO 8601 datetime as ingestion and `datetime(...)` accept it: `2024-01-31`,
/// `2024-01-31 10:20`, `2024-01-31T10:20:30.1234567Z`, with an optional `Z` or `±hh:mm`
/// offset (no offset means UTC). Returns 100 ns ticks since the Unix epoch.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let s = text.trim();
    let (y, s) = digits(s, 4)?;
    let (m, s) = digits(s.strip_prefix('-')?, 2)?;
    let (d, mut s) = digits(s.strip_prefix('-')?, 2)?;
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || y < 1 {
        return None;
    }
    let mut ticks = days_from_civil(y, m, d) * TICKS_PER_DAY;
    if let Some(rest) = s.strip_prefix(['T', 't', ' ']) {
        let (h, rest) = digits(rest, 2)?;
        let (min, mut rest) = digits(rest.strip_prefix(':')?, 2)?;
        let mut sec = 0;
        let mut frac = 0;
        if let Some(r) = rest.strip_prefix(':') {
            let (sv, r) = digits(r, 2)?;
            sec = sv;
            rest = r;
            if let Some(r) = rest.strip_prefix('.') {
                let (f, r) = fraction_ticks(r)?;
                frac = f;
                rest = r;
            }
        }
        if h > 23 || min > 59 || sec > 59 {
            return None;
        }
        ticks += (h * 3600 + min * 60 + sec) * TICKS_PER_SECOND as i64 + frac;
        s = rest;
    }
    let offset = match s {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match s.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (oh, r) = digits(&s[1..], 2)?;
            let (om, r) = digits(r.strip_prefix(':').unwrap_or(r), 2)?;
            if !r.is_empty() || oh > 14 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60) * TICKS_PER_SECOND as i64
        }
    };
    Some(ticks - offset)
}

/// Kusto's datetime text: `2024-01-31T10:20:30Z`, with the fraction (up to 7 digits) only when
/// it is not zero and without trailing zeros.
pub fn format_datetime(ticks: i64) -> String {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / TICKS_PER_SECOND as i64;
    let frac = rem % TICKS_PER_SECOND as i64;
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    if frac > 0 {
        let text = format!("{frac:07}");
        out.push('.');
        out.push_str(text.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_iso_forms_and_format_like_kusto() {
        let t = parse_datetime("2018-11-14 11:34").expect("space form");
        assert_eq!(format_datetime(t), "2018-11-14T11:34:00Z");
        assert_eq!(parse_datetime("2018-11-14T11:34:00Z"), Some(t));
        assert_eq!(parse_datetime("2018-11-14T13:34:00+02:00"), Some(t));
        let frac = parse_datetime("2023-12-03T13:17:49.48329561Z").expect("8 digits");
        assert_eq!(format_datetime(frac), "2023-12-03T13:17:49.4832956Z");
        assert_eq!(
            format_datetime(parse_datetime("2024-02-29T00:00:00.5Z").expect("leap")),
            "2024-02-29T00:00:00.5Z"
        );
        assert_eq!(
            format_datetime(parse_datetime("1969-12-31").expect("pre-epoch")),
            "1969-12-31T00:00:00Z"
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T24:00",
            "yesterday",
            "2024-1-1",
            "2024-01-01X",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
