//! The canary record of one verification, built from the table's columns and the route's
//! format and mapping alone (pure): a JSON object whose fields sit at the mapping's JSON paths,
//! or a CSV line whose fields sit at the mapping's ordinals, each value of the column's type.
//! One column carries a marker value unique to this run, so the canary row is found (and
//! removed) by `T | where Marker == value` even where no extent tag can be set: the Kusto
//! sink connector gives producers no way to tag the rows of one record.

use serde_json::{Map, Value, json};

use crate::kusto::calendar::civil_from_days;
use crate::kusto::render::{self, quote_string};
use crate::model::kusto::{Mapping, TableState};
use crate::model::{ColumnType, MappingKind};

/// The prefix of every canary marker and `drop-by:` tag, so a leftover canary is recognisable.
pub const MARKER_PREFIX: &str = "kustoplan-canary";

/// How a canary is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One JSON object (formats `json` and `multijson`).
    Json,
    /// One CSV line (format `csv`).
    Csv,
}

impl Encoding {
    /// The encoding of an ingestion format, or why a canary cannot be written in it.
    pub fn of_format(format: &str) -> Result<Encoding, String> {
        match format.to_ascii_lowercase().as_str() {
            "json" | "multijson" => Ok(Encoding::Json),
            "csv" => Ok(Encoding::Csv),
            other => Err(format!(
                "format `{other}`: canary records are written in json, multijson and csv only"
            )),
        }
    }

    fn mapping_kind(self) -> MappingKind {
        match self {
            Encoding::Json => MappingKind::Json,
            Encoding::Csv => MappingKind::Csv,
        }
    }
}

/// The column and value that identify the canary row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The column.
    pub column: String,
    /// The value as a Kusto literal (`'kustoplan-canary-...'`, `-123456789`, `guid(...)`).
    pub literal: String,
}

impl Marker {
    /// The query that counts the canary rows in `table`.
    pub fn count_query(&self, table: &str) -> String {
        format!(
            "{} | count",
            render::rows_where_equal(table, &self.column, &self.literal)
        )
    }

    /// The command that removes the canary rows from `table`.
    pub fn delete_command(&self, table: &str) -> String {
        render::delete_records_where_equal(table, &self.column, &self.literal)
    }
}

/// A canary record and how to find its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// The record: a JSON object or a CSV line, without a line break.
    pub record: String,
    /// How the row is found.
    pub marker: Marker,
}

/// Where one column's value goes in the record.
enum Slot {
    /// A JSON path, as a list of field names from the root.
    Json(Vec<String>),
    /// A CSV ordinal.
    Csv(usize),
}

/// Builds the canary for `table` in `encoding` with `mapping` (`None`: the table's columns
/// by name for JSON, in order for CSV, as Kusto ingests without a mapping). `seed` makes the
/// marker unique (a fresh UUID per canary).
pub fn build(
    table: &TableState,
    encoding: Encoding,
    mapping: Option<&Mapping>,
    seed: uuid::Uuid,
) -> Result<Canary, String> {
    if let Some(m) = mapping
        && m.kind != encoding.mapping_kind()
    {
        return Err(format!(
            "mapping `{}` is a {} mapping, not the {} mapping the format needs",
            m.name,
            m.kind.as_kql(),
            encoding.mapping_kind().as_kql()
        ));
    }
    let slots = slots(table, encoding, mapping)?;
    let (marker_column, marker_value, literal) = slots
        .iter()
        .filter_map(|(name, ty, _)| marker_value(*ty, seed).map(|(v, l)| (name, *ty, v, l)))
        .min_by_key(|(_, ty, _, _)| marker_rank(*ty))
        .map(|(name, _, v, l)| (name.clone(), v, l))
        .ok_or_else(|| {
            "no mapped column can carry a marker (a string, guid, long, int or datetime column \
             filled from the record without a transform)"
                .to_string()
        })?;
    let value_of = |name: &str, ty: ColumnType| {
        if name == marker_column {
            marker_value.clone()
        } else {
            filler(ty)
        }
    };
    let record = match encoding {
        Encoding::Json => {
            let mut root = Value::Object(Map::new());
            for (name, ty, slot) in &slots {
                if let Slot::Json(path) = slot {
                    insert(&mut root, path, value_of(name, *ty))?;
                }
            }
            root.to_string()
        }
        Encoding::Csv => {
            let width = slots
                .iter()
                .filter_map(|(_, _, s)| match s {
                    Slot::Csv(i) => Some(i + 1),
                    Slot::Json(_) => None,
                })
                .max()
                .unwrap_or(0);
            let mut fields = vec![String::new(); width];
            for (name, ty, slot) in &slots {
                if let Slot::Csv(i) = slot {
                    fields[*i] = csv_field(&value_of(name, *ty));
                }
            }
            fields.join(",")
        }
    };
    Ok(Canary {
        record,
        marker: Marker {
            column: marker_column,
            literal,
        },
    })
}

