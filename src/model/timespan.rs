use std::fmt;

/// A Kusto timespan with millisecond precision.
///
/// Manifests say `10s` or `5m`; Kusto policies say `00:00:10` or `1.00:00:00`. Both parse to the
/// same value, so a policy written one way and read back the other way is not drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timespan {
    millis: u64,
}

impl Timespan {
    /// A timespan of whole seconds.
    pub const fn from_secs(secs: u64) -> Timespan {
        Timespan {
            millis: secs * 1000,
        }
    }

    /// A timespan of milliseconds.
    pub const fn from_millis(millis: u64) -> Timespan {
        Timespan { millis }
    }

    /// The length in milliseconds.
    pub fn as_millis(self) -> u64 {
        self.millis
    }

    /// Parses `10s`, `500ms`, `5m`, `1h`, `2d`, `1h30m`, or Kusto's `[d.]hh:mm:ss[.fffffff]`.
    ///
    /// The clock form is read leniently (hours and minutes of any width, any number of
    /// fraction digits) and cut to whole milliseconds.
    pub fn parse(text: &str) -> Option<Timespan> {
        let t = text.trim();
        if t.contains(':') {
            Self::parse_clock(t)
        } else {
            Self::parse_units(t)
        }
    }

    fn parse_clock(t: &str) -> Option<Timespan> {
        let (secs, fraction) = split_clock(t, Clock::Lenient)?;
        let millis = secs
            .checked_mul(1000)?
            .checked_add(fraction_units(fraction, 3))?;
        Some(Timespan::from_millis(millis))
    }

    /// Parses a timespan exactly as Kusto writes and checks it in policies,
    /// `[d.]hh:mm:ss[.fffffff]` (two-digit fields, at most seven fraction digits, no unit
    /// forms, nothing trimmed), into 100 ns ticks: finer than a [`Timespan`] holds, for
    /// callers that must keep every digit (the sandbox stores policies in ticks).
    pub fn parse_ticks(text: &str) -> Option<u64> {
        let (secs, fraction) = split_clock(text, Clock::Exact)?;
        secs.checked_mul(TICKS_PER_SECOND)?
            .checked_add(fraction_units(fraction, 7))
    }

    /// Formats 100 ns ticks as Kusto prints timespans: `00:05:00`, `1.00:00:00`,
    /// `00:00:10.5000000` (seven fraction digits whenever there is a fraction).
    pub fn format_ticks(ticks: u64) -> String {
        let mut out = clock_text(ticks / TICKS_PER_SECOND);
        let fraction = ticks % TICKS_PER_SECOND;
        if fraction > 0 {
            out.push_str(&format!(".{fraction:07}"));
        }
        out
    }

    fn parse_units(t: &str) -> Option<Timespan> {
        if t.is_empty() {
            return None;
        }
        let mut millis: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return None;
            }
            let value: u64 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return None,
            };
            millis = millis.checked_add(value.checked_mul(factor)?)?;
            rest = &rest[unit_len..];
        }
        Some(Timespan::from_millis(millis))
    }

    /// Kusto's own spelling, `[d.]hh:mm:ss[.fff]`, used in policies kustoplan writes.
    pub fn to_kusto(self) -> String {
        let mut out = clock_text(self.millis / 1000);
        let ms = self.millis % 1000;
        if ms > 0 {
            out.push_str(&format!(".{ms:03}"));
        }
        out
    }
}

/// 100 ns ticks in one second: the resolution of .NET and Kusto timespans.
pub const TICKS_PER_SECOND: u64 = 10_000_000;

/// How strictly the clock form `[d.]hh:mm:ss[.f...]` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// kustoplan's reading of manifests and observed values: hours and minutes of any width,
    /// any number of fraction digits.
    Lenient,
    /// As Kusto prints it and checks it in policies: two-digit hours, minutes and seconds, at
    /// most seven fraction digits.
    Exact,
}

/// Splits the clock form `[d.]hh:mm:ss[.f...]` into whole seconds and the fraction's digits,
/// checking every field; seconds always have two digits and hours and minutes stay below 24
/// and 60.
fn split_clock(t: &str, mode: Clock) -> Option<(u64, &str)> {
    let (days, clock) = match t.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, t),
    };
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (s, fraction) = s.split_once('.').unwrap_or((s, ""));
    let field = |v: &str, max: u64| -> Option<u64> {
        let two_digits = v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit());
        if mode == Clock::Exact && !two_digits {
            return None;
        }
        v.parse::<u64>().ok().filter(|&n| n < max)
    };
    let (h, m) = (field(h, 24)?, field(m, 60)?);
    if s.len() != 2 {
        return None;
    }
    let s = field(s, 60)?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (mode == Clock::Exact && fraction.len() > 7)
    {
        return None;
    }
    let secs = days
        .checked_mul(86_400)?
        .checked_add((h * 60 + m) * 60 + s)?;
    Some((secs, fraction))
}

/// The first `digits` digits of a fraction (all ASCII digits), padded with zeros: the fraction
/// in units of 10^-digits seconds, anything finer cut off.
fn fraction_units(fraction: &str, digits: usize) -> u64 {
    let padded = format!("{fraction:0<digits$}");
    padded[..digits].parse().unwrap_or(0)
}

