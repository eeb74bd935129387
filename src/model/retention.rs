//! Retention and caching policies in canonical form: how long Kusto keeps data and how much of
//! it stays in the hot cache. Manifests and `.show` results are both folded into these types so
//! the diff compares values, not spellings (`365d` vs `"365.00:00:00"`, key case, windows given
//! as dates or instants).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Timespan;
use super::policy::field;

/// A retention policy (`SoftDeletePeriod`, `Recoverability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Data older than this (since ingestion) is deleted.
    #[serde(with = "super::timespan::kusto_text")]
    pub soft_delete: Timespan,
    /// Whether deleted data can be recovered for 14 days (`Recoverability: Enabled`).
    pub recoverable: bool,
}

impl RetentionPolicy {
    /// The service's default soft-delete period, 1,000 years (`365000.00:00:00`): what "no
    /// retention policy anywhere" means.
    pub const UNLIMITED: Timespan = Timespan::from_secs(365_000 * 86_400);

    /// The policy JSON Kusto takes, every field written.
    pub fn to_json(&self) -> Value {
        json!({
            "SoftDeletePeriod": self.soft_delete.to_kusto(),
            "Recoverability": if self.recoverable { "Enabled" } else { "Disabled" },
        })
    }

    /// Reads a policy as the service reports it: keys case-insensitive, a missing or `null`
    /// field takes the documented default (1,000 years, recoverable). `None` for anything
    /// that is not a well-formed policy object.
    pub fn from_json(policy: &Value) -> Option<RetentionPolicy> {
        let map = policy.as_object()?;
        let field = |key: &str| field(map, key);
        let soft_delete = match field("SoftDeletePeriod") {
            Some(v) => Timespan::parse(v.as_str()?)?,
            None => Self::UNLIMITED,
        };
        let recoverable = match field("Recoverability") {
            Some(v) => match v.as_str()?.to_ascii_lowercase().as_str() {
                "enabled" | "unknown" => true,
                "disabled" => false,
                _ => return None,
            },
            None => true,
        };
        Some(RetentionPolicy {
            soft_delete,
            recoverable,
        })
    }
}

/// A caching policy: the hot span (data and index alike, as `hot = ...` sets them) and extra
/// hot windows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CachingPolicy {
    /// Data ingested within this span is kept hot.
    #[serde(with = "super::timespan::kusto_text")]
    pub hot: Timespan,
    /// Extra periods kept hot, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hot_windows: Vec<HotWindow>,
}

/// A hot window: data whose ingestion time is between the two instants stays hot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HotWindow {
    /// Start, as `YYYY-MM-DDTHH:MM:SSZ` (fractions kept when not zero).
    pub from: String,
    /// End, same form.
    pub to: String,
}

impl HotWindow {
    /// Whether the window ends after it starts (compared as instants, fractions included).
    pub fn is_ordered(&self) -> bool {
        sortable(&self.from) < sortable(&self.to)
    }
}

/// A normalised instant with its fraction padded, so text order is time order.
fn sortable(instant: &str) -> String {
    let t = instant.trim_end_matches('Z');
    let (main, fraction) = t.split_once('.').unwrap_or((t, ""));
    format!("{main}.{fraction:0<7}")
}

impl CachingPolicy {
    /// The policy JSON the service reports (`DataHotSpan`, `IndexHotSpan`, `HotWindows`).
    pub fn to_json(&self) -> Value {
        let span = json!({ "Value": self.hot.to_kusto() });
        let mut out = json!({ "DataHotSpan": span, "IndexHotSpan": span });
        if !self.hot_windows.is_empty() {
            out["HotWindows"] = self
                .hot_windows
                .iter()
                .map(|w| json!({ "MinValue": w.from, "MaxValue": w.to }))
                .collect();
        }
        out
    }

    /// Reads a policy as the service reports it. The data hot span is the policy's hot span
    /// (`hot = ...` sets data and index alike; `DataHotSpan` may also be a bare string).
    /// `None` for anything that is not a well-formed policy object.
    pub fn from_json(policy: &Value) -> Option<CachingPolicy> {
        let map = policy.as_object()?;
        let span = field(map, "DataHotSpan").or_else(|| field(map, "IndexHotSpan"))?;
        let text = match span {
            Value::String(s) => s.as_str(),
            Value::Object(o) => field(o, "Value").and_then(Value::as_str)?,
            _ => return None,
        };
        let hot = Timespan::parse(text)?;
        let mut hot_windows = Vec::new();
        if let Some(windows) = field(map, "HotWindows") {
            for w in windows.as_array()? {
                let w = w.as_object()?;
                let get = |key: &str| {
                    field(w, key)
                        .and_then(Value::as_str)
                        .and_then(normalize_instant)
                };
                hot_windows.push(HotWindow {
                    from: get("MinValue")?,
                    to: get("MaxValue")?,
                });
            }
        }
        hot_windows.sort();
        Some(CachingPolicy { hot, hot_windows })
    }
}

