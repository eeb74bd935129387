//! Values in the sandbox's tables: conversion of ingested text and JSON to a column's type,
//! the stored (v2 response) form of each type, and typed scalars for query comparisons.
//!
//! Conversion follows "Ingestion behavior of invalid data": a value that does not match the
//! column's type becomes null (strings become `""`, since Kusto strings are never null); it
//! never becomes a different value.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::kusto::datetime::{format_datetime, parse_datetime};
use crate::model::{ColumnType, Timespan};

/// Parses a timespan as ingestion accepts it: `[-][d.]hh:mm:ss[.fffffff]`, in 100 ns ticks.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let s = text.trim();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let ticks = i64::try_from(Timespan::parse_ticks(body)?).ok()?;
    Some(if negative { -ticks } else { ticks })
}

/// Parses a query timespan literal: `10s`, `500ms`, `2h`, `1d`, `1h30m` (whole units), or the
/// clock form inside `timespan(...)`.
pub fn parse_timespan_literal(text: &str) -> Option<i64> {
    let s = text.trim();
    if s.contains(':') {
        return parse_timespan(s);
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let millis = i64::try_from(Timespan::parse(body)?.as_millis()).ok()?;
    let ticks = millis.checked_mul(10_000)?;
    Some(if negative { -ticks } else { ticks })
}

/// Kusto's timespan text: `00:00:10`, `1.00:00:00`, `-00:00:00.5000000`.
pub fn format_timespan(ticks: i64) -> String {
    let text = Timespan::format_ticks(ticks.unsigned_abs());
    if ticks < 0 { format!("-{text}") } else { text }
}

/// A value as it arrives from the data: a JSON value (JSON formats) or a text field (CSV).
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    /// The field is absent (a missing JSON path, a missing CSV field).
    Missing,
    /// A JSON value.
    Json(&'a Value),
    /// A CSV field or constant, as text.
    Text(&'a str),
}

/// Converts a raw value to the stored form of `ty` (null when it does not fit the type).
pub fn convert(ty: ColumnType, raw: Raw<'_>) -> Value {
    match raw {
        Raw::Missing | Raw::Json(Value::Null) => empty(ty),
        Raw::Json(Value::String(s)) if ty != ColumnType::Dynamic => from_text(ty, s),
        Raw::Json(v) => from_json(ty, v),
        Raw::Text(t) => from_text(ty, t),
    }
}

/// The value of a missing field: `""` for strings, null otherwise.
fn empty(ty: ColumnType) -> Value {
    match ty {
        ColumnType::String => Value::String(String::new()),
        _ => Value::Null,
    }
}

fn real(f: f64) -> Value {
    if f.is_nan() {
        Value::String("NaN".into())
    } else if f.is_infinite() {
        Value::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn from_json(ty: ColumnType, v: &Value) -> Value {
    match (ty, v) {
        (ColumnType::Dynamic, v) => v.clone(),
        (ColumnType::String, Value::Number(n)) => Value::String(n.to_string()),
        (ColumnType::String, Value::Bool(b)) => Value::String(b.to_string()),
        (ColumnType::String, other) => Value::String(other.to_string()),
        (ColumnType::Long, Value::Number(n)) => n.as_i64().map_or(Value::Null, Value::from),
        (ColumnType::Int, Value::Number(n)) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map_or(Value::Null, Value::from),
        (ColumnType::Real, Value::Number(n)) => n.as_f64().map_or(Value::Null, real),
        (ColumnType::Decimal, Value::Number(n)) => decimal(&n.to_string()),
        (ColumnType::Bool, Value::Bool(b)) => Value::Bool(*b),
        (ColumnType::Bool, Value::Number(n)) => match n.as_i64() {
            Some(0) => Value::Bool(false),
            Some(1) => Value::Bool(true),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

fn from_text(ty: ColumnType, t: &str) -> Value {
    let trimmed = t.trim();
    match ty {
        ColumnType::String => Value::String(t.to_string()),
        _ if trimmed.is_empty() => Value::Null,
        ColumnType::Long => trimmed.parse::<i64>().map_or(Value::Null, Value::from),
        ColumnType::Int => trimmed.parse::<i32>().map_or(Value::Null, Value::from),
        ColumnType::Real => match trimmed {
            "NaN" => real(f64::NAN),
            "Infinity" | "+Infinity" => real(f64::INFINITY),
            "-Infinity" => real(f64::NEG_INFINITY),
            _ if trimmed
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
            {
                trimmed.parse::<f64>().map_or(Value::Null, real)
            }
            _ => Value::Null,
        },
        ColumnType::Decimal => decimal(trimmed),
        ColumnType::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::Null,
        },
        ColumnType::DateTime => {
            parse_datetime(trimmed).map_or(Value::Null, |t| Value::String(format_datetime(t)))
        }
        ColumnType::Timespan => {
            parse_timespan(trimmed).map_or(Value::Null, |t| Value::String(format_timespan(t)))
        }
        ColumnType::Guid => uuid::Uuid::parse_str(trimmed)
            .map_or(Value::Null, |g| Value::String(g.hyphenated().to_string())),
        // CSV text into a dynamic column is read as JSON, else kept as a string.
        ColumnType::Dynamic => {
            serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(t.to_string()))
        }
    }
}

/// A decimal literal (`-12.50`, `3`), kept as written without a leading `+`; anything else
/// (exponents included: the sandbox keeps decimals as exact text) is null.
fn decimal(t: &str) -> Value {
    let body = t.strip_prefix('+').unwrap_or(t);
    let unsigned = body.strip_prefix('-').unwrap_or(body);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && int.len() + frac.len() <= 34;
    if ok {
        Value::String(body.to_string())
    } else {
        Value::Null
    }
}

/// A typed value for comparisons and aggregates.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// No value.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int` and `long`.
    Long(i64),
    /// `real`.
    Real(f64),
    /// `datetime`, in 100 ns ticks since the Unix epoch.
    DateTime(i64),
    /// `timespan`, in 100 ns ticks.
    Timespan(i64),
    /// `string`.
    Str(String),
    /// `guid`, lowercase hyphenated.
    Guid(String),
}

impl Scalar {
    /// Reads a stored cell of a column of type `ty`; `None` for types the query subset does
    /// not compare (`dynamic`, `decimal`).
    pub fn from_cell(ty: ColumnType, cell: &Value) -> Option<Scalar> {
        if cell.is_null() {
            return Some(Scalar::Null);
        }
        Some(match ty {
            ColumnType::Bool => cell.as_bool().map_or(Scalar::Null, Scalar::Bool),
            ColumnType::Int | ColumnType::Long => cell.as_i64().map_or(Scalar::Null, Scalar::Long),
            ColumnType::Real => match cell {
                Value::String(s) if s == "NaN" => Scalar::Real(f64::NAN),
                Value::String(s) if s == "Infinity" => Scalar::Real(f64::INFINITY),
                Value::String(s) if s == "-Infinity" => Scalar::Real(f64::NEG_INFINITY),
                other => other.as_f64().map_or(Scalar::Null, Scalar::Real),
            },
            ColumnType::DateTime => cell
                .as_str()
                .and_then(parse_datetime)
                .map_or(Scalar::Null, Scalar::DateTime),
            ColumnType::Timespan => cell
                .as_str()
                .and_then(parse_timespan)
                .map_or(Scalar::Null, Scalar::Timespan),
            ColumnType::String => Scalar::Str(cell.as_str().unwrap_or_default().to_string()),
            ColumnType::Guid => Scalar::Guid(cell.as_str().unwrap_or_default().to_string()),
            ColumnType::Dynamic | ColumnType::Decimal => return None,
        })
    }

    /// The stored (v2) form of this value.
    pub fn to_cell(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Long(i) => Value::from(*i),
            Scalar::Real(f) => real(*f),
            Scalar::DateTime(t) => Value::String(format_datetime(*t)),
            Scalar::Timespan(t) => Value::String(format_timespan(*t)),
            Scalar::Str(s) | Scalar::Guid(s) => Value::String(s.clone()),
        }
    }

    /// Orders two values of comparable types (numbers with numbers, datetimes with datetimes,
    /// ...); `None` when either is null or the types do not compare.
    pub fn compare(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Long(a), Scalar::Long(b)) => Some(a.cmp(b)),
            (Scalar::Long(a), Scalar::Real(b)) => (*a as f64).partial_cmp(b),
            (Scalar::Real(a), Scalar::Long(b)) => a.partial_cmp(&(*b as f64)),
            (Scalar::Real(a), Scalar::Real(b)) => a.partial_cmp(b),
            (Scalar::DateTime(a), Scalar::DateTime(b))
            | (Scalar::Timespan(a), Scalar::Timespan(b)) => Some(a.cmp(b)),
            (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            (Scalar::Str(a), Scalar::Str(b)) | (Scalar::Guid(a), Scalar::Guid(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kusto::datetime::TICKS_PER_DAY;
    use serde_json::json;

    #[test]
    fn timespans_are_signed_ticks() {
        assert_eq!(parse_timespan("00:00:10"), Some(100_000_000));
        assert_eq!(parse_timespan("-1.00:00:00"), Some(-TICKS_PER_DAY));
        assert_eq!(format_timespan(-5_000_000), "-00:00:00.5000000");
        assert_eq!(parse_timespan_literal("10s"), Some(100_000_000));
        assert_eq!(parse_timespan_literal("1d"), Some(TICKS_PER_DAY));
        assert_eq!(parse_timespan_literal("1.00:00:00"), Some(TICKS_PER_DAY));
        assert_eq!(
            parse_timespan("10s"),
            None,
            "ingestion reads the clock form only"
        );
    }

    #[test]
    fn json_values_convert_to_the_column_type_or_null() {
        let c = |ty, v: Value| convert(ty, Raw::Json(&v));
        assert_eq!(c(ColumnType::Long, json!(42)), json!(42));
        assert_eq!(c(ColumnType::Long, json!("42")), json!(42));
        assert_eq!(
            c(ColumnType::Int, json!(1.5)),
            Value::Null,
            "float into int is null"
        );
        assert_eq!(c(ColumnType::Int, json!(3_000_000_000_i64)), Value::Null);
        assert_eq!(c(ColumnType::Real, json!(1.5)), json!(1.5));
        assert_eq!(c(ColumnType::Real, json!("NaN")), json!("NaN"));
        assert_eq!(c(ColumnType::String, json!(7)), json!("7"));
        assert_eq!(c(ColumnType::String, json!({"a": 1})), json!(r#"{"a":1}"#));
        assert_eq!(c(ColumnType::String, Value::Null), json!(""));
        assert_eq!(c(ColumnType::Bool, json!(true)), json!(true));
        assert_eq!(c(ColumnType::Bool, json!("yes")), Value::Null);
        assert_eq!(
            c(ColumnType::DateTime, json!("2018-11-14 11:34")),
            json!("2018-11-14T11:34:00Z")
        );
        assert_eq!(c(ColumnType::DateTime, json!(1_700_000_000)), Value::Null);
        assert_eq!(
            c(ColumnType::Timespan, json!("01:02:03")),
            json!("01:02:03")
        );
        assert_eq!(
            c(ColumnType::Dynamic, json!({"k": [1, 2]})),
            json!({"k": [1, 2]})
        );
        assert_eq!(
            c(ColumnType::Dynamic, json!("{\"a\":1}")),
            json!("{\"a\":1}"),
            "a JSON string stays a string in a dynamic column"
        );
        assert_eq!(
            c(
                ColumnType::Guid,
                json!("6B4C0AB2-180E-46D8-B97E-593E6AEA1E7A")
            ),
            json!("6b4c0ab2-180e-46d8-b97e-593e6aea1e7a")
        );
        assert_eq!(c(ColumnType::Guid, json!("not-a-guid")), Value::Null);
        assert_eq!(c(ColumnType::Decimal, json!("12.50")), json!("12.50"));
        assert_eq!(c(ColumnType::Decimal, json!("1e5")), Value::Null);
        assert_eq!(convert(ColumnType::Long, Raw::Missing), Value::Null);
    }

    #[test]
    fn csv_text_converts_per_type() {
        let c = |ty, t| convert(ty, Raw::Text(t));
        assert_eq!(c(ColumnType::Long, " 12 "), json!(12));
        assert_eq!(c(ColumnType::Long, ""), Value::Null);
        assert_eq!(
            c(ColumnType::String, " keep spaces "),
            json!(" keep spaces ")
        );
        assert_eq!(c(ColumnType::Bool, "TRUE"), json!(true));
        assert_eq!(c(ColumnType::Bool, "0"), json!(false));
        assert_eq!(c(ColumnType::Real, "2.5e1"), json!(25.0));
        assert_eq!(c(ColumnType::Real, "abc"), Value::Null);
        assert_eq!(
            c(ColumnType::Dynamic, r#"{"EventType":"Read"}"#),
            json!({"EventType": "Read"})
        );
        assert_eq!(c(ColumnType::Dynamic, "plain"), json!("plain"));
    }

    #[test]
    fn scalars_compare_within_type_families() {
        let dt = |t: &str| Scalar::DateTime(parse_datetime(t).expect("datetime"));
        assert_eq!(
            Scalar::Long(2).compare(&Scalar::Real(1.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            dt("2024-01-01").compare(&dt("2024-01-02")),
            Some(Ordering::Less)
        );
        assert_eq!(Scalar::Null.compare(&Scalar::Long(1)), None);
        assert_eq!(Scalar::Str("a".into()).compare(&Scalar::Long(1)), None);
        assert_eq!(
            Scalar::from_cell(ColumnType::Real, &json!("NaN"))
                .map(|s| matches!(s, Scalar::Real(f) if f.is_nan())),
            Some(true)
        );
        assert_eq!(Scalar::from_cell(ColumnType::Dynamic, &json!(1)), None);
    }
}
