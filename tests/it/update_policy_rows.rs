//! Update policies move rows: the telemetry example applied by the CLI to the sandbox server,
//! then raw JSON events ingested into `DeviceEventsRaw` land in `DeviceEvents` parsed by
//! `ParseDeviceEvents()`, typed as the table declares, and only the new rows each time.

use crate::common;

use common::sandbox::KustoServer;
use kustoplan::sandbox::kusto::Caller;
use serde_json::{Value, json};

const DB: &str = "telemetry";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_events_land_parsed_in_device_events() {
    let server = KustoServer::start(&[DB]).await;
    let local = tempfile::tempdir().expect("tempdir");
    let args = [
        "apply".to_string(),
        "examples/telemetry".to_string(),
        "--auto-approve".to_string(),
        "--var".to_string(),
        format!("kusto_cluster={}", server.url()),
    ];
    let local_dir = local.path().to_path_buf();
    let mut cmd = common::cli::command();
    cmd.args(&args)
        .env("KUSTOPLAN_SANDBOX_DIR", &local_dir)
        .env("NO_COLOR", "1");
    let out = common::cli::output_off_runtime(cmd).await;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let sandbox = server.sandbox();
    let me = Caller::cluster_admin("aaduser=me");
    let events = [
        r#"{"deviceId":"6f1c2a1e-0000-4000-8000-000000000001","kind":"boot","at":"2026-12-05T10:00:00Z","details":{"fw":"1.2"}}"#,
        r#"{"deviceId":"6f1c2a1e-0000-4000-8000-000000000002","kind":"error","at":"2026-12-05T10:01:30Z","details":{"code":7}}"#,
    ];
    let ingest = format!(
        ".ingest inline into table DeviceEventsRaw with (format='multijson', ingestionMappingReference='events_raw_json') <|\n{}",
        events.join("\n")
    );
    sandbox.execute(DB, &ingest, &me).expect("ingest");
    let query = |q: &str| {
        sandbox
            .query(DB, q, &me)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
    };
    assert_eq!(query("DeviceEventsRaw | count").rows, vec![vec![json!(2)]]);
    assert_eq!(query("DeviceEvents | count").rows, vec![vec![json!(2)]]);
    let errors = query("DeviceEvents | where Kind == 'error'");
    assert_eq!(
        errors
            .columns
            .iter()
            .map(|(n, t)| format!("{n}:{}", t.as_kql()))
            .collect::<Vec<_>>(),
        [
            "DeviceId:guid",
            "Kind:string",
            "OccurredAt:datetime",
            "Details:dynamic"
        ]
    );
    assert_eq!(
        errors.rows,
        vec![vec![
            json!("6f1c2a1e-0000-4000-8000-000000000002"),
            json!("error"),
            json!("2026-12-05T10:01:30Z"),
            json!({"code": 7}),
        ]]
    );
    let later = query("DeviceEvents | where OccurredAt > datetime(2026-12-05T10:01:00)");
    assert_eq!(
        later.rows.len(),
        1,
        "OccurredAt is a datetime: {:?}",
        later.rows
    );

    sandbox.execute(DB, &ingest, &me).expect("ingest again");
    assert_eq!(
        query("DeviceEvents | count").rows,
        vec![vec![Value::from(4)]],
        "each ingestion parses only its own rows"
    );
    server.shutdown().await;
}
