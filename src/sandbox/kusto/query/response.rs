//! Query results in the service's two formats: v2 frames (`/v2/rest/query`: DataSetHeader,
//! DataTable PrimaryResult, DataTable QueryCompletionInformation, DataSetCompletion) and v1
//! tables (`/v1/rest/query`: the result, QueryStatus and TableOfContents).

use serde_json::{Value, json};

use super::super::clock;
use super::ResultTable;
use crate::kusto::v1::{V1Response, V1Table};
use crate::model::ColumnType;

/// Request identifiers echoed in the completion tables.
#[derive(Debug, Clone, Copy)]
pub struct Ids<'a> {
    /// `x-ms-client-request-id`.
    pub client_request_id: &'a str,
    /// The activity id of this request.
    pub activity_id: &'a str,
}

fn frame_columns(columns: &[(String, ColumnType)]) -> Value {
    columns
        .iter()
        .map(|(name, ty)| json!({"ColumnName": name, "ColumnType": ty.as_kql()}))
        .collect()
}

/// The v2 frames of a query result.
pub fn v2(result: &ResultTable, ids: Ids<'_>) -> Value {
    v2_frames(frame_columns(&result.columns), &result.rows, ids)
}

/// The v2 frames of a control command's result table (a `.show` sent to `/v2/rest/query`).
pub fn v2_of_v1(table: &V1Table, ids: Ids<'_>) -> Value {
    let columns = table
        .columns
        .iter()
        .map(|c| {
            json!({
                "ColumnName": c.name,
                "ColumnType": c.column_type.clone().unwrap_or_else(|| "string".into()),
            })
        })
        .collect();
    let rows: Vec<Vec<Value>> = table.value_rows().map(<[Value]>::to_vec).collect();
    v2_frames(columns, &rows, ids)
}

fn v2_frames(columns: Value, rows: &[Vec<Value>], ids: Ids<'_>) -> Value {
    let now = clock::now();
    json!([
        {"FrameType": "DataSetHeader", "IsProgressive": false, "Version": "v2.0"},
        {
            "FrameType": "DataTable",
            "TableId": 0,
            "TableKind": "PrimaryResult",
            "TableName": "PrimaryResult",
            "Columns": columns,
            "Rows": rows,
        },
        {
            "FrameType": "DataTable",
            "TableId": 1,
            "TableKind": "QueryCompletionInformation",
            "TableName": "QueryCompletionInformation",
            "Columns": [
                {"ColumnName": "Timestamp", "ColumnType": "datetime"},
                {"ColumnName": "ClientRequestId", "ColumnType": "string"},
                {"ColumnName": "ActivityId", "ColumnType": "guid"},
                {"ColumnName": "SubActivityId", "ColumnType": "guid"},
                {"ColumnName": "ParentActivityId", "ColumnType": "guid"},
                {"ColumnName": "Level", "ColumnType": "int"},
                {"ColumnName": "LevelName", "ColumnType": "string"},
                {"ColumnName": "StatusCode", "ColumnType": "int"},
                {"ColumnName": "StatusCodeName", "ColumnType": "string"},
                {"ColumnName": "EventType", "ColumnType": "int"},
                {"ColumnName": "EventTypeName", "ColumnType": "string"},
                {"ColumnName": "Payload", "ColumnType": "string"},
            ],
            "Rows": [[
                now,
                ids.client_request_id,
                ids.activity_id,
                ids.activity_id,
                ids.activity_id,
                4,
                "Info",
                0,
                "S_OK (0)",
                4,
                "QueryInfo",
                json!({"Count": 1, "Text": "Query completed successfully"}).to_string(),
            ]],
        },
        {"FrameType": "DataSetCompletion", "HasErrors": false, "Cancelled": false},
    ])
}