/// The columns the record fills, with their types and places. Columns filled by a constant
/// or a transform are left out (their value does not come from the record as written).
fn slots(
    table: &TableState,
    encoding: Encoding,
    mapping: Option<&Mapping>,
) -> Result<Vec<(String, ColumnType, Slot)>, String> {
    let type_of = |name: &str| table.columns.iter().find(|c| c.name == name).map(|c| c.ty);
    let Some(mapping) = mapping else {
        return Ok(table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let slot = match encoding {
                    Encoding::Json => Slot::Json(vec![c.name.clone()]),
                    Encoding::Csv => Slot::Csv(i),
                };
                (c.name.clone(), c.ty, slot)
            })
            .collect());
    };
    let mut out = Vec::new();
    for mc in &mapping.columns {
        if mc.properties.contains_key("ConstValue") || mc.properties.contains_key("Transform") {
            continue;
        }
        let Some(ty) = type_of(&mc.column) else {
            return Err(format!(
                "mapping `{}` names column `{}`, which the table does not declare",
                mapping.name, mc.column
            ));
        };
        let slot = match encoding {
            Encoding::Json => {
                let Some(path) = mc.properties.get("Path") else {
                    continue;
                };
                Slot::Json(json_path(path).ok_or_else(|| {
                    format!(
                        "mapping `{}`: the canary cannot be shaped for path `{path}` (only `$.a.b` and `$['a']` paths)",
                        mapping.name
                    )
                })?)
            }
            Encoding::Csv => {
                let Some(ordinal) = mc.properties.get("Ordinal") else {
                    continue;
                };
                Slot::Csv(ordinal.trim().parse().map_err(|_| {
                    format!(
                        "mapping `{}`: ordinal `{ordinal}` of column `{}` is not a number",
                        mapping.name, mc.column
                    )
                })?)
            }
        };
        out.push((mc.column.clone(), ty, slot));
    }
    Ok(out)
}

/// `$.a.b`, `$['a']['b']` or `$["a"]` as field names; `None` for anything else (`$`, arrays,
/// wildcards, filters).
fn json_path(path: &str) -> Option<Vec<String>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut fields = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() || name == "*" {
                return None;
            }
            fields.push(name.to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let inner = &after[1..];
            let close = inner.find(quote)?;
            fields.push(inner[..close].to_string());
            rest = inner[close + 1..].strip_prefix(']')?;
        } else {
            return None;
        }
    }
    (!fields.is_empty()).then_some(fields)
}

