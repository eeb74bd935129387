//! The Kusto v1 REST response format and error bodies.
//!
//! Every management command answers with the v1 shape
//! `{"Tables":[{"TableName","Columns":[{"ColumnName","DataType","ColumnType"?}],"Rows":[...]}]}`.
//! Real responses are messier than the docs: `ColumnType` may be missing, a row may be an
//! `{"Exceptions":[...]}` object instead of an array (partial query failure), the document may
//! carry a top-level `Exceptions` array, and error bodies may be JSON or plain text. This module
//! reads all of those, and also writes the same format for the sandbox so both sides share one
//! definition.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::ColumnType;

/// A whole v1 response document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V1Response {
    /// The result tables, primary result first for management commands.
    #[serde(rename = "Tables")]
    pub tables: Vec<V1Table>,
    /// Top-level partial-failure messages, present only when the service reports them.
    #[serde(rename = "Exceptions", default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
}

/// One result table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V1Table {
    /// Table name as sent by the service (`Table_0`, ...).
    #[serde(rename = "TableName")]
    pub name: String,
    /// Column descriptors, in row order.
    #[serde(rename = "Columns")]
    pub columns: Vec<V1Column>,
    /// Rows: value arrays, or in-band exception markers.
    #[serde(rename = "Rows")]
    pub rows: Vec<V1Row>,
}

/// One column descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Column {
    /// Column name.
    #[serde(rename = "ColumnName")]
    pub name: String,
    /// Approximate .NET type (`Int32`, `String`, ...); always present.
    #[serde(rename = "DataType")]
    pub data_type: String,
    /// Kusto scalar type name (`int`, `string`, ...); older services omit it.
    #[serde(
        rename = "ColumnType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub column_type: Option<String>,
}

/// One row of a table: either values, or an in-band partial-failure marker.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum V1Row {
    /// Cell values in column order.
    Values(Vec<Value>),
    /// `{"Exceptions":[...]}`: the service failed part-way through producing the table.
    Exceptions {
        /// The exception messages.
        #[serde(rename = "Exceptions")]
        exceptions: Vec<String>,
    },
}

/// Read by the token that opens the row (an array or an object) instead of with
/// `#[serde(untagged)]`, which first copies every row into an intermediate tree and then tries
/// each variant on the copy: twice the work for the tens of thousands of rows of a bulk read.
impl<'de> Deserialize<'de> for V1Row {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RowVisitor)
    }
}

struct RowVisitor;

/// `{"Exceptions":[...]}`, other fields ignored.
#[derive(Deserialize)]
struct ExceptionsRow {
    #[serde(rename = "Exceptions")]
    exceptions: Vec<String>,
}

