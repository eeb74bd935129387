//! Rows in the sandbox: streaming ingestion (`POST /v1/rest/ingest/DB/T`), `.ingest inline`,
//! and the extents that hold the rows (`.show table T extents`, `.drop extents`).
//!
//! Choices where the documentation leaves the service's behaviour open (clients must not
//! depend on more than the real service guarantees):
//! - Streaming needs the table's streaming ingestion policy enabled, or else the database's
//!   (the table's policy wins when both are set); otherwise
//!   `BadRequest_StreamingIngestionPolicyNotEnabled`. `mappingName` is required for JSON and
//!   MultiJSON streams, as the streaming ingestion docs say; CSV without a mapping maps
//!   fields to columns by order. A mapping name is looked up among the table's mappings of
//!   the format's kind, then the database's.
//! - A streaming answer reports `ConsumedRecordsCount` 0 and `UpdatePolicyStatus`
//!   `Inactive`, the shape of the response Microsoft's Python SDK tests against.
//! - Streamed rows get no extent tags (the extent tags docs: tags cannot be set on streaming
//!   ingestion data); `.ingest inline ... with (tags='[...]')` sets them.
//! - `.ingest inline` data: each line is trimmed of surrounding whitespace (the docs' examples
//!   indent the data), blank lines are skipped; the default format is CSV.
//! - Each successful ingestion adds exactly one extent, whose creation time is the ingestion
//!   time of all its rows, plus one per update policy it feeds that returns rows ([`update`]). Ingestion changes no schema and does not bump the database's schema
//!   version.
//! - `.show table T extents`: `Tags` joins the tags with `\r\n`; sizes are the source data's
//!   byte count (`OriginalSize`) and the stored rows' JSON size (`CompressedSize`,
//!   `ExtentSize`); `IndexSize` is 0, `Blocks` and `Segments` 1.

pub(super) mod extents;
pub(super) mod formats;
pub(super) mod mapping;
pub(super) mod update;
pub(super) mod value;

use serde_json::json;

use super::clock;
use super::error::KustoError;
use super::state::{Database, Extent, Table};
use crate::kusto::command::Property;
use crate::kusto::v1::V1Table;
use crate::model::{ColumnType, MappingKind};
use formats::Format;
use mapping::{Plan, Record};

/// The mapping an ingestion uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MappingRef {
    /// No mapping: the identity mapping (names for JSON, order for CSV).
    Identity,
    /// A pre-created mapping, by name.
    Named(String),
    /// A mapping given inline, as JSON text.
    Inline(String),
}

/// How to read one ingestion's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reading {
    /// Data format.
    pub format: Format,
    /// Mapping.
    pub mapping: MappingRef,
    /// Skip the first CSV record (a header line).
    pub ignore_first_record: bool,
}

/// Whether streaming ingestion into `table` is allowed: the table's policy, else the
/// database's.
pub(super) fn streaming_enabled(db: &Database, table: &Table) -> bool {
    table
        .streaming
        .or(db.streaming)
        .is_some_and(|p| p.is_enabled)
}

/// The mapping plan for `reading` against `table`.
fn plan(db: &Database, table: &Table, reading: &Reading) -> Result<Plan, KustoError> {
    let csv = reading.format.is_csv();
    match &reading.mapping {
        MappingRef::Identity => Ok(Plan::identity(table, csv)),
        MappingRef::Inline(json) => Plan::parse("(inline)", json, table, csv),
        MappingRef::Named(name) => {
            let kind = if csv {
                MappingKind::Csv
            } else {
                MappingKind::Json
            };
            let found = table
                .mappings
                .iter()
                .chain(db.mappings.iter())
                .find(|m| m.name == *name && m.kind == kind)
                .ok_or_else(|| {
                    KustoError::ingestion(
                        "BadRequest_InvalidMappingReference",
                        format!(
                            "Mapping reference '{name}' of kind '{}' was not found for table '{}'.",
                            kind.display_name(),
                            table.name
                        ),
                    )
                })?;
            Plan::parse(name, &found.mapping, table, csv)
        }
    }
}

