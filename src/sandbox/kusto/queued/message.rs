//! The queued ingestion message a client posts to the ready-for-aggregation queue
//! (api-netfx-kusto-ingest-client-rest.md, "Ingestion message internal structure"): base64
//! JSON with `Id`, `BlobPath`, `RawDataSize`, `DatabaseName`, `TableName`,
//! `RetainBlobOnSuccess`, `FlushImmediately`, `ReportLevel`, `ReportMethod` and
//! `AdditionalProperties` (`authorizationContext`, `format`, mappings, `tags`, ...).
//!
//! The documentation writes numbers and booleans as strings (`"RawDataSize" :
//! "<RawDataSizeInBytes>"`) and the SDKs write them as JSON numbers and booleans: both are read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::kusto::command::Property;

/// `ReportLevel`: which outcomes are posted to the status queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportLevel {
    /// 0: failures only (the default).
    FailuresOnly,
    /// 1: nothing.
    None,
    /// 2: failures and successes.
    All,
}

/// `ReportMethod`: where outcomes are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMethod {
    /// 0: the status queues (the default).
    Queue,
    /// 1: the status table (not served by the sandbox).
    Table,
    /// 2: both.
    QueueAndTable,
}

impl ReportMethod {
    /// Whether outcomes go to the status queues.
    pub fn uses_queue(self) -> bool {
        matches!(self, ReportMethod::Queue | ReportMethod::QueueAndTable)
    }
}

/// One ingestion request read from the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionMessage {
    /// `Id`: the ingestion source id (a GUID).
    pub id: String,
    /// `BlobPath`: the blob URI with its SAS (a secret: never logged as is).
    pub blob_path: String,
    /// `RawDataSize`: uncompressed size in bytes, when given (and not 0).
    pub raw_data_size: Option<u64>,
    /// `DatabaseName`.
    pub database: String,
    /// `TableName`.
    pub table: String,
    /// `RetainBlobOnSuccess` (default false: the blob is deleted after a success).
    pub retain_blob_on_success: bool,
    /// `FlushImmediately` (default false).
    pub flush_immediately: bool,
    /// `ReportLevel`.
    pub report_level: ReportLevel,
    /// `ReportMethod`.
    pub report_method: ReportMethod,
    /// `AdditionalProperties.authorizationContext`, from `.get kusto identity token`.
    pub authorization_context: Option<String>,
    /// The other additional properties, values as text (JSON text for non-strings), in the
    /// form `.ingest` takes them; `mappingReference` (the REST page's example) is read as
    /// `ingestionMappingReference`.
    pub properties: Vec<Property>,
}

/// Additional properties that change nothing in the sandbox: the mapping kind follows from
/// the format, and the sandbox applies no validation policy.
const IGNORED_PROPERTIES: [&str; 2] = ["ingestionmappingtype", "validationpolicy"];

impl IngestionMessage {
    /// Reads a queue message's text: base64 of the JSON document (what the SDKs send), or the
    /// JSON document itself.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let json = if text.starts_with('{') {
            text.as_bytes().to_vec()
        } else {
            BASE64
                .decode(text)
                .map_err(|_| "the message is neither JSON nor base64-encoded JSON".to_string())?
        };
        let doc: Value = serde_json::from_slice(&json)
            .map_err(|e| format!("the message is not a JSON document: {e}"))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| "the message is not a JSON object".to_string())?;
        let field = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| !v.is_null())
        };
        let required = |name: &str| {
            field(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("the message has no '{name}' string"))
        };
        let flag = |name: &str| match field(name) {
            None => Ok(false),
            Some(v) => as_bool(v).ok_or_else(|| format!("'{name}' must be true or false")),
        };
        let number = |name: &str| match field(name) {
            None => Ok(None),
            Some(v) => as_u64(v)
                .map(Some)
                .ok_or_else(|| format!("'{name}' must be a non-negative integer")),
        };
        let report_level = match number("ReportLevel")? {
            None | Some(0) => ReportLevel::FailuresOnly,
            Some(1) => ReportLevel::None,
            Some(2) => ReportLevel::All,
            Some(n) => return Err(format!("'ReportLevel' {n} is not 0, 1 or 2")),
        };
        let report_method = match number("ReportMethod")? {
            None | Some(0) => ReportMethod::Queue,
            Some(1) => ReportMethod::Table,
            Some(2) => ReportMethod::QueueAndTable,
            Some(n) => return Err(format!("'ReportMethod' {n} is not 0, 1 or 2")),
        };
        let empty = Map::new();
        let additional = match field("AdditionalProperties") {
            None => &empty,
            Some(Value::Object(map)) => map,
            Some(_) => return Err("'AdditionalProperties' must be a JSON object".into()),
        };
        let mut authorization_context = None;
        let mut properties = Vec::new();
        for (key, value) in additional {
            let lower = key.to_ascii_lowercase();
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if lower == "authorizationcontext" {
                authorization_context = Some(text);
            } else if !IGNORED_PROPERTIES.contains(&lower.as_str()) {
                let key = if lower == "mappingreference" {
                    "ingestionMappingReference".to_string()
                } else {
                    key.clone()
                };
                properties.push(Property {
                    key,
                    value: text,
                    quoted: true,
                });
            }
        }
        Ok(IngestionMessage {
            id: required("Id")?,
            blob_path: required("BlobPath")?,
            raw_data_size: number("RawDataSize")?.filter(|n| *n > 0),
            database: required("DatabaseName")?,
            table: required("TableName")?,
            retain_blob_on_success: flag("RetainBlobOnSuccess")?,
            flush_immediately: flag("FlushImmediately")?,
            report_level,
            report_method,
            authorization_context,
            properties,
        })
    }

    /// The blob path without its SAS: what may be shown in failures, status messages and logs.
    pub fn source_path(&self) -> &str {
        without_query(&self.blob_path)
    }

    /// The batching key: blobs are aggregated only with blobs for the same table, with the
    /// same properties and the same authorization.
    pub fn batch_key(&self) -> String {
        let props: Vec<(&str, &str)> = self
            .properties
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        serde_json::json!([self.database, self.table, props, self.authorization_context])
            .to_string()
    }

    /// Whether the documented single-blob conditions apply: `ingest-by:` tags,
    /// `ingestIfNotExists`, or an unknown size.
    pub fn single_blob(&self) -> bool {
        self.raw_data_size.is_none()
            || self.properties.iter().any(|p| {
                p.key.eq_ignore_ascii_case("ingestIfNotExists")
                    || (p.key.eq_ignore_ascii_case("tags") && p.value.contains("ingest-by:"))
            })
    }
}