/// `[d.]hh:mm:ss`, the whole-second part of Kusto's spelling.
fn clock_text(total_secs: u64) -> String {
    let (d, h, m, s) = (
        total_secs / 86_400,
        total_secs / 3600 % 24,
        total_secs / 60 % 60,
        total_secs % 60,
    );
    if d > 0 {
        format!("{d}.{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

impl fmt::Display for Timespan {
    /// Short human form (`10s`, `5m`, `1h30m`) for plans and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

/// Serde as Kusto's `hh:mm:ss` text, for saved plans that humans may read.
pub mod kusto_text {
    use super::Timespan;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `00:00:10`.
    pub fn serialize<S: Serializer>(t: &Timespan, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_kusto())
    }

    /// Reads any spelling [`Timespan::parse`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timespan, D::Error> {
        let text = String::deserialize(d)?;
        Timespan::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timespan {text}")))
    }
}

/// Serde of an optional timespan as Kusto's `hh:mm:ss` text (absent when `None`).
pub mod optional_text {
    use super::Timespan;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `00:00:10`, or nothing (with `skip_serializing_if`).
    pub fn serialize<S: Serializer>(t: &Option<Timespan>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_kusto()),
            None => s.serialize_none(),
        }
    }

    /// Reads any spelling [`Timespan::parse`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timespan>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => Timespan::parse(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid timespan {text}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_agree() {
        assert_eq!(Timespan::parse("10s"), Timespan::parse("00:00:10"));
        assert_eq!(Timespan::parse("5m"), Some(Timespan::from_secs(300)));
        assert_eq!(Timespan::parse("1h30m"), Timespan::parse("01:30:00"));
        assert_eq!(Timespan::parse("1d"), Timespan::parse("1.00:00:00"));
        assert_eq!(
            Timespan::parse("00:00:10.5"),
            Some(Timespan::from_millis(10_500))
        );
        assert_eq!(
            Timespan::parse("00:00:00.0000001"),
            Some(Timespan::from_millis(0))
        );
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "10",
            "ten seconds",
            "10x",
            "s",
            "00:61:00",
            "0:0:0:0",
            "00:00:1",
            "-5s",
        ] {
            assert_eq!(Timespan::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn renders_both_ways() {
        let t = Timespan::parse("1d2h3m4s").unwrap();
        assert_eq!(t.to_kusto(), "1.02:03:04");
        assert_eq!(t.to_string(), "1d2h3m4s");
        assert_eq!(Timespan::from_secs(10).to_kusto(), "00:00:10");
        assert_eq!(Timespan::from_millis(1500).to_kusto(), "00:00:01.500");
    }

    #[test]
    fn kusto_ticks_as_the_sandbox_reads_policies() {
        assert_eq!(
            Timespan::parse_ticks("00:05:00"),
            Some(300 * TICKS_PER_SECOND)
        );
        assert_eq!(
            Timespan::parse_ticks("1.00:00:00"),
            Some(86_400 * TICKS_PER_SECOND)
        );
        assert_eq!(
            Timespan::parse_ticks("00:00:10.5"),
            Some(105 * TICKS_PER_SECOND / 10)
        );
        for bad in [
            "5m",
            "0:05:00",
            "00:60:00",
            "00:05",
            "00:05:00.12345678",
            "",
        ] {
            assert_eq!(Timespan::parse_ticks(bad), None, "{bad}");
        }
        assert_eq!(Timespan::format_ticks(30 * TICKS_PER_SECOND), "00:00:30");
        assert_eq!(
            Timespan::format_ticks(86_400 * TICKS_PER_SECOND + 5),
            "1.00:00:00.0000005"
        );
    }

    #[test]
    fn kusto_ticks_keep_every_digit() {
        assert_eq!(
            Timespan::parse_ticks("1.02:03:04.1234567"),
            Some(93_784 * TICKS_PER_SECOND + 1_234_567)
        );
        assert_eq!(
            Timespan::parse_ticks("00:00:10."),
            Some(10 * TICKS_PER_SECOND)
        );
        assert_eq!(
            Timespan::format_ticks(93_784 * TICKS_PER_SECOND + 1_234_567),
            "1.02:03:04.1234567"
        );
        assert_eq!(Timespan::format_ticks(0), "00:00:00");
    }

    #[test]
    fn kusto_ticks_take_only_the_exact_form() {
        // What `parse` accepts leniently, Kusto's exact form does not.
        for loose in [
            "10s",
            "0:05:00",
            "00:5:00",
            "00:05:00.12345678",
            " 00:05:00",
        ] {
            assert!(Timespan::parse(loose).is_some(), "{loose}");
            assert_eq!(Timespan::parse_ticks(loose), None, "{loose}");
        }
        for bad in [
            "", "00:05", "00:60:00", "24:00:00", "00:00:60", "00:00:1", "0:0:0:0",
        ] {
            assert_eq!(Timespan::parse_ticks(bad), None, "{bad}");
            assert_eq!(Timespan::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn absurd_lengths_are_rejected_not_overflowed() {
        let days = format!("{}.00:00:00", u64::MAX / 86_400);
        assert_eq!(Timespan::parse_ticks(&days), None);
        assert_eq!(Timespan::parse(&days), None);
    }
}