/// Reads `text` into a new extent for `table` (nothing is changed): every record becomes a
/// row of the columns the mapping fills.
pub(super) fn build_extent(
    db: &Database,
    table: &Table,
    text: &str,
    reading: &Reading,
    tags: Vec<String>,
) -> Result<Extent, KustoError> {
    let plan = plan(db, table, reading)?;
    let rows = match reading.format {
        Format::Csv => {
            let records = formats::csv(text)?;
            let skip = usize::from(reading.ignore_first_record);
            records
                .iter()
                .enumerate()
                .skip(skip)
                .map(|(i, fields)| plan.row(Record::Csv(fields), i + 1))
                .collect::<Vec<_>>()
        }
        Format::Json | Format::MultiJson => {
            let records = if reading.format == Format::Json {
                formats::json_lines(text)?
            } else {
                formats::multi_json(text)?
            };
            records
                .iter()
                .enumerate()
                .map(|(i, r)| plan.row(Record::Json(r), i + 1))
                .collect()
        }
    };
    Ok(Extent {
        id: clock::new_guid(),
        created_on: clock::now(),
        tags,
        original_size: text.len() as u64,
        columns: plan.columns(),
        rows,
    })
}

/// The streaming ingestion answer: one row, as the service sends it.
pub(super) fn stream_result() -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("ConsumedRecordsCount", ColumnType::Long),
            ("UpdatePolicyStatus", ColumnType::String),
            ("UpdatePolicyFailureCode", ColumnType::String),
            ("UpdatePolicyFailureReason", ColumnType::String),
        ],
    );
    t.push(vec![
        json!(0),
        json!("Inactive"),
        json!("Unknown"),
        serde_json::Value::Null,
    ]);
    t
}

/// The mapping of a streaming request: `mappingName`, required for JSON formats.
pub(super) fn stream_reading(format: &str, mapping: Option<&str>) -> Result<Reading, KustoError> {
    let format = Format::parse(format)?;
    let mapping = match mapping.filter(|m| !m.is_empty()) {
        Some(name) => MappingRef::Named(name.to_string()),
        None if format.is_csv() => MappingRef::Identity,
        None => {
            return Err(KustoError::ingestion(
                "BadRequest_EmptyMappingReference",
                "Streaming ingestion of JSON or MultiJSON data requires 'mappingName', the name of a pre-created JSON mapping of the table.",
            ));
        }
    };
    Ok(Reading {
        format,
        mapping,
        ignore_first_record: false,
    })
}

/// The options of `.ingest inline ... with (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InlineOptions {
    /// How to read the data.
    pub reading: Reading,
    /// Tags of the new extent.
    pub tags: Vec<String>,
    /// `ingestIfNotExists`: skip the ingestion if an extent has `ingest-by:` one of these.
    pub ingest_if_not_exists: Vec<String>,
}

fn string_array(key: &str, text: &str) -> Result<Vec<String>, KustoError> {
    serde_json::from_str::<Vec<String>>(text).map_err(|_| {
        KustoError::bad_request(format!(
            "Ingestion property '{key}' must be a JSON array of strings, such as '[\"drop-by:x\"]'; got '{text}'."
        ))
    })
}

/// Reads the ingestion properties; unknown and unsupported ones are refused.
pub(super) fn inline_options(props: &[Property]) -> Result<InlineOptions, KustoError> {
    let mut format = Format::Csv;
    let mut mapping = MappingRef::Identity;
    let mut options = InlineOptions {
        reading: Reading {
            format,
            mapping: MappingRef::Identity,
            ignore_first_record: false,
        },
        tags: Vec::new(),
        ingest_if_not_exists: Vec::new(),
    };
    for p in props {
        match p.key.to_ascii_lowercase().as_str() {
            "format" => format = Format::parse(&p.value)?,
            "ingestionmappingreference" | "csvmappingreference" | "jsonmappingreference" => {
                mapping = MappingRef::Named(p.value.clone());
            }
            "ingestionmapping" | "csvmapping" | "jsonmapping" => {
                mapping = MappingRef::Inline(p.value.clone());
            }
            "tags" => options.tags = string_array(&p.key, &p.value)?,
            "ingestifnotexists" => options.ingest_if_not_exists = string_array(&p.key, &p.value)?,
            "ignorefirstrecord" => {
                options.reading.ignore_first_record = match p.value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(KustoError::bad_request(format!(
                            "Ingestion property 'ignoreFirstRecord' must be true or false, got '{}'.",
                            p.value
                        )));
                    }
                }
            }
            _ => {
                return Err(KustoError::bad_request(format!(
                    "Ingestion property '{}' is not supported by the kustoplan sandbox (supported: format, ingestionMappingReference, ingestionMapping, tags, ingestIfNotExists, ignoreFirstRecord).",
                    p.key
                )));
            }
        }
    }
    options.reading.format = format;
    options.reading.mapping = mapping;
    Ok(options)
}

