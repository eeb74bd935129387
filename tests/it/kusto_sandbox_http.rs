//! The Kusto sandbox over real HTTP: the server runs in-process on 127.0.0.1:0 and tests
//! talk to it with reqwest, asserting exact results and exact error bodies.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use kustoplan::sandbox::kusto::{
    AuthConfig, Faults, KustoSandbox, RequestStats, ServeConfig, ServerHandle, serve,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DB: &str = "kustoplan";

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn start(dir: &Path) -> ServerHandle {
    serve(ServeConfig::new(dir, loopback()))
        .await
        .expect("serve")
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    /// Column names of the primary table.
    fn columns(&self) -> Vec<&str> {
        self.body["Tables"][0]["Columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["ColumnName"].as_str().expect("name"))
            .collect()
    }

    /// Rows of the primary table.
    fn rows(&self) -> Vec<Vec<Value>> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.body["Tables"][0]["Rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r.as_array().expect("row").clone())
            .collect()
    }

    /// One cell of the only row, parsed as JSON (policy/schema/mapping cells are JSON text).
    fn json_cell(&self, row: usize, column: &str) -> Value {
        let idx = self
            .columns()
            .iter()
            .position(|c| *c == column)
            .expect("column");
        let text = self.rows()[row][idx]
            .as_str()
            .expect("string cell")
            .to_string();
        serde_json::from_str(&text).expect("cell json")
    }

    /// The error object without its request-specific `@context`.
    fn error(&self) -> Value {
        let mut e = self.body["error"].clone();
        e.as_object_mut().expect("error object").remove("@context");
        e
    }
}

struct Kusto {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Kusto {
    fn new(server: &ServerHandle) -> Self {
        Kusto {
            http: reqwest::Client::new(),
            url: server.url(),
            token: None,
        }
    }

    fn with_token(server: &ServerHandle, token: &str) -> Self {
        Kusto {
            token: Some(token.into()),
            ..Kusto::new(server)
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Reply, reqwest::Error> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("x-ms-client-request-id", "kp-test;1")
            .json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn mgmt(&self, csl: &str) -> Reply {
        self.post("/v1/rest/mgmt", json!({"db": DB, "csl": csl}))
            .await
            .expect("request")
    }

    async fn ok(&self, csl: &str) -> Reply {
        let r = self.mgmt(csl).await;
        assert_eq!(r.status, StatusCode::OK, "{csl}: {}", r.body);
        r
    }
}

fn bad_request(type_name: &str, message: &str) -> Value {
    json!({
        "code": "BadRequest",
        "message": "Request is invalid and cannot be executed.",
        "@type": type_name,
        "@message": message,
        "@permanent": true,
    })
}

fn schema_of(reply: &Reply) -> Value {
    reply.json_cell(0, "DatabaseSchema")["Databases"][DB]["Tables"].clone()
}

#[tokio::test]
async fn create_table_twice_is_a_noop_and_schema_shows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let r = k
        .ok(".create table GamePlay (PlayerId: int32, Ts: datetime) with (docstring='plays', folder='kp')")
        .await;
    assert_eq!(
        r.columns(),
        ["TableName", "Schema", "DatabaseName", "Folder", "DocString"]
    );
    let expected_schema = json!({"Name":"GamePlay","OrderedColumns":[
        {"Name":"PlayerId","Type":"System.Int32","CslType":"int"},
        {"Name":"Ts","Type":"System.DateTime","CslType":"datetime"}]});
    assert_eq!(r.json_cell(0, "Schema"), expected_schema);
    assert_eq!(r.rows()[0][2..], [json!(DB), json!("kp"), json!("plays")]);

    // Different columns and properties: success, nothing changes.
    let again = k
        .ok(".create table GamePlay (Other: string) with (docstring='x')")
        .await;
    assert_eq!(again.json_cell(0, "Schema"), expected_schema);
    assert_eq!(again.rows()[0][4], json!("plays"));

    let schema = k.ok(".show database kustoplan schema as json").await;
    assert_eq!(schema.columns(), ["DatabaseSchema"]);
    assert_eq!(
        schema_of(&schema),
        json!({"GamePlay": {
            "Name": "GamePlay",
            "OrderedColumns": [
                {"Name":"PlayerId","Type":"System.Int32","CslType":"int"},
                {"Name":"Ts","Type":"System.DateTime","CslType":"datetime"}],
            "EntityType": "Table",
            "Folder": "kp",
            "DocString": "plays"}})
    );
}

#[tokio::test]
async fn create_merge_alter_and_alter_merge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    k.ok(".create table T (a:int, b:string)").await;
    let merged = k.ok(".create-merge table T (b:string, c:long)").await;
    let cols = |r: &Reply| -> Vec<(String, String)> {
        r.json_cell(0, "Schema")["OrderedColumns"]
            .as_array()
            .expect("cols")
            .iter()
            .map(|c| {
                (
                    c["Name"].as_str().expect("n").into(),
                    c["CslType"].as_str().expect("t").into(),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
    };
    assert_eq!(
        cols(&merged),
        pairs(&[("a", "int"), ("b", "string"), ("c", "long")])
    );

    let retype = k.mgmt(".create-merge table T (a:string)").await;
    assert_eq!(retype.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        retype.error(),
        bad_request(
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "Column 'a' already exists in table 'T' with type 'int'; changing it to 'string' requires '.alter column'."
        )
    );

    let altered = k.ok(".alter table T (c:long, d:real)").await;
    assert_eq!(cols(&altered), pairs(&[("c", "long"), ("d", "real")]));
    let am = k.ok(".alter-merge table T (e:dynamic, c:long)").await;
    assert_eq!(
        cols(&am),
        pairs(&[("c", "long"), ("d", "real"), ("e", "dynamic")])
    );

    let missing = k.mgmt(".alter table Nope (a:int)").await;
    assert_eq!(
        missing.error(),
        json!({
            "code": "BadRequest_EntityNotFound",
            "message": "Request is invalid and cannot be executed.",
            "@type": "Kusto.Data.Exceptions.EntityNotFoundException",
            "@message": "Entity ID 'Nope' of kind 'Table' was not found.",
            "@permanent": true,
        })
    );

    let dropped = k.ok(".drop column T.d").await;
    assert_eq!(cols(&dropped), pairs(&[("c", "long"), ("e", "dynamic")]));
    k.ok(".alter table T docstring 'doc'").await;
    let folder = k.ok(".alter table T folder @'A\\B'").await;
    assert_eq!(
        folder.rows(),
        [vec![json!("T"), json!(DB), json!("A\\B"), json!("doc")]]
    );
    let dropped = k.ok(".drop table T").await;
    assert_eq!(dropped.columns(), ["TableName", "DatabaseName"]);
    assert!(dropped.rows().is_empty());
    k.ok(".drop table T ifexists").await;
    assert_eq!(
        k.mgmt(".drop table T").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn alter_column_changes_type_and_records_nulled_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    k.ok(".create table T (a:int, b:string)").await;
    let r = k.ok(".alter column T.a type=long").await;
    assert_eq!(
        r.json_cell(0, "Schema")["OrderedColumns"][0],
        json!({"Name":"a","Type":"System.Int64","CslType":"long"})
    );
    let state = server.sandbox().state();
    let table = &state.databases[DB].tables["T"];
    assert!(table.columns[0].data_nulled);
    assert!(!table.columns[1].data_nulled);
}

#[tokio::test]
async fn mappings_create_alter_drop_show() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    k.ok(".create table GamePlay (PlayerId:int, Ts:datetime)")
        .await;
    let created = k
        .ok(".create table GamePlay ingestion json mapping 'gameplay_json_mapping'\n'['\n'{\"column\":\"PlayerId\",\"Properties\":{\"Path\":\"$.player\"}},'\n'{\"Column\":\"Ts\",\"DataType\":\"datetime\",\"Properties\":{\"Path\":\"$.ts\"}}'\n']'")
        .await;
    assert_eq!(
        created.columns(),
        [
            "Name",
            "Kind",
            "Mapping",
            "LastUpdatedOn",
            "Database",
            "Table"
        ]
    );
    let row = &created.rows()[0];
    assert_eq!(row[0], json!("gameplay_json_mapping"));
    assert_eq!(row[1], json!("JSON"));
    assert_eq!(
        row[2],
        json!(
            r#"[{"Properties":{"Path":"$.player"},"column":"PlayerId","datatype":""},{"Properties":{"Path":"$.ts"},"column":"Ts","datatype":"datetime"}]"#
        )
    );
    assert_eq!(row[4..], [json!(DB), json!("GamePlay")]);

    let dup = k.mgmt(".create table GamePlay ingestion json mapping 'gameplay_json_mapping' '[{\"column\":\"Ts\"}]'").await;
    assert_eq!(
        dup.error(),
        json!({
            "code": "BadRequest_EntityAlreadyExists",
            "message": "Request is invalid and cannot be executed.",
            "@type": "Kusto.Data.Exceptions.EntityAlreadyExistsException",
            "@message": "Entity 'gameplay_json_mapping' of kind 'IngestionMapping' already exists.",
            "@permanent": true,
        })
    );
    let bad_col = k.mgmt(".create-or-alter table GamePlay ingestion json mapping 'm2' '[{\"column\":\"Nope\",\"Properties\":{\"Path\":\"$.n\"}}]'").await;
    assert_eq!(
        bad_col.error(),
        bad_request(
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "Ingestion mapping 'm2' of kind 'JSON' is invalid: column 'Nope' does not exist in table 'GamePlay' and has no datatype."
        )
    );
    let altered = k
        .ok(".alter table GamePlay ingestion json mapping 'gameplay_json_mapping' ```[{\"column\":\"Ts\",\"Properties\":{\"Path\":\"$.time\"}}]```")
        .await;
    assert_eq!(
        altered.rows()[0][2],
        json!(r#"[{"Properties":{"Path":"$.time"},"column":"Ts","datatype":""}]"#)
    );
    let missing_alter = k
        .mgmt(".alter table GamePlay ingestion csv mapping 'nope' '[{\"column\":\"Ts\"}]'")
        .await;
    assert_eq!(
        missing_alter.error()["code"],
        json!("BadRequest_EntityNotFound")
    );

    k.ok(".create-or-alter database kustoplan ingestion csv mapping 'db_csv' '[{\"column\":\"x\",\"Properties\":{\"Ordinal\":\"0\"}}]'")
        .await;
    let all = k.ok(".show database kustoplan ingestion mappings").await;
    let summary: Vec<(Value, Value, Value)> = all
        .rows()
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[5].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!("db_csv"), json!("CSV"), json!("")),
            (
                json!("gameplay_json_mapping"),
                json!("JSON"),
                json!("GamePlay")
            ),
        ]
    );
    let table_only = k.ok(".show table GamePlay ingestion json mappings").await;
    assert_eq!(table_only.rows().len(), 1);

    let after_drop = k
        .ok(".drop table GamePlay ingestion json mapping 'gameplay_json_mapping'")
        .await;
    assert!(after_drop.rows().is_empty());
    assert!(
        k.ok(".show table GamePlay ingestion mappings")
            .await
            .rows()
            .is_empty()
    );
    let again = k
        .mgmt(".drop table GamePlay ingestion json mapping 'gameplay_json_mapping'")
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batching_alter_resets_alter_merge_keeps_and_show_star_is_one_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    k.ok(".create table A (x:int)").await;
    k.ok(".create table B (x:int)").await;
    let set = k
        .ok(".alter table A policy ingestionbatching @'{\"MaximumBatchingTimeSpan\":\"00:00:30\",\"MaximumNumberOfItems\":20,\"MaximumRawDataSizeMB\":300}'")
        .await;
    assert_eq!(
        set.columns(),
        [
            "PolicyName",
            "EntityName",
            "Policy",
            "ChildEntities",
            "EntityType"
        ]
    );
    assert_eq!(
        set.rows()[0],
        [
            json!("IngestionBatchingPolicy"),
            json!("[kustoplan].[A]"),
            json!(
                r#"{"MaximumBatchingTimeSpan":"00:00:30","MaximumNumberOfItems":20,"MaximumRawDataSizeMB":300}"#
            ),
            json!(""),
            json!("Table")
        ]
    );
    let merged = k
        .ok(".alter-merge table A policy ingestionbatching '{\"MaximumNumberOfItems\":50}'")
        .await;
    assert_eq!(
        merged.json_cell(0, "Policy"),
        json!({"MaximumBatchingTimeSpan":"00:00:30","MaximumNumberOfItems":50,"MaximumRawDataSizeMB":300})
    );
    let reset = k
        .ok(".alter table A policy ingestionbatching '{\"MaximumNumberOfItems\":60}'")
        .await;
    assert_eq!(
        reset.json_cell(0, "Policy"),
        json!({"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":60,"MaximumRawDataSizeMB":1024})
    );

    let before = server.stats();
    let all = k.ok(".show table * policy ingestionbatching").await;
    assert_eq!(server.stats().mgmt - before.mgmt, 1);
    let rows: Vec<(Value, Value)> = all
        .rows()
        .iter()
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                json!("[kustoplan].[A]"),
                json!(
                    r#"{"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":60,"MaximumRawDataSizeMB":1024}"#
                )
            ),
            (json!("[kustoplan].[B]"), json!("null")),
        ]
    );

    let out_of_range = k
        .mgmt(
            ".alter table B policy ingestionbatching '{\"MaximumBatchingTimeSpan\":\"00:00:05\"}'",
        )
        .await;
    assert_eq!(out_of_range.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        out_of_range.error(),
        bad_request(
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "Invalid IngestionBatching policy: MaximumBatchingTimeSpan must be between 00:00:10 and 00:30:00, got 00:00:05."
        )
    );

    k.ok(".delete table A policy ingestionbatching").await;
    assert_eq!(
        k.ok(".show table A policy ingestionbatching").await.rows()[0][2],
        json!("null")
    );

    let db = k
        .ok(".alter database kustoplan policy ingestionbatching '{\"MaximumRawDataSizeMB\":200}'")
        .await;
    assert_eq!(
        db.rows()[0],
        [
            json!("IngestionBatchingPolicy"),
            json!("[kustoplan]"),
            json!(
                r#"{"MaximumBatchingTimeSpan":"00:05:00","MaximumNumberOfItems":500,"MaximumRawDataSizeMB":200}"#
            ),
            json!(r#"["A","B"]"#),
            json!("Database")
        ]
    );
    k.ok(".delete database kustoplan policy ingestionbatching")
        .await;
    assert_eq!(
        k.ok(".show database kustoplan policy ingestionbatching")
            .await
            .rows()[0][2],
        json!("null")
    );

    let streaming = k
        .ok(".alter table B policy streamingingestion '{\"IsEnabled\": true}'")
        .await;
    assert_eq!(streaming.rows()[0][0], json!("StreamingIngestionPolicy"));
    assert_eq!(
        streaming.json_cell(0, "Policy"),
        json!({"IsEnabled":true,"HintAllocatedRate":null})
    );
}

/// The FQN the sandbox lists for a principal granted as `fqn` (users by object id, tenants by id).
fn listed(fqn: &str) -> String {
    kustoplan::sandbox::kusto::resolved_fqn(fqn).expect("valid principal")
}

#[tokio::test]
async fn principals_add_drop_set_show_with_notes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let added = k
        .ok(".add database kustoplan admins ('aadapp=11111111-2222-3333-4444-555555555555;contoso.com') 'AAD App'")
        .await;
    assert_eq!(
        added.columns(),
        [
            "Role",
            "PrincipalType",
            "PrincipalDisplayName",
            "PrincipalObjectId",
            "PrincipalFQN",
            "Notes",
            "RoleAssignmentIdentifier"
        ]
    );
    let row = &added.rows()[0];
    assert_eq!(
        row[..6],
        [
            json!("Database kustoplan Admin"),
            json!("AAD Application"),
            json!("app (app id: 11111111-2222-3333-4444-555555555555)"),
            row[3].clone(),
            json!(listed(
                "aadapp=11111111-2222-3333-4444-555555555555;contoso.com"
            )),
            json!("AAD App")
        ]
    );
    assert_eq!(
        row[3].as_str().map(str::len),
        Some(36),
        "a service principal object id"
    );
    assert_eq!(row[6].as_str().map(str::len), Some(36));

    k.ok(".add database kustoplan viewers ('aaduser=ann@contoso.com', 'aaduser=bob@contoso.com') 'readers'").await;
    k.ok(".drop database kustoplan viewers ('aaduser=ANN@contoso.com')")
        .await;
    let shown = k.ok(".show database kustoplan principals").await;
    let summary = |r: &Reply| -> Vec<(Value, Value, Value)> {
        r.rows()
            .iter()
            .map(|r| (r[0].clone(), r[4].clone(), r[5].clone()))
            .collect()
    };
    assert_eq!(
        summary(&shown),
        [
            (
                json!("Database kustoplan Admin"),
                json!(listed(
                    "aadapp=11111111-2222-3333-4444-555555555555;contoso.com"
                )),
                json!("AAD App")
            ),
            (
                json!("Database kustoplan Viewer"),
                json!(listed("aaduser=bob@contoso.com")),
                json!("readers")
            ),
        ]
    );
    let set = k
        .ok(".set database kustoplan viewers ('aaduser=carl@contoso.com') 'new'")
        .await;
    assert_eq!(
        summary(&set)[1],
        (
            json!("Database kustoplan Viewer"),
            json!(listed("aaduser=carl@contoso.com")),
            json!("new")
        )
    );
    assert_eq!(set.rows().len(), 2);
    let cleared = k
        .ok(".set database kustoplan viewers none skip-results")
        .await;
    assert!(cleared.rows().is_empty());
    assert_eq!(
        k.ok(".show database kustoplan principals")
            .await
            .rows()
            .len(),
        1
    );

    let bad = k
        .mgmt(".add database kustoplan admins ('bob@contoso.com')")
        .await;
    assert_eq!(
        bad.error(),
        bad_request(
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "The principal 'bob@contoso.com' is not in a supported format (aaduser=, aadapp=, aadgroup= or msauser=)."
        )
    );

    k.ok(".create table T (a:int)").await;
    k.ok(".add table T ingestors ('aadgroup=ingest@contoso.com') 'pipeline'")
        .await;
    let table = k.ok(".show table T principals").await;
    assert_eq!(
        summary(&table),
        [(
            json!("Table T Ingestor"),
            json!(listed("aadgroup=ingest@contoso.com")),
            json!("pipeline")
        )]
    );
    assert_eq!(table.rows()[0][1], json!("AAD Group"));
}

