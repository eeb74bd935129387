//! `kustoplan verify` on the sandbox server with queued ingestion on Azurite, for tables no
//! route writes to: the canary goes through the REST ingestion path (`.get ingestion
//! resources`, `.get kusto identity token`, blob PUT, queue message) with a `drop-by:` tag,
//! becomes queryable after the table's batching time, its latency is reported, and its extent
//! is dropped by tag afterwards: the table holds exactly the rows it held before.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::cli::Run;
use common::sandbox::KustoServer;
use serde_json::{Value, json};

const DB: &str = "verifydb";
const TEST: &str = "verify_sandbox";

async fn kustoplan(args: Vec<String>) -> Run {
    let mut cmd = Command::new(common::kustoplan_bin());
    cmd.args(&args)
        .env_remove("IDENTITY_SERVER_THUMBPRINT")
        .env_remove("IMDS_ENDPOINT");
    let out = common::cli::output_off_runtime(cmd).await;
    Run::from(out)
}

/// A stack of two tables on `cluster`, no Kafka, no routes: Events (string marker column)
/// and Metrics (numbers and a datetime only).
fn stack(dir: &Path, cluster: &str) {
    std::fs::write(
        dir.join("stack.yaml"),
        format!(
            "kind: Stack\nname: verify-{pid}\ntargets:\n  kusto:\n    cluster: {cluster}\n    auth:\n      method: none\n",
            pid = std::process::id()
        ),
    )
    .expect("stack");
    std::fs::write(
        dir.join("kusto.yaml"),
        format!(
            "kind: Database\nname: {DB}\n---\nkind: Table\nname: Events\ndatabase: {DB}\ncolumns:\n  - {{name: Id, type: string}}\n  - {{name: At, type: datetime}}\n  - {{name: Payload, type: dynamic}}\ningestion_batching:\n  max_time: 10s\n  max_items: 500\n  max_raw_size_mb: 100\n---\nkind: Table\nname: Metrics\ndatabase: {DB}\ncolumns:\n  - {{name: Value, type: real}}\n  - {{name: Count, type: long}}\n  - {{name: At, type: datetime}}\ningestion_batching:\n  max_time: 10s\n  max_items: 500\n  max_raw_size_mb: 100\n"
        ),
    )
    .expect("kusto");
}

async fn mgmt(http: &reqwest::Client, url: &str, csl: &str) -> Value {
    let resp = http
        .post(format!("{url}/v1/rest/mgmt"))
        .json(&json!({"db": DB, "csl": csl}))
        .send()
        .await
        .expect("mgmt");
    assert_eq!(resp.status().as_u16(), 200, "{csl}");
    resp.json().await.expect("json")
}