impl<'de> Visitor<'de> for RowVisitor {
    type Value = V1Row;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a row: an array of values or an {\"Exceptions\":[...]} object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V1Row, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(value) = seq.next_element()? {
            values.push(value);
        }
        Ok(V1Row::Values(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V1Row, A::Error> {
        let row = ExceptionsRow::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(V1Row::Exceptions {
            exceptions: row.exceptions,
        })
    }
}

/// Why a v1 body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum V1ParseError {
    /// The body is not a v1 document.
    #[error("invalid Kusto v1 response: {0}")]
    Json(#[from] serde_json::Error),
}

impl V1Response {
    /// Parses a v1 response body.
    pub fn parse(body: &[u8]) -> Result<Self, V1ParseError> {
        Ok(serde_json::from_slice(body)?)
    }

    /// Wraps a single result table, the shape of every management command result.
    pub fn single(table: V1Table) -> Self {
        V1Response {
            tables: vec![table],
            exceptions: Vec::new(),
        }
    }

    /// The first table, which holds the result of a management command.
    pub fn primary(&self) -> Option<&V1Table> {
        self.tables.first()
    }

    /// All partial-failure messages, in-band (row markers) and top-level, in document order.
    pub fn partial_failures(&self) -> Vec<&str> {
        let in_band = self
            .tables
            .iter()
            .flat_map(|t| t.rows.iter())
            .flat_map(|r| match r {
                V1Row::Exceptions { exceptions } => exceptions.as_slice(),
                V1Row::Values(_) => &[],
            });
        in_band
            .chain(self.exceptions.iter())
            .map(String::as_str)
            .collect()
    }
}

impl V1Table {
    /// Creates an empty table with typed columns (the sandbox always sends `ColumnType`).
    pub fn new(name: &str, columns: &[(&str, ColumnType)]) -> Self {
        V1Table {
            name: name.to_string(),
            columns: columns
                .iter()
                .map(|(column, ty)| V1Column {
                    name: (*column).to_string(),
                    data_type: ty.as_v1_data_type().to_string(),
                    column_type: Some(ty.as_kql().to_string()),
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a value row.
    pub fn push(&mut self, row: Vec<Value>) {
        self.rows.push(V1Row::Values(row));
    }

    /// Index of the column with this exact name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The value rows, skipping in-band exception markers.
    pub fn value_rows(&self) -> impl Iterator<Item = &[Value]> {
        self.rows.iter().filter_map(|r| match r {
            V1Row::Values(v) => Some(v.as_slice()),
            V1Row::Exceptions { .. } => None,
        })
    }

    /// The cells of one column, by name, over the value rows (`None` if the column is absent).
    pub fn column_values(&self, name: &str) -> Option<Vec<&Value>> {
        let idx = self.column_index(name)?;
        Some(
            self.value_rows()
                .map(|row| row.get(idx).unwrap_or(&Value::Null))
                .collect(),
        )
    }
}

/// The JSON error body of a failed request: `{"error":{...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error details.
    pub error: ErrorBody,
}

/// The fields of a Kusto error; unknown fields (`@context`, `innererror`, ...) are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Short code such as `BadRequest`, `Forbidden`, `NotFound`.
    pub code: String,
    /// Generic, human message.
    pub message: String,
    /// Exception type, e.g. `Kusto.Data.Exceptions.SyntaxException`.
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub exception_type: Option<String>,
    /// Specific message.
    #[serde(rename = "@message", default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether retrying the same request can ever succeed (`false` means transient).
    #[serde(
        rename = "@permanent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub permanent: Option<bool>,
    /// Every other field, in service order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A service error as received: structured JSON, or text when the service sent no JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceError {
    /// `{"error":{...}}`.
    Structured(ErrorBody),
    /// Anything else, trimmed.
    Text(String),
}

impl ServiceError {
    /// Reads an error body; never fails, because a body we cannot parse is still the message.
    pub fn parse(body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(envelope) => ServiceError::Structured(envelope.error),
            Err(_) => ServiceError::Text(String::from_utf8_lossy(body).trim().to_string()),
        }
    }

    /// The error code: the JSON `code`, or the `Code:` prefix of a text body
    /// (`General_BadRequest: Request is invalid...`).
    pub fn code(&self) -> Option<&str> {
        match self {
            ServiceError::Structured(body) => Some(&body.code),
            ServiceError::Text(text) => {
                let (head, _) = text.split_once(':')?;
                let is_code =
                    !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                is_code.then_some(head)
            }
        }
    }

    /// The most specific message available (`@message`, else `message`, else the text).
    pub fn detail(&self) -> &str {
        match self {
            ServiceError::Structured(body) => body.detail.as_deref().unwrap_or(&body.message),
            ServiceError::Text(text) => text,
        }
    }

    /// `Some(true)` when the service says retrying cannot help; `None` when it did not say.
    pub fn permanent(&self) -> Option<bool> {
        match self {
            ServiceError::Structured(body) => body.permanent,
            ServiceError::Text(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kusto-v1")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    fn columns(table: &V1Table) -> Vec<(&str, &str, Option<&str>)> {
        table
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.column_type.as_deref(),
                )
            })
            .collect()
    }

    #[test]
    fn parses_go_success() {
        let r = V1Response::parse(&fixture("go-success.json")).expect("parse");
        assert_eq!(r.tables.len(), 5);
        let names: Vec<_> = r.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["Table_0", "Table_1", "Table_2", "Table_3", "Table_4"]
        );
        assert_eq!(columns(&r.tables[0]), [("a", "Int32", Some("int"))]);
        assert_eq!(
            r.tables[0].rows,
            vec![
                V1Row::Values(vec![json!(1)]),
                V1Row::Values(vec![json!(2)]),
                V1Row::Values(vec![json!(3)])
            ]
        );
        assert_eq!(
            columns(&r.tables[1]),
            [("a", "String", Some("string")), ("b", "Int32", Some("int"))]
        );
        assert_eq!(
            r.tables[1].column_values("a").expect("column a"),
            [&json!("a"), &json!("b"), &json!("c")]
        );
        let status = &r.tables[3];
        assert_eq!(status.columns.len(), 10);
        assert_eq!(
            status.columns[0],
            V1Column {
                name: "Timestamp".into(),
                data_type: "DateTime".into(),
                column_type: Some("datetime".into())
            }
        );
        assert_eq!(
            status.column_values("StatusDescription").expect("column")[0],
            &json!("Query completed successfully")
        );
        let toc = &r.tables[4];
        assert_eq!(
            toc.column_values("Name").expect("Name"),
            [
                &json!("PrimaryResult"),
                &json!("PrimaryResult"),
                &json!("@ExtendedProperties"),
                &json!("QueryStatus")
            ]
        );
        assert_eq!(toc.columns[0].column_type.as_deref(), Some("long"));
        assert!(r.partial_failures().is_empty());
        assert!(r.exceptions.is_empty());
    }

    #[test]
    fn parses_go_data_type_only_without_column_type() {
        let r = V1Response::parse(&fixture("go-dataTypeOnly.json")).expect("parse");
        assert_eq!(r.tables.len(), 5);
        assert_eq!(columns(&r.tables[0]), [("a", "Int32", None)]);
        assert_eq!(
            columns(&r.tables[1]),
            [("a", "String", None), ("b", "Int32", None)]
        );
        let props = r.tables[2].column_values("Value").expect("Value");
        assert_eq!(props.len(), 2);
        // A JSON document inside a string cell: parse twice.
        let inner: Value =
            serde_json::from_str(props[0].as_str().expect("string cell")).expect("inner json");
        assert_eq!(inner["Ymin"], json!("NaN"));
        assert_eq!(inner["Accumulate"], json!(false));
        assert_eq!(
            r.tables[3].column_values("ClientActivityId").expect("col"),
            [&json!("blab6"), &json!("blab6")]
        );
        assert_eq!(
            r.tables[4].columns[0],
            V1Column {
                name: "Ordinal".into(),
                data_type: "Int64".into(),
                column_type: None
            }
        );
    }

    #[test]
    fn parses_go_boolean_int_values_verbatim() {
        let r = V1Response::parse(&fixture("go-booleanInt.json")).expect("parse");
        let t = r.primary().expect("table");
        assert_eq!(columns(t), [("a", "Boolean", Some("bool"))]);
        assert_eq!(
            t.column_values("a").expect("a"),
            [
                &json!(false),
                &json!(0),
                &json!(true),
                &json!(1),
                &Value::Null
            ]
        );
    }

    #[test]
    fn parses_go_partial_error_rows_and_top_level_exceptions() {
        let r = V1Response::parse(&fixture("go-partialError.json")).expect("parse");
        let t = r.primary().expect("table");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0], V1Row::Values(vec![json!(1)]));
        let V1Row::Exceptions { exceptions } = &t.rows[1] else {
            panic!("second row should be an exception marker: {:?}", t.rows[1]);
        };
        assert_eq!(exceptions.len(), 1);
        assert!(exceptions[0].starts_with(
            "Query execution has exceeded the allowed limits (80DA0003): The results of this query exceed the set limit of 1 records"
        ));
        assert_eq!(t.value_rows().count(), 1);
        assert_eq!(r.exceptions.len(), 1);
        assert_eq!(r.exceptions[0], exceptions[0]);
        assert_eq!(r.partial_failures().len(), 2);
    }

    #[test]
    fn a_row_is_values_or_an_exceptions_object_and_nothing_else() {
        let body = br#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"A","DataType":"Int32"}],
            "Rows":[[1,"x",null],{"Exceptions":["boom"],"Other":true},[]]}]}"#;
        let r = V1Response::parse(body).expect("parse");
        assert_eq!(
            r.tables[0].rows,
            vec![
                V1Row::Values(vec![json!(1), json!("x"), Value::Null]),
                V1Row::Exceptions {
                    exceptions: vec!["boom".to_string()]
                },
                V1Row::Values(Vec::new()),
            ]
        );
        for bad in [
            &br#"{"Tables":[{"TableName":"T","Columns":[],"Rows":[1]}]}"#[..],
            br#"{"Tables":[{"TableName":"T","Columns":[],"Rows":[{"Other":1}]}]}"#,
        ] {
            assert!(V1Response::parse(bad).is_err());
        }
    }

    #[test]
    fn parses_python_version_show_command_result() {
        let r = V1Response::parse(&fixture("python-versionshowcommandresult.json")).expect("parse");
        let t = r.primary().expect("table");
        assert_eq!(
            columns(t),
            [
                ("BuildVersion", "String", None),
                ("BuildTime", "DateTime", None),
                ("ServiceType", "String", None),
                ("ProductVersion", "String", None)
            ]
        );
        assert_eq!(
            t.rows,
            vec![V1Row::Values(vec![
                json!("1.0.6693.14577"),
                json!("2018-04-29T08:05:54Z"),
                json!("Engine"),
                json!("KustoMain_2018.04.29.5")
            ])]
        );
    }

    #[test]
    fn parses_go_plain_text_error() {
        let e = ServiceError::parse(&fixture("go-error.txt"));
        let ServiceError::Text(text) = &e else {
            panic!("expected text error, got {e:?}");
        };
        assert!(text.starts_with("General_BadRequest: Request is invalid and cannot be executed.\nError details:\nClientRequestId='blab6'"));
        assert!(text.ends_with("Timestamp='2023-12-13T12:09:53.7376185Z'."));
        assert_eq!(e.code(), Some("General_BadRequest"));
        assert_eq!(e.permanent(), None);
    }

    #[test]
    fn parses_structured_error_and_keeps_unknown_fields() {
        let body = br#"{"error":{"code":"NotFound","message":"Entity name 'MyDatabase' of kind 'Database' does not exist.","@type":"Kusto.Common.Svc.Exceptions.EntityNameDoesNotExistException","@message":"Entity name 'MyDatabase' of kind 'Database' does not exist.","@context":{"activityId":"811572e7"},"@permanent":true}}"#;
        let e = ServiceError::parse(body);
        let ServiceError::Structured(b) = &e else {
            panic!("expected structured error");
        };
        assert_eq!(b.code, "NotFound");
        assert_eq!(
            b.exception_type.as_deref(),
            Some("Kusto.Common.Svc.Exceptions.EntityNameDoesNotExistException")
        );
        assert_eq!(b.extra["@context"]["activityId"], json!("811572e7"));
        assert_eq!(e.permanent(), Some(true));
        assert_eq!(e.code(), Some("NotFound"));
        assert_eq!(
            e.detail(),
            "Entity name 'MyDatabase' of kind 'Database' does not exist."
        );
    }

    #[test]
    fn text_without_code_prefix_has_no_code() {
        let e = ServiceError::parse(b"upstream connect error or disconnect/reset before headers");
        assert_eq!(e.code(), None);
        assert_eq!(
            e.detail(),
            "upstream connect error or disconnect/reset before headers"
        );
    }

    #[test]
    fn serializer_round_trips_and_omits_empty_exceptions() {
        let mut t = V1Table::new(
            "Table_0",
            &[("Name", ColumnType::String), ("N", ColumnType::Int)],
        );
        t.push(vec![json!("x"), json!(1)]);
        let r = V1Response::single(t);
        let text = serde_json::to_string(&r).expect("serialize");
        assert_eq!(
            text,
            r#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"Name","DataType":"String","ColumnType":"string"},{"ColumnName":"N","DataType":"Int32","ColumnType":"int"}],"Rows":[["x",1]]}]}"#
        );
        assert_eq!(V1Response::parse(text.as_bytes()).expect("reparse"), r);
    }
}