/// The v1 tables of a query result; `dynamic` cells are JSON text in v1.
pub fn v1(result: &ResultTable, ids: Ids<'_>) -> V1Response {
    let names: Vec<(&str, ColumnType)> = result
        .columns
        .iter()
        .map(|(n, t)| (n.as_str(), *t))
        .collect();
    let mut primary = V1Table::new("Table_0", &names);
    for row in &result.rows {
        primary.push(
            row.iter()
                .zip(&result.columns)
                .map(|(cell, (_, ty))| match (ty, cell) {
                    (ColumnType::Dynamic, Value::Null) => Value::Null,
                    (ColumnType::Dynamic, v) => Value::String(v.to_string()),
                    (_, v) => v.clone(),
                })
                .collect(),
        );
    }
    let mut status = V1Table::new(
        "Table_1",
        &[
            ("Timestamp", ColumnType::DateTime),
            ("Severity", ColumnType::Int),
            ("SeverityName", ColumnType::String),
            ("StatusCode", ColumnType::Int),
            ("StatusDescription", ColumnType::String),
            ("Count", ColumnType::Int),
            ("RequestId", ColumnType::Guid),
            ("ActivityId", ColumnType::Guid),
            ("SubActivityId", ColumnType::Guid),
            ("ClientActivityId", ColumnType::String),
        ],
    );
    status.push(vec![
        json!(clock::now()),
        json!(4),
        json!("Info"),
        json!(0),
        json!("Query completed successfully"),
        json!(1),
        json!(ids.activity_id),
        json!(ids.activity_id),
        json!(ids.activity_id),
        json!(ids.client_request_id),
    ]);
    let mut toc = V1Table::new(
        "Table_2",
        &[
            ("Ordinal", ColumnType::Long),
            ("Kind", ColumnType::String),
            ("Name", ColumnType::String),
            ("Id", ColumnType::String),
            ("PrettyName", ColumnType::String),
        ],
    );
    toc.push(vec![
        json!(0),
        json!("QueryResult"),
        json!("PrimaryResult"),
        json!(clock::new_guid()),
        json!(""),
    ]);
    toc.push(vec![
        json!(1),
        json!("QueryStatus"),
        json!("QueryStatus"),
        json!("00000000-0000-0000-0000-000000000000"),
        json!(""),
    ]);
    V1Response {
        tables: vec![primary, status, toc],
        exceptions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> ResultTable {
        ResultTable {
            columns: vec![
                ("Count".into(), ColumnType::Long),
                ("D".into(), ColumnType::Dynamic),
            ],
            rows: vec![vec![json!(3), json!({"a": 1})]],
        }
    }

    const IDS: Ids<'static> = Ids {
        client_request_id: "crid",
        activity_id: "aid",
    };

    #[test]
    fn v2_frames_have_the_documented_order_and_shape() {
        let frames = v2(&result(), IDS);
        let kinds: Vec<&str> = frames
            .as_array()
            .expect("array")
            .iter()
            .map(|f| f["FrameType"].as_str().expect("frame type"))
            .collect();
        assert_eq!(
            kinds,
            [
                "DataSetHeader",
                "DataTable",
                "DataTable",
                "DataSetCompletion"
            ]
        );
        assert_eq!(frames[0]["Version"], "v2.0");
        assert_eq!(frames[1]["TableKind"], "PrimaryResult");
        assert_eq!(
            frames[1]["Columns"],
            json!([{"ColumnName": "Count", "ColumnType": "long"}, {"ColumnName": "D", "ColumnType": "dynamic"}])
        );
        assert_eq!(frames[1]["Rows"], json!([[3, {"a": 1}]]));
        assert_eq!(frames[2]["Rows"][0][1], "crid");
        assert_eq!(frames[3]["HasErrors"], false);
    }

    #[test]
    fn v1_tables_carry_status_and_toc_and_dynamic_as_text() {
        let r = v1(&result(), IDS);
        assert_eq!(r.tables.len(), 3);
        assert_eq!(
            r.tables[0].rows,
            vec![crate::kusto::v1::V1Row::Values(vec![
                json!(3),
                json!("{\"a\":1}")
            ])]
        );
        assert_eq!(
            r.tables[2].column_values("Kind").expect("kind"),
            [&json!("QueryResult"), &json!("QueryStatus")]
        );
    }
}