/// `.ingest inline` data: lines trimmed, blank lines dropped.
pub(super) fn inline_text(data: &str) -> String {
    data.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `ingestIfNotExists` finds an extent tagged `ingest-by:` one of `values`.
pub(super) fn already_ingested(table: &Table, values: &[String]) -> bool {
    table.extents.iter().any(|e| {
        e.tags.iter().any(|t| {
            t.strip_prefix("ingest-by:")
                .is_some_and(|v| values.iter().any(|x| x == v))
        })
    })
}

/// The `.ingest inline` result: the new extent's id, or the zero GUID when nothing was
/// ingested.
pub(super) fn inline_result(extent_id: Option<&str>) -> V1Table {
    let mut t = V1Table::new("Table_0", &[("ExtentId", ColumnType::Guid)]);
    t.push(vec![json!(
        extent_id.unwrap_or("00000000-0000-0000-0000-000000000000")
    )]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kusto::state::{Column, StreamingPolicy};

    fn table() -> Table {
        Table::new(
            "T".into(),
            vec![
                Column {
                    name: "A".into(),
                    ty: ColumnType::Long,
                    data_nulled: false,
                },
                Column {
                    name: "B".into(),
                    ty: ColumnType::String,
                    data_nulled: false,
                },
            ],
        )
    }

    fn prop(key: &str, value: &str) -> Property {
        Property::text(key, value)
    }

    #[test]
    fn table_streaming_policy_wins_over_the_database() {
        let mut db = Database::new("id".into());
        let mut t = table();
        assert!(!streaming_enabled(&db, &t));
        db.streaming = Some(StreamingPolicy {
            is_enabled: true,
            hint_allocated_rate: None,
        });
        assert!(streaming_enabled(&db, &t));
        t.streaming = Some(StreamingPolicy {
            is_enabled: false,
            hint_allocated_rate: None,
        });
        assert!(!streaming_enabled(&db, &t), "the table disables it");
    }

    #[test]
    fn csv_header_skipping_and_named_mapping_lookup() {
        let db = Database::new("id".into());
        let reading = Reading {
            format: Format::Csv,
            mapping: MappingRef::Identity,
            ignore_first_record: true,
        };
        let e = build_extent(&db, &table(), "A,B\n1,x\n2,y", &reading, vec![]).expect("csv");
        assert_eq!(e.columns, ["A", "B"]);
        assert_eq!(
            e.rows,
            vec![vec![json!(1), json!("x")], vec![json!(2), json!("y")]]
        );
        let missing = Reading {
            mapping: MappingRef::Named("nope".into()),
            ..reading
        };
        assert_eq!(
            build_extent(&db, &table(), "1,x", &missing, vec![])
                .expect_err("no such mapping")
                .code,
            "BadRequest_InvalidMappingReference"
        );
    }

    #[test]
    fn inline_options_and_stream_readings() {
        let o = inline_options(&[
            prop("format", "multijson"),
            prop("ingestionMappingReference", "m"),
            prop("tags", "[\"drop-by:x\", \"t2\"]"),
        ])
        .expect("options");
        assert_eq!(o.reading.format, Format::MultiJson);
        assert_eq!(o.reading.mapping, MappingRef::Named("m".into()));
        assert_eq!(o.tags, ["drop-by:x", "t2"]);
        assert!(inline_options(&[prop("tags", "drop-by:x")]).is_err());
        assert!(inline_options(&[prop("creationTime", "2024-01-01")]).is_err());
        assert_eq!(
            stream_reading("json", None)
                .expect_err("needs a mapping")
                .code,
            "BadRequest_EmptyMappingReference"
        );
        assert_eq!(
            stream_reading("Csv", None).expect("csv").mapping,
            MappingRef::Identity
        );
        assert_eq!(inline_text("\n    a,1\n\n    b,2  \n"), "a,1\nb,2");
    }
}
