//! Rows in the served sandbox, over real HTTP: streaming ingestion (gzip and plain JSON, CSV),
//! `.ingest inline` with tags, queries on `/v2/rest/query` and `/v1/rest/query` with exact
//! values, `.show table T extents`, `.drop extents` by tag, the refusal without a streaming
//! policy, and the error shape of queries outside the subset.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use kustoplan::sandbox::kusto::{ServeConfig, ServerHandle, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DB: &str = "kustoplan";

async fn start(dir: &Path) -> ServerHandle {
    serve(ServeConfig::new(dir, SocketAddr::from(([127, 0, 0, 1], 0))))
        .await
        .expect("serve")
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(server: &ServerHandle) -> Self {
        Client {
            http: reqwest::Client::new(),
            url: server.url(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req
            .header("x-ms-client-request-id", "rows-test;1")
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
        )
    }

    async fn post(&self, path: &str, csl: &str) -> (StatusCode, Value) {
        let req = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&json!({"db": DB, "csl": csl}));
        self.send(req).await
    }

    /// A management command that must succeed; its primary table.
    async fn mgmt(&self, csl: &str) -> Value {
        let (status, body) = self.post("/v1/rest/mgmt", csl).await;
        assert_eq!(status, StatusCode::OK, "{csl}: {body}");
        body["Tables"][0].clone()
    }

    async fn stream(
        &self,
        table: &str,
        query: &str,
        body: Vec<u8>,
        gzip: bool,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}/v1/rest/ingest/{DB}/{table}?{query}", self.url))
            .body(body);
        if gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        self.send(req).await
    }

    /// The PrimaryResult frame of a v2 query that must succeed.
    async fn v2(&self, csl: &str) -> Value {
        let (status, frames) = self.post("/v2/rest/query", csl).await;
        assert_eq!(status, StatusCode::OK, "{csl}: {frames}");
        let frames = frames.as_array().expect("frames");
        assert_eq!(frames[0]["FrameType"], "DataSetHeader", "{csl}");
        assert_eq!(frames[0]["Version"], "v2.0");
        let last = frames.last().expect("last frame");
        assert_eq!(last["FrameType"], "DataSetCompletion");
        assert_eq!(last["HasErrors"], false);
        let primary: Vec<&Value> = frames
            .iter()
            .filter(|f| f["FrameType"] == "DataTable" && f["TableKind"] == "PrimaryResult")
            .collect();
        assert_eq!(primary.len(), 1, "{csl}");
        primary[0].clone()
    }

    /// The first table of a v1 query that must succeed.
    async fn v1(&self, csl: &str) -> Value {
        let (status, body) = self.post("/v1/rest/query", csl).await;
        assert_eq!(status, StatusCode::OK, "{csl}: {body}");
        body["Tables"][0].clone()
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn column_names(table: &Value) -> Vec<String> {
    table["Columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["ColumnName"].as_str().expect("name").to_string())
        .collect()
}

fn column(table: &Value, name: &str) -> Vec<Value> {
    let i = column_names(table)
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {table}"));
    table["Rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[i].clone())
        .collect()
}

/// The error object without its request-specific `@context`.
fn error_of(body: &Value) -> Value {
    let mut e = body["error"].clone();
    e.as_object_mut().expect("error object").remove("@context");
    e
}

#[tokio::test]
async fn streamed_and_inline_rows_are_queried_listed_and_dropped_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let kusto = Client::new(&server);
    kusto
        .mgmt(".create table Events (Id:long, Name:string, At:datetime, Props:dynamic)")
        .await;
    kusto
        .mgmt(
            r#".create table Events ingestion json mapping 'events_json' '[{"column":"Id","Properties":{"Path":"$.id"}},{"column":"Name","Properties":{"Path":"$.user.name"}},{"column":"At","Properties":{"Path":"$.at"}},{"column":"Props","Properties":{"Path":"$.props"}}]'"#,
        )
        .await;
    kusto
        .mgmt(".alter table Events policy streamingingestion enable")
        .await;

    // Gzip JSON (the way Microsoft's SDKs stream), plain MultiJSON, plain CSV.
    let json_lines = b"{\"id\":1,\"user\":{\"name\":\"ann\"},\"at\":\"2024-01-01T00:00:00Z\",\"props\":{\"k\":1}}\n{\"id\":2,\"user\":{\"name\":\"bob\"},\"at\":\"2024-01-02 00:00\",\"props\":{\"k\":2}}\n";
    let (status, body) = kusto
        .stream(
            "Events",
            "streamFormat=Json&mappingName=events_json",
            gzip(json_lines),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"Tables": [{
            "TableName": "Table_0",
            "Columns": [
                {"ColumnName": "ConsumedRecordsCount", "DataType": "Int64", "ColumnType": "long"},
                {"ColumnName": "UpdatePolicyStatus", "DataType": "String", "ColumnType": "string"},
                {"ColumnName": "UpdatePolicyFailureCode", "DataType": "String", "ColumnType": "string"},
                {"ColumnName": "UpdatePolicyFailureReason", "DataType": "String", "ColumnType": "string"}
            ],
            "Rows": [[0, "Inactive", "Unknown", null]]
        }]})
    );
    let (status, body) = kusto
        .stream(
            "Events",
            "streamFormat=MultiJSON&mappingName=events_json",
            br#"[{"id":3,"user":{"name":"cy"},"at":"2024-01-03T00:00:00Z"}]"#.to_vec(),
            false,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = kusto
        .stream(
            "Events",
            "streamFormat=csv",
            b"4,dee,2024-01-04T00:00:00Z,\"{\"\"k\"\":4}\"\n5,eve,2024-01-05T00:00:00Z,\n".to_vec(),
            false,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inline = kusto
        .mgmt(
            ".ingest inline into table Events with (tags='[\"drop-by:batch1\"]') <|\n6,fay,2024-01-06,",
        )
        .await;
    let tagged_extent = inline["Rows"][0][0].clone();

    // Bad data is refused with the documented code and adds nothing.
    let (status, body) = kusto
        .stream("Events", "streamFormat=csv", b"7,gus\n8\n".to_vec(), false)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["code"], "Stream_WrongNumberOfFields",
        "{body}"
    );

    // Counts over v2 and v1.
    let count = kusto.v2("Events | count").await;
    assert_eq!(
        count["Columns"],
        json!([{"ColumnName": "Count", "ColumnType": "long"}])
    );
    assert_eq!(count["Rows"], json!([[6]]));
    assert_eq!(kusto.v1("Events | count").await["Rows"], json!([[6]]));

    // where + take, exact cells (dynamic is JSON in v2, JSON text in v1).
    let bob = kusto.v2("Events | where Name == 'bob' | take 1").await;
    assert_eq!(
        bob["Rows"],
        json!([[2, "bob", "2024-01-02T00:00:00Z", {"k": 2}]])
    );
    assert_eq!(
        kusto.v1("Events | where Name == 'bob' | take 1").await["Rows"],
        json!([[2, "bob", "2024-01-02T00:00:00Z", "{\"k\":2}"]])
    );
    let later = kusto
        .v2("Events | where At >= datetime(2024-01-03) and Id != 5 | take 10")
        .await;
    assert_eq!(column(&later, "Id"), [json!(3), json!(4), json!(6)]);
    assert_eq!(
        column(&later, "Props"),
        [Value::Null, json!({"k": 4}), Value::Null]
    );

    // The extents: one per ingestion, with row counts, tags and creation times.
    let extents = kusto.mgmt(".show table Events extents").await;
    assert_eq!(
        column_names(&extents),
        [
            "ExtentId",
            "DatabaseName",
            "TableName",
            "MaxCreatedOn",
            "OriginalSize",
            "ExtentSize",
            "CompressedSize",
            "IndexSize",
            "Blocks",
            "Segments",
            "ExtentContainerId",
            "RowCount",
            "MinCreatedOn",
            "Tags",
            "Kind",
            "DeletedRowCount"
        ]
    );
    assert_eq!(
        column(&extents, "RowCount"),
        [json!(2), json!(1), json!(2), json!(1)]
    );
    assert_eq!(
        column(&extents, "Tags"),
        [json!(""), json!(""), json!(""), json!("drop-by:batch1")]
    );
    assert_eq!(column(&extents, "ExtentId")[3], tagged_extent);
    assert_eq!(
        column(&extents, "OriginalSize")[0],
        json!(json_lines.len() as f64)
    );
    let latest = column(&extents, "MaxCreatedOn")
        .into_iter()
        .max_by(|a, b| a.as_str().cmp(&b.as_str()))
        .expect("times");

    // summarize over v2 (Kusto's default names) and v1 (aliases).
    let summary = kusto
        .v2("Events | summarize count(), max(ingestion_time())")
        .await;
    assert_eq!(
        summary["Columns"],
        json!([
            {"ColumnName": "count_", "ColumnType": "long"},
            {"ColumnName": "max_$IngestionTime", "ColumnType": "datetime"}
        ])
    );
    assert_eq!(summary["Rows"], json!([[6, latest]]));
    let aliased = kusto
        .v1("Events | summarize n=count(), last=max(ingestion_time())")
        .await;
    assert_eq!(column_names(&aliased), ["n", "last"]);
    assert_eq!(aliased["Rows"], json!([[6, latest]]));
    // A control command on the v2 endpoint comes back as frames too.
    let listed = kusto.v2(".show table Events extents").await;
    assert_eq!(listed["Rows"].as_array().map(Vec::len), Some(4));

    // Drop by tag: the tagged extent goes, and with it its row.
    let dropped = kusto
        .mgmt(".drop extents <| .show table Events extents where tags has 'drop-by:batch1'")
        .await;
    assert_eq!(
        column_names(&dropped),
        ["ExtentId", "TableName", "CreatedOn"]
    );
    assert_eq!(column(&dropped, "ExtentId"), [tagged_extent]);
    assert_eq!(kusto.v2("Events | count").await["Rows"], json!([[5]]));

    // A table without a streaming policy refuses streaming with the real error.
    kusto.mgmt(".create table NoStream (A:long)").await;
    let (status, body) = kusto
        .stream("NoStream", "streamFormat=csv", b"1\n".to_vec(), false)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&body),
        json!({
            "code": "BadRequest_StreamingIngestionPolicyNotEnabled",
            "message": "Request is invalid and cannot be executed.",
            "@type": "Kusto.DataNode.Exceptions.StreamingIngestionPolicyNotEnabledException",
            "@message": "Streaming ingestion policy is not enabled for the table 'NoStream' in database 'kustoplan'; enable it with '.alter table NoStream policy streamingingestion enable' (or on the database).",
            "@permanent": true
        })
    );
    assert_eq!(kusto.v2("NoStream | count").await["Rows"], json!([[0]]));

    // Outside the subset: the service's error shape, never an answer.
    let (status, body) = kusto.post("/v2/rest/query", "Events | project Name").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e = error_of(&body);
    assert_eq!(e["code"], "General_BadRequest");
    assert_eq!(e["message"], "Request is invalid and cannot be executed.");
    assert_eq!(e["@type"], "Kusto.Data.Exceptions.KustoBadRequestException");
    assert_eq!(e["@permanent"], true);
    assert!(
        e["@message"]
            .as_str()
            .expect("message")
            .starts_with("Request is invalid and cannot be processed: the 'project' operator is not supported by the kustoplan sandbox"),
        "{e}"
    );
    let (status, body) = kusto.post("/v1/rest/query", "Nope | count").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e = error_of(&body);
    assert_eq!(e["code"], "General_BadRequest");
    assert_eq!(
        e["@message"],
        "Request is invalid and cannot be processed: Semantic error: SEM0100: 'table' operator: Failed to resolve table expression named 'Nope'"
    );
    assert_eq!(e["innererror"]["code"], "SEM0100");
    assert_eq!(
        e["innererror"]["@type"],
        "Kusto.Data.Exceptions.SemanticException"
    );
    let (status, body) = kusto.post("/v2/rest/query", "Events | where Id ==").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["innererror"]["@type"],
        "Kusto.Data.Exceptions.SyntaxException"
    );
    // Queries are not management commands.
    let (status, _) = kusto.post("/v1/rest/mgmt", "Events | count").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The rows survive a restart.
    server.shutdown().await;
    let server = start(dir.path()).await;
    let kusto = Client::new(&server);
    assert_eq!(kusto.v1("Events | count").await["Rows"], json!([[5]]));
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_needs_a_format_and_rejects_bad_gzip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let kusto = Client::new(&server);
    kusto.mgmt(".create table T (A:long)").await;
    kusto
        .mgmt(".alter table T policy streamingingestion enable")
        .await;
    let (status, body) = kusto.stream("T", "", b"1\n".to_vec(), false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["@message"]
            .as_str()
            .expect("message")
            .contains("'streamFormat'"),
        "{body}"
    );
    let (status, body) = kusto
        .stream("T", "streamFormat=csv", b"not gzip".to_vec(), true)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest_InvalidBlob");
    let (status, body) = kusto
        .stream("Missing", "streamFormat=csv", b"1\n".to_vec(), false)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest_EntityNotFound");
    assert_eq!(kusto.v2("T | count").await["Rows"], json!([[0]]));
    server.shutdown().await;
}