#[tokio::test]
async fn execute_script_stops_at_first_failure_and_keeps_earlier_effects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let script = ".execute database script with (ContinueOnErrors=false) <|\n\
        .create table A (x:int)\n\
        // comment between commands\n\
        .alter table Missing policy ingestionbatching '{}'\n\
        .create table C (x:int)";
    let r = k.ok(script).await;
    assert_eq!(
        r.columns(),
        [
            "OperationId",
            "CommandType",
            "CommandText",
            "Result",
            "Reason"
        ]
    );
    let rows: Vec<Vec<Value>> = r.rows().into_iter().map(|row| row[1..].to_vec()).collect();
    assert_eq!(
        rows,
        [
            vec![
                json!("TableCreate"),
                json!(".create table A (x:int)"),
                json!("Completed"),
                json!("")
            ],
            vec![
                json!("IngestionBatchingPolicyAlter"),
                json!(".alter table Missing policy ingestionbatching '{}'"),
                json!("Failed"),
                json!("Entity ID 'Missing' of kind 'Table' was not found.")
            ],
            vec![
                json!("TableCreate"),
                json!(".create table C (x:int)"),
                json!("Skipped"),
                json!("Not executed: a previous command failed and ContinueOnErrors is false.")
            ],
        ]
    );
    let tables: Vec<String> = server.sandbox().state().databases[DB]
        .tables
        .keys()
        .cloned()
        .collect();
    assert_eq!(tables, ["A"]);

    let cont = k
        .ok(".execute database script with (ContinueOnErrors=true) <|\n.drop table Missing\n.create table C (x:int)\n.show version")
        .await;
    let results: Vec<Value> = cont.rows().iter().map(|r| r[3].clone()).collect();
    assert_eq!(
        results,
        [json!("Failed"), json!("Completed"), json!("Skipped")]
    );

    let throw = k.mgmt(".execute database script with (ThrowOnErrors=true) <|\n.create table D (x:int)\n.drop table Missing").await;
    assert_eq!(throw.error()["code"], json!("BadRequest_EntityNotFound"));
    assert!(
        server.sandbox().state().databases[DB]
            .tables
            .contains_key("D")
    );
}