/// An instant in the one spelling kustoplan compares: `YYYY-MM-DDTHH:MM:SSZ`, with a fraction
/// only when it is not zero. Accepts a date (`2024-01-01`), a space or `T` between date and
/// time, minutes without seconds, and a trailing `Z`; anything else (other zones, bad fields)
/// is `None`.
pub fn normalize_instant(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    let (date, time) = match t.split_once(['T', 't', ' ']) {
        Some((d, tm)) => (d, tm),
        None => (t, "00:00:00"),
    };
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, day] = d.as_slice() else {
        return None;
    };
    let num = |s: &str, len: usize, max: u32| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    let (y, mo, day) = (num(y, 4, 9999)?, num(mo, 2, 12)?, num(day, 2, 31)?);
    if mo == 0 || day == 0 {
        return None;
    }
    let (clock, fraction) = match time.split_once('.') {
        Some((c, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (c, f),
        Some(_) => return None,
        None => (time, ""),
    };
    let c: Vec<&str> = clock.split(':').collect();
    let (h, mi, s) = match c.as_slice() {
        [h, m] => (num(h, 2, 23)?, num(m, 2, 59)?, 0),
        [h, m, s] => (num(h, 2, 23)?, num(m, 2, 59)?, num(s, 2, 59)?),
        _ => return None,
    };
    let fraction = fraction.trim_end_matches('0');
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    Some(format!(
        "{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}{fraction}Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_service_spellings_and_defaults() {
        let p = RetentionPolicy::from_json(
            &json!({"softDeletePeriod": "365.00:00:00", "recoverability": "Disabled"}),
        )
        .expect("policy");
        assert_eq!(p.soft_delete, Timespan::from_secs(365 * 86_400));
        assert!(!p.recoverable);
        assert_eq!(
            p.to_json().to_string(),
            r#"{"SoftDeletePeriod":"365.00:00:00","Recoverability":"Disabled"}"#
        );
        let d = RetentionPolicy::from_json(&json!({})).expect("defaults");
        assert_eq!(
            (d.soft_delete, d.recoverable),
            (RetentionPolicy::UNLIMITED, true)
        );
        assert_eq!(
            RetentionPolicy::from_json(&json!({"Recoverability": "maybe"})),
            None
        );
        assert_eq!(RetentionPolicy::from_json(&json!([])), None);
    }

    #[test]
    fn caching_reads_both_span_forms_and_normalises_windows() {
        let p = CachingPolicy::from_json(&json!({
            "DataHotSpan": {"Value": "30.00:00:00"},
            "IndexHotSpan": {"Value": "30.00:00:00"},
            "HotWindows": [
                {"MinValue": "2021-04-01T00:00:00.0000000Z", "MaxValue": "2021-05-01"},
                {"MinValue": "2021-01-01 00:00", "MaxValue": "2021-02-01T00:00:00Z"}
            ]
        }))
        .expect("policy");
        assert_eq!(p.hot, Timespan::from_secs(30 * 86_400));
        assert_eq!(
            p.hot_windows,
            vec![
                HotWindow {
                    from: "2021-01-01T00:00:00Z".into(),
                    to: "2021-02-01T00:00:00Z".into()
                },
                HotWindow {
                    from: "2021-04-01T00:00:00Z".into(),
                    to: "2021-05-01T00:00:00Z".into()
                },
            ]
        );
        assert_eq!(
            CachingPolicy::from_json(&p.to_json()),
            Some(p.clone()),
            "what kustoplan writes reads back equal"
        );
        let bare = CachingPolicy::from_json(&json!({"DataHotSpan": "7.00:00:00"})).expect("bare");
        assert_eq!(bare.hot, Timespan::from_secs(7 * 86_400));
        assert_eq!(CachingPolicy::from_json(&json!({})), None);
    }

    #[test]
    fn instants_have_one_spelling() {
        for (text, want) in [
            ("2024-01-01", Some("2024-01-01T00:00:00Z")),
            ("2024-01-01T10:20:30Z", Some("2024-01-01T10:20:30Z")),
            ("2024-01-01 10:20", Some("2024-01-01T10:20:00Z")),
            (
                "2024-01-01T10:20:30.5000000Z",
                Some("2024-01-01T10:20:30.5Z"),
            ),
            ("2024-13-01", None),
            ("2024-01-01T10:20:30+02:00", None),
            ("yesterday", None),
        ] {
            assert_eq!(normalize_instant(text).as_deref(), want, "{text}");
        }
    }
}
