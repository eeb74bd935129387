//! `kustoplan status` on the built-in sandbox: states come from the Connect sandbox, lag is
//! unavailable with the reason (there is no broker), and the exit code follows health.

mod common;

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
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
        std::fs::copy(
            common::repo().join("examples/gameplay").join(f),
            dir.path().join(f),
        )
        .expect("copy");
    }

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