#[tokio::test]
async fn state_survives_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    k.ok(".create table T (a:int)").await;
    k.ok(".alter table T policy ingestionbatching '{\"MaximumNumberOfItems\":42}'")
        .await;
    k.ok(".add database kustoplan admins ('aaduser=a@b.c') 'n'")
        .await;
    let before = k.ok(".show database kustoplan schema as json").await;
    server.shutdown().await;
    assert!(dir.path().join("kusto-state.json").is_file());

    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let after = k.ok(".show database kustoplan schema as json").await;
    assert_eq!(schema_of(&after), schema_of(&before));
    assert_eq!(
        k.ok(".show table T policy ingestionbatching")
            .await
            .json_cell(0, "Policy")["MaximumNumberOfItems"],
        json!(42)
    );
    assert_eq!(
        k.ok(".show database kustoplan principals").await.rows()[0][4],
        json!(listed("aaduser=a@b.c"))
    );
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let set = k
        .http
        .post(format!("{}/sandbox/faults", server.url()))
        .json(&json!({"throttle_next": 2, "retry_after_secs": 3}))
        .send()
        .await
        .expect("faults");
    assert_eq!(set.status(), StatusCode::OK);
    for _ in 0..2 {
        let r = k.mgmt(".show version").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers["retry-after"], "3");
        assert_eq!(
            r.error(),
            json!({
                "code": "TooManyRequests",
                "message": "Request is denied due to throttling.",
                "@type": "Kusto.DataNode.Exceptions.ControlCommandThrottledException",
                "@message": "The control command was aborted due to throttling. Retrying after some backoff might succeed.",
                "@permanent": false,
            })
        );
    }
    assert_eq!(
        k.ok(".show version").await.columns(),
        ["BuildVersion", "BuildTime", "ServiceType", "ProductVersion"]
    );
    assert_eq!(server.faults().throttle_next, 0);
}