/// Puts `value` at `path` under `root`, creating objects on the way.
fn insert(root: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let mut node = root;
    for (i, field) in path.iter().enumerate() {
        let Value::Object(map) = node else {
            return Err(format!(
                "mapping paths overlap at `{}`: one column's field is another's parent",
                path[..i].join(".")
            ));
        };
        if i + 1 == path.len() {
            map.insert(field.clone(), value);
            return Ok(());
        }
        node = map
            .entry(field.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// Marker preference: a string is the clearest, a datetime the last resort.
fn marker_rank(ty: ColumnType) -> u8 {
    match ty {
        ColumnType::String => 0,
        ColumnType::Guid => 1,
        ColumnType::Long => 2,
        ColumnType::Int => 3,
        _ => 4,
    }
}

/// The marker value of a column of type `ty` (as written in the record, and as a Kusto
/// literal), or `None` when values of the type cannot be compared exactly.
fn marker_value(ty: ColumnType, seed: uuid::Uuid) -> Option<(Value, String)> {
    let bits = seed.as_u128();
    match ty {
        ColumnType::String => {
            let text = format!("{MARKER_PREFIX}-{seed}");
            Some((json!(text), quote_string(&text).to_string()))
        }
        ColumnType::Guid => Some((json!(seed.to_string()), format!("guid({seed})"))),
        ColumnType::Long => {
            // Negative and far from zero: not a value real events are likely to carry.
            let n =
                -(1_000_000_000_000_i64 + i64::try_from(bits % 1_000_000_000_000_000).unwrap_or(0));
            Some((json!(n), n.to_string()))
        }
        ColumnType::Int => {
            let n = -(1_000_000_000_i64 + i64::try_from(bits % 1_000_000_000).unwrap_or(0));
            Some((json!(n), n.to_string()))
        }
        ColumnType::DateTime => {
            // A moment in 1901, to the 100 ns tick: no real event has it.
            let ticks = bits % 315_360_000_000_000;
            let secs = i64::try_from(ticks / 10_000_000).unwrap_or(0);
            let frac = u32::try_from(ticks % 10_000_000).unwrap_or(0);
            let at = datetime_after_1901(secs, frac);
            Some((json!(at), format!("datetime({at})")))
        }
        _ => None,
    }
}

/// `1901-01-01T00:00:00Z` plus `secs` seconds and `frac` ticks, as ISO 8601 with 7 digits.
fn datetime_after_1901(secs: i64, frac: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days - DAYS_1901_TO_1970);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:07}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days from 1901-01-01 to 1970-01-01.
const DAYS_1901_TO_1970: i64 = 25_202;

/// A value of type `ty` for a column that is not the marker.
fn filler(ty: ColumnType) -> Value {
    match ty {
        ColumnType::Bool => json!(true),
        ColumnType::DateTime => json!(now_iso()),
        ColumnType::Dynamic => json!({"kustoplan": "canary"}),
        ColumnType::Guid => json!(uuid::Uuid::nil().to_string()),
        ColumnType::Int | ColumnType::Long => json!(1),
        ColumnType::Real | ColumnType::Decimal => json!(1.5),
        ColumnType::String => json!(MARKER_PREFIX),
        ColumnType::Timespan => json!("00:00:01"),
    }
}

/// Now as ISO 8601 UTC.
fn now_iso() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(now.as_secs()).unwrap_or(0);
    // Seconds since 1901-01-01 = seconds since 1970 + the 25,202 days between them.
    datetime_after_1901(secs + DAYS_1901_TO_1970 * 86_400, now.subsec_nanos() / 100)
}

/// A CSV field: the value's text, quoted when it holds a comma, quote or line break.
fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MappingProperties;
    use crate::model::kusto::{Column, MappingColumn};

    fn table(columns: &[(&str, ColumnType)]) -> TableState {
        TableState {
            name: "T".into(),
            columns: columns
                .iter()
                .map(|(n, ty)| Column {
                    name: n.to_string(),
                    ty: *ty,
                })
                .collect(),
            ..TableState::default()
        }
    }

    fn mapping(kind: MappingKind, cols: &[(&str, &str, &str)]) -> Mapping {
        Mapping {
            kind,
            name: "m".into(),
            columns: cols
                .iter()
                .map(|(col, key, value)| MappingColumn {
                    column: col.to_string(),
                    datatype: None,
                    properties: MappingProperties::from([(key.to_string(), value.to_string())]),
                })
                .collect(),
        }
    }

    const SEED: uuid::Uuid = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);

    #[test]
    fn json_canaries_follow_the_mapping_paths_and_mark_the_best_column() {
        let t = table(&[
            ("Player", ColumnType::Int),
            ("Name", ColumnType::String),
            ("At", ColumnType::DateTime),
            ("Extra", ColumnType::Dynamic),
        ]);
        let m = mapping(
            MappingKind::Json,
            &[
                ("Player", "Path", "$.player.id"),
                ("Name", "Path", "$['name']"),
                ("At", "Transform", "DateTimeFromUnixSeconds"),
                ("Extra", "Path", "$.player.extra"),
            ],
        );
        let c = build(&t, Encoding::Json, Some(&m), SEED).expect("canary");
        let record: Value = serde_json::from_str(&c.record).expect("json");
        let marker = format!("{MARKER_PREFIX}-{SEED}");
        assert_eq!(
            record["name"],
            json!(marker),
            "a string column is preferred"
        );
        assert_eq!(record["player"]["id"], json!(1));
        assert_eq!(record["player"]["extra"], json!({"kustoplan": "canary"}));
        assert!(
            record.get("At").is_none(),
            "transformed columns are left out"
        );
        assert_eq!(
            c.marker,
            Marker {
                column: "Name".into(),
                literal: quote_string(&marker).to_string()
            }
        );
        assert_eq!(
            c.marker.count_query("T"),
            format!("T | where Name == {} | count", quote_string(&marker))
        );
    }

    #[test]
    fn csv_canaries_put_fields_at_their_ordinals() {
        let t = table(&[("A", ColumnType::Long), ("B", ColumnType::Dynamic)]);
        let m = mapping(
            MappingKind::Csv,
            &[("A", "Ordinal", "2"), ("B", "Ordinal", "0")],
        );
        let c = build(&t, Encoding::Csv, Some(&m), SEED).expect("canary");
        let fields: Vec<&str> = c.record.splitn(2, ',').collect();
        assert_eq!(fields[0], "\"{\"\"kustoplan\"\":\"\"canary\"\"}\"");
        assert!(
            c.record.ends_with(&format!(",,{}", c.marker.literal)),
            "{}",
            c.record
        );
        assert_eq!(c.marker.column, "A");
        assert!(c.marker.literal.starts_with('-'), "{}", c.marker.literal);
        // Without a mapping: every column in order.
        let plain = build(&t, Encoding::Csv, None, SEED).expect("canary");
        assert!(
            plain
                .record
                .starts_with(&format!("{},", plain.marker.literal))
        );
    }

    #[test]
    fn datetime_markers_are_valid_instants_in_1901() {
        let t = table(&[("At", ColumnType::DateTime), ("V", ColumnType::Real)]);
        let c = build(&t, Encoding::Json, None, SEED).expect("canary");
        assert_eq!(c.marker.column, "At");
        let literal = &c.marker.literal;
        assert!(literal.starts_with("datetime(1901-"), "{literal}");
        let at = literal
            .trim_start_matches("datetime(")
            .trim_end_matches(')');
        assert!(
            crate::kusto::datetime::parse_datetime(at).is_some(),
            "{at} parses as a Kusto datetime"
        );
        assert_eq!(datetime_after_1901(0, 0), "1901-01-01T00:00:00.0000000Z");
        assert_eq!(
            datetime_after_1901(25_202 * 86_400 + 86_399, 5),
            "1970-01-01T23:59:59.0000005Z"
        );
    }

    #[test]
    fn what_cannot_carry_a_canary_says_why() {
        let t = table(&[("V", ColumnType::Real), ("B", ColumnType::Bool)]);
        assert!(
            build(&t, Encoding::Json, None, SEED)
                .expect_err("no marker")
                .contains("no mapped column can carry a marker")
        );
        assert!(
            Encoding::of_format("avro")
                .expect_err("avro")
                .contains("json, multijson and csv only")
        );
        let t = table(&[("A", ColumnType::String)]);
        let m = mapping(MappingKind::Json, &[("A", "Path", "$.items[0]")]);
        assert!(
            build(&t, Encoding::Json, Some(&m), SEED)
                .expect_err("array path")
                .contains("cannot be shaped for path `$.items[0]`")
        );
        let csv = mapping(MappingKind::Csv, &[("A", "Ordinal", "0")]);
        assert!(
            build(&t, Encoding::Json, Some(&csv), SEED)
                .expect_err("wrong kind")
                .contains("is a csv mapping, not the json mapping")
        );
    }
}
