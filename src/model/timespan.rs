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
    pub fn parse(text: &str) -> Option<Timespan> {
        let t = text.trim();
        if t.contains(':') {
            Self::parse_clock(t)
        } else {
            Self::parse_units(t)
        }
    }

    fn parse_clock(t: &str) -> Option<Timespan> {
        let (days, clock) = match t.split_once(':') {
            Some((head, _)) if head.contains('.') => {
                let (d, rest) = t.split_once('.')?;
                (d.parse::<u64>().ok()?, rest)
            }
            _ => (0, t),
        };
        let mut parts = clock.split(':');
        let hours: u64 = parts.next()?.parse().ok()?;
        let minutes: u64 = parts.next()?.parse().ok()?;
        let seconds = parts.next()?;
        if parts.next().is_some() || hours > 23 || minutes > 59 {
            return None;
        }
        let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
        let secs: u64 = whole.parse().ok()?;
        if secs > 59 || whole.len() != 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let millis_fraction: u64 = format!("{fraction:0<3}")[..3].parse().ok()?;
        let total_secs = ((days * 24 + hours) * 60 + minutes) * 60 + secs;
        Some(Timespan::from_millis(total_secs * 1000 + millis_fraction))
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
        let total_secs = self.millis / 1000;
        let ms = self.millis % 1000;
        let (d, h, m, s) = (
            total_secs / 86_400,
            total_secs / 3600 % 24,
            total_secs / 60 % 60,
            total_secs % 60,
        );
        let mut out = if d > 0 {
            format!("{d}.{h:02}:{m:02}:{s:02}")
        } else {
            format!("{h:02}:{m:02}:{s:02}")
        };
        if ms > 0 {
            out.push_str(&format!(".{ms:03}"));
        }
        out
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
}