#[tokio::test]
async fn unavailable_answers_503() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    server.set_faults(Faults {
        unavailable_next: 1,
        ..Faults::default()
    });
    let k = Kusto::new(&server);
    let r = k.mgmt(".create table T (a:int)").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.error(),
        json!({
            "code": "ServiceUnavailable",
            "message": "Service is unavailable.",
            "@type": "Kusto.Common.Svc.Exceptions.ServiceUnavailableException",
            "@message": "The service is temporarily unavailable. Retrying after some backoff might succeed.",
            "@permanent": false,
        })
    );
    assert!(server.sandbox().state().databases[DB].tables.is_empty());
    k.ok(".create table T (a:int)").await;
}

#[tokio::test]
async fn connection_drop_mid_script_keeps_first_k_effects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    server.set_faults(Faults {
        drop_script_after: Some(2),
        ..Faults::default()
    });
    let k = Kusto::new(&server);
    // Not a script: runs normally and leaves the fault armed.
    k.ok(".show version").await;
    let err = k
        .post(
            "/v1/rest/mgmt",
            json!({"db": DB, "csl": ".execute database script <|\n.create table A (x:int)\n.create table B (x:int)\n.create table C (x:int)"}),
        )
        .await
        .err()
        .expect("the connection must close without a response");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    let tables: Vec<String> = server.sandbox().state().databases[DB]
        .tables
        .keys()
        .cloned()
        .collect();
    assert_eq!(tables, ["A", "B"]);
    assert_eq!(server.faults().drop_script_after, None);
    // Persisted too, not just in memory: the files, read as a new process would, hold it.
    let persisted = KustoSandbox::open(dir.path(), &[]).expect("reopen the files");
    let tables: Vec<String> = persisted.state().databases[DB]
        .tables
        .keys()
        .cloned()
        .collect();
    assert_eq!(tables, ["A", "B"]);
    let r = k
        .ok(".execute database script <|\n.create table C (x:int)")
        .await;
    assert_eq!(r.rows()[0][3], json!("Completed"));
}

