//! Ingestion mappings as ingestion applies them: JSON paths, CSV ordinals, constants and the
//! transformations the sandbox can carry out exactly. Anything else is refused with
//! `BadRequest_InvalidMapping`, never approximated.

use serde_json::{Map, Value};

use super::super::error::KustoError;
use super::super::state::Table;
use super::value::{self, Raw};
use crate::model::ColumnType;

/// Ticks (100 ns) per unit of the `DateTimeFromUnix*` transformations, and the divisor for
/// units finer than a tick.
const UNIX_UNITS: [(&str, i128, i128); 4] = [
    ("DateTimeFromUnixSeconds", 10_000_000, 1),
    ("DateTimeFromUnixMilliseconds", 10_000, 1),
    ("DateTimeFromUnixMicroseconds", 10, 1),
    ("DateTimeFromUnixNanoseconds", 1, 100),
];

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`.
    Index(usize),
}

/// Where an element takes its value from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A JSON path (`$` alone is the whole record).
    Path(Vec<Step>),
    /// A CSV field by ordinal.
    Ordinal(usize),
    /// A constant.
    Const(String),
    /// Nothing: the transformation produces the value.
    None,
}

/// Supported transformations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    /// `DateTimeFromUnix*`: ticks per unit, and divisor for units finer than a tick.
    FromUnix(i128, i128),
    /// `SourceLineNumber`: the record's 1-based number.
    LineNumber,
    /// `PropertyBagArrayToDictionary`.
    BagArrayToDictionary,
}

/// One mapped column.
#[derive(Debug, Clone, PartialEq)]
struct Element {
    column: String,
    ty: ColumnType,
    source: Source,
    transform: Option<Transform>,
}

/// One record of the input.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A JSON object (JSON and MultiJSON formats).
    Json(&'a Value),
    /// The fields of a CSV line.
    Csv(&'a [String]),
}

/// A mapping resolved against a table: how to fill each column from a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    elements: Vec<Element>,
}

fn invalid(name: &str, why: impl std::fmt::Display) -> KustoError {
    KustoError::ingestion(
        "BadRequest_InvalidMapping",
        format!("Ingestion mapping '{name}' cannot be applied: {why}."),
    )
}

/// A key of `obj`, matched without regard to case (mapping properties are case-insensitive).
fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Parses `$`, `$.a.b`, `$['a b']`, `$.a[0]`, `$.['x']`; wildcards, recursion and filters are
/// refused.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("path '{path}' does not start with '$'"))?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    let unsupported = || format!("JSON path '{path}' uses syntax the sandbox does not support");
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'[') => i += 1,
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name.is_empty() || name == "*" {
                    return Err(unsupported());
                }
                steps.push(Step::Key(name));
            }
            '[' => {
                i += 1;
                match chars.get(i) {
                    Some(&q @ ('\'' | '"')) => {
                        i += 1;
                        let mut name = String::new();
                        loop {
                            match chars.get(i) {
                                None => return Err(unsupported()),
                                Some('\\') if chars.get(i + 1) == Some(&q) => {
                                    name.push(q);
                                    i += 2;
                                }
                                Some(&c) if c == q => {
                                    i += 1;
                                    break;
                                }
                                Some(&c) => {
                                    name.push(c);
                                    i += 1;
                                }
                            }
                        }
                        steps.push(Step::Key(name));
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while chars.get(i).is_some_and(char::is_ascii_digit) {
                            i += 1;
                        }
                        let n: String = chars[start..i].iter().collect();
                        steps.push(Step::Index(n.parse().map_err(|_| unsupported())?));
                    }
                    _ => return Err(unsupported()),
                }
                if chars.get(i) != Some(&']') {
                    return Err(unsupported());
                }
                i += 1;
            }
            _ => return Err(unsupported()),
        }
    }
    Ok(steps)
}

fn walk<'a>(root: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.as_object()?.get(k),
        Step::Index(n) => v.as_array()?.get(*n),
    })
}

fn transform_of(name: &str, text: &str, csv: bool) -> Result<Transform, KustoError> {
    if let Some((_, per, div)) = UNIX_UNITS.iter().find(|(n, ..)| *n == text) {
        return Ok(Transform::FromUnix(*per, *div));
    }
    match text {
        "SourceLineNumber" => Ok(Transform::LineNumber),
        "PropertyBagArrayToDictionary" if !csv => Ok(Transform::BagArrayToDictionary),
        other => Err(invalid(
            name,
            format!("the transformation '{other}' is not supported by the kustoplan sandbox"),
        )),
    }
}

impl Plan {
    /// The identity mapping: JSON fields by column name, CSV fields by column order.
    pub fn identity(table: &Table, csv: bool) -> Plan {
        let elements = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| Element {
                column: c.name.clone(),
                ty: c.ty,
                source: if csv {
                    Source::Ordinal(i)
                } else {
                    Source::Path(vec![Step::Key(c.name.clone())])
                },
                transform: None,
            })
            .collect();
        Plan { elements }
    }

    /// Resolves mapping `name` (its JSON text, as stored or given inline) against `table`.
    /// `csv` selects ordinals over paths.
    pub fn parse(name: &str, json: &str, table: &Table, csv: bool) -> Result<Plan, KustoError> {
        let elements = match serde_json::from_str::<Value>(json) {
            Ok(Value::Array(a)) if !a.is_empty() => a,
            _ => return Err(invalid(name, "it is not a non-empty JSON array")),
        };
        let mut out = Vec::with_capacity(elements.len());
        for element in &elements {
            let obj = element
                .as_object()
                .ok_or_else(|| invalid(name, "an element is not a JSON object"))?;
            let column = get(obj, "column")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(name, "an element has no column"))?;
            let ty = table.column(column).map(|c| c.ty).ok_or_else(|| {
                KustoError::ingestion(
                    "BadRequest_InconsistentMapping",
                    format!(
                        "Ingestion mapping '{name}' maps column '{column}', which table '{}' does not have (the kustoplan sandbox does not create columns during ingestion).",
                        table.name
                    ),
                )
            })?;
            // Properties, or the legacy top-level keys (`path`, `Ordinal`, ...).
            let props = get(obj, "Properties")
                .and_then(Value::as_object)
                .unwrap_or(obj);
            let text = |key: &str| -> Option<String> {
                get(props, key).and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let transform = text("Transform")
                .filter(|t| !t.is_empty())
                .map(|t| transform_of(name, &t, csv))
                .transpose()?;
            let source = if let Some(c) = text("ConstValue") {
                Source::Const(c)
            } else if csv {
                match text("Ordinal") {
                    Some(o) => Source::Ordinal(o.trim().parse().map_err(|_| {
                        invalid(name, format!("column '{column}' has ordinal '{o}'"))
                    })?),
                    None if transform.is_some() => Source::None,
                    None => {
                        return Err(invalid(name, format!("column '{column}' has no Ordinal")));
                    }
                }
            } else {
                match text("Path") {
                    Some(p) if p.starts_with('$') => {
                        Source::Path(parse_path(&p).map_err(|why| invalid(name, why))?)
                    }
                    // A path that does not start with `$` is a constant (JSON mapping docs).
                    Some(p) => Source::Const(p),
                    None if transform.is_some() => Source::None,
                    None => return Err(invalid(name, format!("column '{column}' has no Path"))),
                }
            };
            if source == Source::None && transform != Some(Transform::LineNumber) {
                return Err(invalid(
                    name,
                    format!("column '{column}' has a transformation but no source"),
                ));
            }
            out.push(Element {
                column: column.to_string(),
                ty,
                source,
                transform,
            });
        }
        Ok(Plan { elements: out })
    }

    /// The columns this plan fills, in order.
    pub fn columns(&self) -> Vec<String> {
        self.elements.iter().map(|e| e.column.clone()).collect()
    }

    /// The row for `record` (the `line`-th record, 1-based), one cell per [`Plan::columns`].
    pub fn row(&self, record: Record<'_>, line: usize) -> Vec<Value> {
        self.elements
            .iter()
            .map(|e| {
                let raw = match (&e.source, record) {
                    (Source::Const(c), _) => Raw::Text(c),
                    (Source::Path(steps), Record::Json(v)) => {
                        walk(v, steps).map_or(Raw::Missing, Raw::Json)
                    }
                    (Source::Ordinal(i), Record::Csv(fields)) => {
                        fields.get(*i).map_or(Raw::Missing, |f| Raw::Text(f))
                    }
                    _ => Raw::Missing,
                };
                match e.transform {
                    None => value::convert(e.ty, raw),
                    Some(t) => value::convert(e.ty, Raw::Json(&apply(t, raw, line))),
                }
            })
            .collect()
    }
}

/// Runs a transformation; a value it cannot transform is null.
fn apply(t: Transform, raw: Raw<'_>, line: usize) -> Value {
    match t {
        Transform::LineNumber => Value::from(line as u64),
        Transform::FromUnix(per, div) => {
            let number = match raw {
                Raw::Json(Value::Number(n)) => Some(n.to_string()),
                Raw::Json(Value::String(s)) => Some(s.trim().to_string()),
                Raw::Text(s) => Some(s.trim().to_string()),
                _ => None,
            };
            let ticks = number.and_then(|n| match n.parse::<i128>() {
                Ok(i) => Some(i * per / div),
                Err(_) => n
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| (f * per as f64 / div as f64).round() as i128),
            });
            ticks
                .and_then(|t| i64::try_from(t).ok())
                .map_or(Value::Null, |t| {
                    Value::String(crate::kusto::datetime::format_datetime(t))
                })
        }
        Transform::BagArrayToDictionary => match raw {
            Raw::Json(Value::Array(items)) => {
                let mut bag = Map::new();
                for item in items {
                    match item {
                        Value::Object(o) => {
                            bag.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
                        }
                        _ => return Value::Null,
                    }
                }
                Value::Object(bag)
            }
            _ => Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kusto::state::Column;
    use serde_json::json;

    fn table() -> Table {
        let col = |name: &str, ty| Column {
            name: name.into(),
            ty,
            data_nulled: false,
        };
        Table::new(
            "T".into(),
            vec![
                col("Id", ColumnType::Long),
                col("Name", ColumnType::String),
                col("At", ColumnType::DateTime),
                col("Props", ColumnType::Dynamic),
            ],
        )
    }

    #[test]
    fn json_paths_brackets_indexes_constants_and_transforms() {
        let mapping = json!([
            {"column": "Id", "Properties": {"Path": "$.a.b[1]"}},
            {"column": "Name", "Properties": {"path": "$['player \"x\" name']"}},
            {"column": "At", "Properties": {"Path": "$.ts", "Transform": "DateTimeFromUnixMilliseconds"}},
            {"column": "Props", "Properties": {"Path": "$.bags", "Transform": "PropertyBagArrayToDictionary"}}
        ]);
        let plan = Plan::parse("m", &mapping.to_string(), &table(), false).expect("plan");
        let record = json!({
            "a": {"b": [10, 20]},
            "player \"x\" name": "zoe",
            "ts": 1_700_000_000_123_i64,
            "bags": [{"k1": 1}, {"k2": "v"}]
        });
        assert_eq!(
            plan.row(Record::Json(&record), 1),
            vec![
                json!(20),
                json!("zoe"),
                json!("2023-11-14T22:13:20.123Z"),
                json!({"k1": 1, "k2": "v"})
            ]
        );
        assert_eq!(
            plan.row(Record::Json(&json!({})), 1),
            vec![Value::Null, json!(""), Value::Null, Value::Null],
            "missing fields are null (empty for strings)"
        );
        let constant = json!([{"column": "Name", "Properties": {"Path": "fixed"}}]);
        let plan = Plan::parse("c", &constant.to_string(), &table(), false).expect("const");
        assert_eq!(plan.row(Record::Json(&json!({})), 1), vec![json!("fixed")]);
    }

    #[test]
    fn csv_ordinals_constants_line_numbers_and_legacy_keys() {
        let mapping = json!([
            {"column": "Name", "Properties": {"Ordinal": "1"}},
            {"column": "Id", "Properties": {"Transform": "SourceLineNumber"}},
            {"column": "At", "Ordinal": 0}
        ]);
        let plan = Plan::parse("m", &mapping.to_string(), &table(), true).expect("plan");
        let fields = ["2024-01-01".to_string(), "x".to_string()];
        assert_eq!(
            plan.row(Record::Csv(&fields), 7),
            vec![json!("x"), json!(7), json!("2024-01-01T00:00:00Z")]
        );
        assert_eq!(plan.columns(), ["Name", "Id", "At"]);
    }

    #[test]
    fn identity_mappings_follow_names_and_order() {
        let t = table();
        let json_plan = Plan::identity(&t, false);
        assert_eq!(
            json_plan.row(Record::Json(&json!({"Name": "n", "Id": "5"})), 1),
            vec![json!(5), json!("n"), Value::Null, Value::Null]
        );
        let csv_plan = Plan::identity(&t, true);
        let fields = ["1".to_string(), "a".to_string()];
        assert_eq!(
            csv_plan.row(Record::Csv(&fields), 1),
            vec![json!(1), json!("a"), Value::Null, Value::Null]
        );
    }

    #[test]
    fn unsupported_mappings_are_refused_not_approximated() {
        let cases = [
            (
                json!([{"column": "Id", "Properties": {"Path": "$..a"}}]),
                "BadRequest_InvalidMapping",
            ),
            (
                json!([{"column": "Id", "Properties": {"Path": "$.a[*]"}}]),
                "BadRequest_InvalidMapping",
            ),
            (
                json!([{"column": "Props", "Properties": {"Path": "$", "Transform": "DropMappedFields"}}]),
                "BadRequest_InvalidMapping",
            ),
            (
                json!([{"column": "Nope", "Properties": {"Path": "$.x"}}]),
                "BadRequest_InconsistentMapping",
            ),
        ];
        for (mapping, code) in cases {
            let err = Plan::parse("m", &mapping.to_string(), &table(), false).expect_err("refused");
            assert_eq!(err.code, code, "{mapping}");
        }
        let err = Plan::parse(
            "m",
            &json!([{"column": "Id", "Properties": {"Path": "$.x"}}]).to_string(),
            &table(),
            true,
        )
        .expect_err("a JSON path in a CSV mapping");
        assert_eq!(err.code, "BadRequest_InvalidMapping");
    }
}