async fn count(http: &reqwest::Client, url: &str, table: &str) -> i64 {
    let body: Value = http
        .post(format!("{url}/v1/rest/query"))
        .json(&json!({"db": DB, "csl": format!("{table} | count")}))
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    body["Tables"][0]["Rows"][0][0].as_i64().expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ingests_a_tagged_canary_per_table_reports_latency_and_drops_it() {
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let server = KustoServer::start_configured(&[DB], |config| {
        config.queued = Some(azurite.account().clone());
    })
    .await;
    let url = server.url();
    let http = reqwest::Client::new();
    let stack_dir = tempfile::tempdir().expect("tempdir");
    stack(stack_dir.path(), &url);
    let path = stack_dir.path().display().to_string();

    let applied = kustoplan(vec!["apply".into(), path.clone(), "--auto-approve".into()]).await;
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    // Rows that are not canaries, which verification must leave alone.
    mgmt(
        &http,
        &url,
        ".ingest inline into table Events <| a,2026-12-05T10:00:00Z,{}",
    )
    .await;
    assert_eq!(count(&http, &url, "Events").await, 1);

    let run = kustoplan(vec![
        "verify".into(),
        path.clone(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json document");
    assert_eq!(doc["format_version"], 1, "{doc}");
    assert_eq!(doc["ok"], true, "{doc}");
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 2, "{doc}");
    for (check, table, marker_column) in [
        (&checks[0], "Events", "Id"),
        (&checks[1], "Metrics", "Count"),
    ] {
        assert_eq!(check["database"], DB);
        assert_eq!(check["table"], table);
        assert_eq!(check["via"], "queued_ingestion", "{check}");
        assert_eq!(
            check["expected_wait"], 10.0,
            "the table's batching time: {check}"
        );
        assert_eq!(check["result"], "verified", "{check}");
        let latency = check["latency_seconds"].as_f64().expect("latency");
        assert!(latency > 0.0, "{check}");
        let marker = check["marker"].as_str().expect("marker");
        assert!(
            marker.starts_with(&format!("{marker_column} == ")),
            "{marker}"
        );
        assert_eq!(check["cleanup"], "removed", "{check}");
        let command = check["cleanup_command"].as_str().expect("command");
        assert!(
            command.starts_with(&format!(
                ".drop extents <| .show table {table} extents where tags has \"drop-by:kustoplan-canary-"
            )),
            "{command}"
        );
    }
    // Progress lines name the wait the batching policy implies.
    assert!(
        run.stderr.contains("expected (batching 10s)")
            || run.stderr.contains("canary queryable after"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("sig="), "no SAS in the report");
    assert!(!run.stderr.contains("sig="), "no SAS in progress lines");

    // No canary remains: only the row that was there before, and no tagged extent.
    assert_eq!(count(&http, &url, "Events").await, 1);
    assert_eq!(count(&http, &url, "Metrics").await, 0);
    for table in ["Events", "Metrics"] {
        let extents = mgmt(
            &http,
            &url,
            &format!(".show table {table} extents where tags contains 'kustoplan-canary'"),
        )
        .await;
        assert_eq!(
            extents["Tables"][0]["Rows"],
            json!([]),
            "{table}: {extents}"
        );
    }

    // The text report says the same for people.
    let text = kustoplan(vec![
        "verify".into(),
        path,
        "--table".into(),
        "Metrics".into(),
        "--color".into(),
        "never".into(),
    ])
    .await;
    assert_eq!(text.code, 0, "{}{}", text.stdout, text.stderr);
    assert!(
        text.stdout
            .contains("✓ verified verifydb.Metrics via queued ingestion: canary queryable after")
            && text.stdout.contains("canary removed; none remains")
            && text
                .stdout
                .contains("Verify: 1 verified, 0 failed, 0 not verified."),
        "{}",
        text.stdout
    );
    assert_eq!(count(&http, &url, "Metrics").await, 0);
    server.shutdown().await;
}

#[test]
fn on_the_built_in_sandbox_verify_says_what_it_cannot_verify_and_why() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = common::cli::gameplay_copy();
    // A table no route writes to, next to the routed GamePlay.
    let kusto_yaml = stack.path().join("kusto.yaml");
    let mut text = std::fs::read_to_string(&kusto_yaml).expect("read");
    text.push_str("---\nkind: Table\nname: Audit\ndatabase: gamedb\ncolumns:\n  - {name: Who, type: string}\n");
    std::fs::write(&kusto_yaml, text).expect("write");
    let path = stack.path().display().to_string();
    let applied = common::cli::kustoplan(sandbox.path(), &["apply", &path, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);

    let run = common::cli::kustoplan(sandbox.path(), &["verify", &path, "--format", "json"]);
    assert_eq!(run.code, 0, "nothing failed: {}{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["ok"], true, "{doc}");
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 2, "{doc}");
    assert_eq!(checks[0]["table"], "GamePlay");
    assert_eq!(checks[0]["via"], "route");
    assert_eq!(checks[0]["result"], "not_verified", "{doc}");
    assert!(
        checks[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("carries no records"),
        "{doc}"
    );
    assert_eq!(checks[0]["cleanup"], "nothing_sent");
    assert_eq!(checks[1]["table"], "Audit");
    assert_eq!(checks[1]["via"], "queued_ingestion");
    assert_eq!(checks[1]["result"], "not_verified", "{doc}");
    assert!(
        checks[1]["reason"]
            .as_str()
            .expect("reason")
            .contains("sandbox serve --ingest"),
        "{doc}"
    );

    // A connector declared paused consumes nothing: its routes are not verified, and why.
    common::cli::edit(
        stack.path(),
        "kafka.yaml",
        "tasks_max: 1\n",
        "tasks_max: 1\nstate: paused\n",
    );
    let paused = common::cli::kustoplan(
        sandbox.path(),
        &[
            "verify",
            &path,
            "--table",
            "gamedb.GamePlay",
            "--format",
            "json",
        ],
    );
    assert_eq!(paused.code, 0, "{}{}", paused.stdout, paused.stderr);
    let doc: Value = serde_json::from_str(&paused.stdout).expect("json");
    assert_eq!(doc["checks"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(
        doc["checks"][0]["reason"], "the connector is declared PAUSED: its tasks consume nothing",
        "{doc}"
    );

    let unknown = common::cli::kustoplan(sandbox.path(), &["verify", &path, "--table", "Nope"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("--table Nope: the stack declares no such table"),
        "{}",
        unknown.stderr
    );
}

/// A canary into a table that update policies copy from would leave copies behind in the
/// tables they feed, where verify can neither find nor remove it: no canary is sent, and the
/// report says why and names the fed tables (the telemetry example routes into
/// DeviceEventsRaw, whose rows its update policy parses into DeviceEvents).
#[test]
fn a_table_that_feeds_update_policies_is_not_sent_a_canary() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = common::repo()
        .join("examples/telemetry")
        .display()
        .to_string();
    let applied = common::cli::kustoplan(sandbox.path(), &["apply", &stack, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let run = common::cli::kustoplan(
        sandbox.path(),
        &[
            "verify",
            &stack,
            "--table",
            "telemetry.DeviceEventsRaw",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 1, "{doc}");
    assert_eq!(checks[0]["table"], "DeviceEventsRaw");
    assert_eq!(checks[0]["result"], "not_verified", "{doc}");
    assert_eq!(checks[0]["cleanup"], "nothing_sent", "{doc}");
    let reason = checks[0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("update policies copy") && reason.contains("`DeviceEvents`"),
        "{reason}"
    );
}