#[tokio::test]
async fn unknown_command_is_a_syntax_error_and_ids_are_echoed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let r = k.mgmt(".create tabel T (a:int)").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.error(),
        bad_request(
            "Kusto.Data.Exceptions.SyntaxException",
            "Syntax error: SYN0002: expected one of 'table', 'database' but found 'tabel' [line:position=1:8]"
        )
    );
    assert_eq!(r.headers["x-ms-client-request-id"], "kp-test;1");
    assert_eq!(
        r.body["error"]["@context"]["clientRequestId"],
        json!("kp-test;1")
    );
    let activity = r.headers["x-ms-activity-id"].to_str().expect("ascii");
    assert_eq!(r.body["error"]["@context"]["activityId"], json!(activity));
    assert_eq!(activity.len(), 36);
    let unknown = k.mgmt(".purge table T records").await;
    assert_eq!(
        unknown.error()["@message"],
        json!(
            "Syntax error: SYN0002: unknown or unsupported control command '.purge' [line:position=1:0]"
        )
    );
}

#[tokio::test]
async fn missing_database_is_404() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    let r = k
        .post(
            "/v1/rest/mgmt",
            json!({"db": "Nope", "csl": ".create table T (a:int)"}),
        )
        .await
        .expect("request");
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.error(),
        json!({
            "code": "NotFound",
            "message": "Entity name 'Nope' of kind 'Database' does not exist.",
            "@type": "Kusto.Common.Svc.Exceptions.EntityNameDoesNotExistException",
            "@message": "Entity name 'Nope' of kind 'Database' does not exist.",
            "@permanent": true,
        })
    );
    let dbs = k.ok(".show databases").await;
    assert_eq!(
        dbs.rows().iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        [json!(DB)]
    );
}

