//! `kustoplan status` on the built-in sandbox: states come from the Connect sandbox, lag is
//! unavailable with the reason (there is no broker), and the exit code follows health.

use crate::common;

use std::process::Command;

fn status(stack: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::kustoplan_bin())
        .args(args)
        .arg(stack)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .env_remove("KUSTOPLAN_SANDBOX_DIR")
        .output()
        .expect("run kustoplan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn status_on_the_sandbox_reports_states_and_why_lag_is_unavailable() {
    let dir = common::cli::gameplay_copy();

    let (code, stdout, stderr) = status(dir.path(), &["status"]);
    assert_eq!(
        code, 3,
        "a declared connector that does not exist: {stdout}{stderr}"
    );
    assert!(
        stdout.starts_with(
            "connect.main.connector.gameplay-kusto-sink: MISSING (declared RUNNING)\n"
        ),
        "{stdout}"
    );

    let (code, stdout, stderr) = status(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    let (code, stdout, stderr) = status(dir.path(), &["status"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("  task 0: RUNNING on "), "{stdout}");
    assert!(
        stdout.contains(
            "  route gameplay -> gamedb.GamePlay (group connect-gameplay-kusto-sink): lag unavailable: the built-in Kafka sandbox has no broker"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("Status: 1 healthy, 0 degraded, 0 failed.\n"),
        "{stdout}"
    );

    let (code, stdout, _) = status(dir.path(), &["status", "--format", "json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["health"], "healthy");
    let lag = &json["connectors"][0]["routes"][0]["lag"];
    assert_eq!(lag["available"], false, "{lag}");
    assert_eq!(lag["total"], serde_json::Value::Null, "{lag}");
    assert!(
        lag["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no broker"))
    );
}

/// Runs `command` in `gamedb` of the sandbox in `dir`, as the sink's ingestion would.
fn kusto(dir: &std::path::Path, command: &str) -> Result<(), String> {
    let sandbox = kustoplan::sandbox::kusto::KustoSandbox::open(dir, &["gamedb".to_string()])
        .expect("open sandbox");
    sandbox
        .execute(
            "gamedb",
            command,
            &kustoplan::sandbox::kusto::Caller::cluster_admin("aaduser=someone@example.com"),
        )
        .map(|_| ())
        .map_err(|e| format!("{}: {}", e.code, e.detail))
}

#[test]
fn status_reports_the_last_ingestion_and_fails_on_permanent_ingestion_failures() {
    let stack = common::cli::gameplay_copy();
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path().to_str().expect("utf-8 path");
    let json_status = |extra: &[&str]| {
        let mut args = vec!["status", "--sandbox-dir", s, "--format", "json"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = status(stack.path(), &args);
        let json: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
        (code, json)
    };

    let (code, stdout, stderr) = status(
        stack.path(),
        &["apply", "--sandbox-dir", s, "--auto-approve"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");

    // Applied, no rows yet: healthy, no last ingestion, no failures.
    let (code, json) = json_status(&[]);
    assert_eq!(code, 0, "{json}");
    let route = &json["connectors"][0]["routes"][0];
    assert_eq!(route["table"], "GamePlay");
    assert_eq!(route["last_ingestion"], serde_json::Value::Null, "{route}");
    assert_eq!(route["table_error"], serde_json::Value::Null, "{route}");
    assert_eq!(route["failures"]["available"], true, "{route}");
    assert_eq!(route["failures"]["count"], 0, "{route}");
    assert_eq!(route["health"], "healthy");

    // Rows arrive: the last ingestion time shows, and is recent.
    kusto(
        sandbox.path(),
        ".ingest inline into table GamePlay <|\n1,2,1,30,2026-01-01T00:00:00Z",
    )
    .expect("ingest");
    let (code, json) = json_status(&[]);
    assert_eq!(code, 0, "{json}");
    let route = &json["connectors"][0]["routes"][0];
    let last = route["last_ingestion"]
        .as_str()
        .unwrap_or_else(|| panic!("{route}"));
    let since = route["failures"]["since"]
        .as_str()
        .unwrap_or_else(|| panic!("{route}"));
    // Both are UTC Kusto datetimes an hour apart (`--since` 1h): text order is time order.
    assert!(last > since && last.ends_with('Z'), "{last} vs {since}");
    assert_eq!(route["health"], "healthy");

    // Two ingestions fail permanently (a malformed CSV, then a mapping reference that quotes a
    // secret): the route fails with the latest reason, the secret masked.
    let malformed = kusto(
        sandbox.path(),
        ".ingest inline into table GamePlay <|\n1,\"unclosed,1,30,2026-01-01",
    );
    assert!(
        malformed
            .as_ref()
            .is_err_and(|e| e.starts_with("Stream_ClosingQuoteMissing")),
        "{malformed:?}"
    );
    let secret = "hunter2-s3cret";
    let bad_mapping = kusto(
        sandbox.path(),
        &format!(
            ".ingest inline into table GamePlay with (format='json', ingestionMappingReference='password={secret}') <|\n{{\"playerId\": 1}}"
        ),
    );
    assert!(
        bad_mapping
            .as_ref()
            .is_err_and(|e| e.starts_with("BadRequest_InvalidMappingReference")),
        "{bad_mapping:?}"
    );

    let (code, json) = json_status(&[]);
    assert_eq!(code, 3, "a permanent ingestion failure: {json}");
    assert_eq!(json["health"], "failed");
    let route = &json["connectors"][0]["routes"][0];
    assert_eq!(route["health"], "failed");
    assert_eq!(route["last_ingestion"].as_str(), Some(last), "{route}");
    let failures = &route["failures"];
    assert_eq!(failures["count"], 2, "{failures}");
    assert_eq!(failures["permanent"], 2, "{failures}");
    assert_eq!(failures["last"]["kind"], "Permanent");
    assert_eq!(
        failures["last"]["error_code"],
        "BadRequest_InvalidMappingReference"
    );
    assert_eq!(
        failures["last"]["details"],
        "Mapping reference 'password=****"
    );
    assert!(!json.to_string().contains(secret), "{json}");

    let (code, stdout, stderr) = status(stack.path(), &["status", "--sandbox-dir", s]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "2 ingestion failure(s) since "
        ) && stdout.contains(
            " (Permanent): BadRequest_InvalidMappingReference: Mapping reference 'password=****\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains(secret), "{stdout}");
    assert!(
        stdout.ends_with("Status: 0 healthy, 0 degraded, 1 failed.\n"),
        "{stdout}"
    );

    // Failures before `--since` do not count.
    let (code, json) = json_status(&["--since", "0"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["connectors"][0]["routes"][0]["failures"]["count"], 0);

    // A routed table that cannot be read is reported, not a crash: the route is degraded.
    kusto(sandbox.path(), ".drop table GamePlay").expect("drop");
    let (code, json) = json_status(&["--since", "0"]);
    assert_eq!(code, 4, "{json}");
    let route = &json["connectors"][0]["routes"][0];
    assert_eq!(route["health"], "degraded");
    assert!(
        route["table_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cannot read table `gamedb.GamePlay`: ")),
        "{route}"
    );
}
