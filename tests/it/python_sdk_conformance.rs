//! Microsoft's Python SDK (`azure-kusto-data`) against the sandbox's HTTP face, running
//! commands rendered by `kusto::render` and reading them back with exact expectations
//! (`tests/python_sdk/conformance.py`). Needs python3 with venv; skipped loudly without it,
//! except in CI (CI=true). The SDK is installed once into `<target>/py`.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::sandbox::KustoServer;
use kustoplan::kusto::command::TableRole;
use kustoplan::kusto::render::{self, PolicyScope, RoleScope};
use kustoplan::model::{
    BatchingPolicy, ColumnType, MappingKind, PrincipalKind, PrincipalRef, Timespan,
};
use serde_json::json;

const TEST: &str = "python_sdk_conformance";
const DB: &str = "game db";
const TABLE: &str = "Game Play.v1-x";
const MAPPING: &str = "gameplay_json-mapping.v1";

fn python_dir() -> PathBuf {
    common::repo().join("tests").join("python_sdk")
}

/// The venv's python with the pinned SDK (set up once per test binary); `None` when the test
/// should skip.
fn sdk_python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            common::venv::with_requirements("py", &python_dir().join("requirements.txt"), TEST)
                .map(|venv| venv.join("bin").join("python"))
        })
        .clone()
}

fn case() -> serde_json::Value {
    let columns = [
        ("Id", ColumnType::Long),
        ("player name", ColumnType::String),
        ("score.v2-final", ColumnType::Real),
        ("table", ColumnType::Dynamic),
        ("at", ColumnType::DateTime),
    ];
    let mapping = json!([
        {"column": "Id", "Properties": {"Path": "$.id"}},
        {"column": "player name", "datatype": "string", "Properties": {"Path": "$['player \"x\" name']"}},
        {"column": "score.v2-final", "Properties": {"Path": "$.score\\v2"}},
        {"column": "table", "Properties": {"Path": "$.t"}},
        {"column": "at", "Properties": {"Path": "$.at"}}
    ]);
    let policy = BatchingPolicy {
        max_time: Timespan::from_secs(10),
        max_items: 100,
        max_raw_size_mb: 256,
    };
    let table_scope = PolicyScope::Table(TABLE);
    let principal = render::add_principals(
        RoleScope::Table(TABLE, TableRole::Ingestors),
        &[PrincipalRef::new(
            PrincipalKind::App,
            "0000-sink",
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47"),
        )],
        Some("Kafka \"sink\""),
    )
    .to_string();
    json!({
        "database": DB,
        "table": TABLE,
        "setup": [
            render::execute_script(
                &[
                    render::create_table(TABLE, &columns),
                    render::create_or_alter_mapping(TABLE, MappingKind::Json, MAPPING, &mapping).to_string(),
                ],
                false,
            ),
            render::alter_batching_policy(table_scope, &policy).to_string(),
            principal.clone(),
        ],
        "reads": {
            "schema": render::show_database_schema_json(DB),
            "mappings": render::show_table_mappings(TABLE),
            "batching": render::show_batching_policy(table_scope),
            "script": render::show_database_schema_script(DB),
        },
        // Rows through the SDK's streaming ingestion and v2 query parsing, after the checks
        // above (the streaming policy would otherwise show in the schema script).
        "data": {
            "enable": render::alter_streaming_policy(table_scope, true).to_string(),
            "json_lines": concat!(
                r#"{"id":1,"player \"x\" name":"ann","score\\v2":1.5,"t":{"k":1},"at":"2024-01-01T00:00:00Z"}"#,
                "\n",
                r#"{"id":2,"player \"x\" name":"bob","score\\v2":2.5,"t":{"k":2},"at":"2024-01-02 00:00"}"#,
                "\n",
            ),
            "mapping": MAPPING,
            "count": 2,
            "where": "where Id == 2 | take 1",
            "row": {
                "Id": 2,
                "player name": "bob",
                "score.v2-final": 2.5,
                "table": {"k": 2},
                "at": "2024-01-02T00:00:00+00:00",
            },
            "unsupported": "project Id",
        },
        "expect": {
            "columns": columns.iter().map(|(n, t)| json!([n, t.as_kql()])).collect::<Vec<_>>(),
            "mapping": {
                "Name": MAPPING,
                "Kind": "JSON",
                // The stored form documented for create-or-alter: keys in ordinal order,
                // datatype defaulted to "".
                "Mapping": [
                    {"Properties": {"Path": "$.id"}, "column": "Id", "datatype": ""},
                    {"Properties": {"Path": "$['player \"x\" name']"}, "column": "player name", "datatype": "string"},
                    {"Properties": {"Path": "$.score\\v2"}, "column": "score.v2-final", "datatype": ""},
                    {"Properties": {"Path": "$.t"}, "column": "table", "datatype": ""},
                    {"Properties": {"Path": "$.at"}, "column": "at", "datatype": ""}
                ],
            },
            "batching": policy.to_json(),
            // Observe's read of the schema script: no mappings, one command per row.
            "script": [
                render::create_merge_table(TABLE, &columns),
                render::alter_batching_policy(table_scope, &policy).to_string(),
                principal,
            ],
        },
    })
}

/// Runs conformance.py on `case` against a fresh sandbox; `None` when skipped.
async fn run_case(case: serde_json::Value) -> Option<(bool, String)> {
    let python = tokio::task::spawn_blocking(sdk_python)
        .await
        .expect("setup task")?;
    let server = KustoServer::start(&[DB]).await;
    let case_file = server.dir().join("case.json");
    std::fs::write(&case_file, case.to_string()).expect("write case");

    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        common::run(
            Command::new(python)
                .arg(python_dir().join("conformance.py"))
                .arg(url)
                .arg(case_file),
        )
    })
    .await
    .expect("python task");
    server.shutdown().await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    Some((out.status.success(), text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_reads_back_what_render_wrote() {
    let Some((ok, text)) = run_case(case()).await else {
        return;
    };
    assert!(ok, "conformance.py failed:\n{text}");
    assert!(text.contains("python-sdk: conformance passed"), "{text}");
}

/// The script is a real check: a wrong expectation makes it fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_check_fails_on_a_mismatch() {
    let mut wrong = case();
    wrong["expect"]["batching"]["MaximumNumberOfItems"] = json!(101);
    let Some((ok, text)) = run_case(wrong).await else {
        return;
    };
    assert!(!ok, "conformance.py passed a wrong expectation:\n{text}");
    assert!(text.contains("FAIL batching policy"), "{text}");
}

/// Microsoft's Python ingest SDK (`QueuedIngestClient`), unchanged, queues a file and a stream
/// into the sandbox with queued ingestion on Azurite; azure-kusto-data reads the rows back
/// (`tests/python_sdk/queued.py`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ingest_sdk_queues_rows_into_the_sandbox() {
    let Some(python) = tokio::task::spawn_blocking(sdk_python)
        .await
        .expect("setup task")
    else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let server = KustoServer::start_configured(&[DB], |config| {
        config.queued = Some(azurite.account().clone());
    })
    .await;
    let (url, work) = (server.url(), server.dir().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        common::run(
            Command::new(python)
                .arg(python_dir().join("queued.py"))
                .arg(url)
                .arg(DB)
                .arg(work),
        )
    })
    .await
    .expect("python task");
    server.shutdown().await;
    drop(azurite);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "queued.py failed:\n{text}");
    assert!(
        text.contains("python-sdk: queued ingestion passed"),
        "{text}"
    );
}