#[tokio::test]
async fn roles_are_enforced_with_bearer_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = AuthConfig {
        tokens: BTreeMap::from([
            (
                "root-token".to_string(),
                "aaduser=root@contoso.com".to_string(),
            ),
            (
                "app-token".to_string(),
                "aadapp=app1;contoso.com".to_string(),
            ),
        ]),
        cluster_admins: vec!["aaduser=root@contoso.com".into()],
    };
    let config = ServeConfig {
        auth: Some(auth),
        ..ServeConfig::new(dir.path(), loopback())
    };
    let server = serve(config).await.expect("serve");
    let app = Kusto::with_token(&server, "app-token");
    let root = Kusto::with_token(&server, "root-token");

    let denied = app.mgmt(".create table T (a:int)").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.error(),
        json!({
            "code": "Forbidden",
            "message": "Caller is not authorized to perform this action",
            "@type": "Kusto.DataNode.Exceptions.UnauthorizedDatabaseAccessException",
            "@message": "Principal 'aadapp=app1;contoso.com' is not authorized to write database 'kustoplan'.",
            "@permanent": true,
        })
    );
    assert_eq!(
        app.mgmt(".show database kustoplan principals").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.ok(".show version").await.rows().len(), 1);
    assert_eq!(app.ok(".show databases").await.rows().len(), 1);

    let anonymous = Kusto::new(&server).mgmt(".show version").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");

    root.ok(".add database kustoplan admins ('aadapp=APP1;contoso.com') 'ci'")
        .await;
    app.ok(".create table T (a:int)").await;
    let script = app
        .ok(".execute database script <|\n.create table U (a:int)")
        .await;
    assert_eq!(script.rows()[0][3], json!("Completed"));
}