/// `url` without its query string (the SAS).
pub fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of the REST page's example (`PrepareIngestionMessage`), base64-encoded.
    fn documented() -> String {
        BASE64.encode(
            serde_json::json!({
                "Id": "5d4e9a3c-0000-4000-8000-000000000001",
                "BlobPath": "http://127.0.0.1:1/devstoreaccount1/c/b.json?sv=x&sig=SECRET",
                "RawDataSize": 120,
                "DatabaseName": "db",
                "TableName": "T",
                "RetainBlobOnSuccess": true,
                "FlushImmediately": true,
                "ReportLevel": 2,
                "ReportMethod": 0,
                "AdditionalProperties": {
                    "authorizationContext": "token",
                    "mappingReference": "m",
                    "format": "multijson",
                    "ingestionMappingType": "Json",
                    "ignoreFirstRecord": false
                }
            })
            .to_string(),
        )
    }

    #[test]
    fn reads_the_documented_message() {
        let m = IngestionMessage::parse(&documented()).expect("message");
        assert_eq!(m.id, "5d4e9a3c-0000-4000-8000-000000000001");
        assert_eq!(m.raw_data_size, Some(120));
        assert_eq!((m.database.as_str(), m.table.as_str()), ("db", "T"));
        assert!(m.retain_blob_on_success && m.flush_immediately);
        assert_eq!(m.report_level, ReportLevel::All);
        assert_eq!(m.report_method, ReportMethod::Queue);
        assert_eq!(m.authorization_context.as_deref(), Some("token"));
        let props: Vec<(&str, &str)> = m
            .properties
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            props,
            [
                ("ingestionMappingReference", "m"),
                ("format", "multijson"),
                ("ignoreFirstRecord", "false")
            ]
        );
        assert_eq!(
            m.source_path(),
            "http://127.0.0.1:1/devstoreaccount1/c/b.json"
        );
        assert!(!m.single_blob());
    }

    #[test]
    fn reads_the_documented_string_forms_and_defaults() {
        let m = IngestionMessage::parse(
            r#"{"Id":"i","BlobPath":"p","RawDataSize":"0","DatabaseName":"d","TableName":"t",
                "RetainBlobOnSuccess":"False","FlushImmediately":"true",
                "AdditionalProperties":{"tags":"[\"ingest-by:x\"]"}}"#,
        )
        .expect("plain JSON");
        assert_eq!(m.raw_data_size, None, "0 means unknown");
        assert!(!m.retain_blob_on_success && m.flush_immediately);
        assert_eq!(m.report_level, ReportLevel::FailuresOnly);
        assert_eq!(m.report_method, ReportMethod::Queue);
        assert!(m.single_blob());
    }

    #[test]
    fn refuses_what_cannot_be_ingested() {
        for (text, want) in [
            ("%%%", "neither JSON nor base64"),
            ("[1]", "neither JSON"),
            (r#"{"Id":"i"}"#, "'BlobPath'"),
            (
                r#"{"Id":"i","BlobPath":"p","DatabaseName":"d","TableName":"t","ReportLevel":7}"#,
                "'ReportLevel' 7",
            ),
            (
                r#"{"Id":"i","BlobPath":"p","DatabaseName":"d","TableName":"t","FlushImmediately":"soon"}"#,
                "'FlushImmediately' must be",
            ),
        ] {
            let err = IngestionMessage::parse(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