#[tokio::test]
async fn properties_string_or_object_and_query_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    for properties in [
        json!("{\"Options\":{\"servertimeout\":\"00:01:00\"}}"),
        json!({"Options": {"servertimeout": "00:01:00"}}),
        Value::Null,
    ] {
        let r = k
            .post(
                "/v1/rest/mgmt",
                json!({"db": DB, "csl": ".show version", "properties": properties}),
            )
            .await
            .expect("request");
        assert_eq!(r.status, StatusCode::OK, "{properties}");
    }
    let bad = k
        .post(
            "/v1/rest/mgmt",
            json!({"db": DB, "csl": ".show version", "properties": 3}),
        )
        .await
        .expect("request");
    assert_eq!(
        bad.error(),
        bad_request(
            "Kusto.Data.Exceptions.KustoBadRequestException",
            "The request 'properties' must be a JSON object or a JSON string."
        )
    );

    let shown = k
        .post(
            "/v1/rest/query",
            json!({"db": DB, "csl": ".show databases"}),
        )
        .await
        .expect("request");
    assert_eq!(shown.rows()[0][0], json!(DB));
    let write = k
        .post(
            "/v1/rest/query",
            json!({"db": DB, "csl": ".create table T (a:int)"}),
        )
        .await
        .expect("request");
    assert_eq!(write.status, StatusCode::BAD_REQUEST);
    assert!(server.sandbox().state().databases[DB].tables.is_empty());
}

#[tokio::test]
async fn request_counters_in_process_and_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path()).await;
    let k = Kusto::new(&server);
    k.ok(".show version").await;
    k.ok(".show databases").await;
    k.post("/v1/rest/query", json!({"db": DB, "csl": ".show tables"}))
        .await
        .expect("query");
    let expected = RequestStats {
        mgmt: 2,
        query: 1,
        in_flight: 0,
        max_in_flight: 1,
    };
    assert_eq!(server.stats(), expected);
    let over_http: RequestStats = k
        .http
        .get(format!("{}/sandbox/stats", server.url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(over_http, expected);
}
