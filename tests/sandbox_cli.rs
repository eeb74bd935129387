//! `kustoplan sandbox serve` as a user runs it: a real process on loopback, spoken to over HTTP,
//! stopped with Ctrl-C (SIGINT), restarted on the same directory with its state intact.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kustoplan"))
        .args([
            "sandbox",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "gamedb",
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .strip_prefix("kusto sandbox listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner: {line}"))
        .to_string();
    (child, url)
}

fn stop(mut child: Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "Ctrl-C is a clean shutdown");
}

async fn mgmt(url: &str, csl: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/rest/mgmt"))
        .header("x-ms-client-request-id", "kustoplan-test;1")
        .json(&json!({"db": "gamedb", "csl": csl}))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn serve_persists_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, url) = start(dir.path());
    let (status, _) = mgmt(
        &url,
        ".create table GamePlay (PlayerID:int, EventTime:datetime)",
    )
    .await;
    assert_eq!(status, 200);
    stop(child);

    let (child, url) = start(dir.path());
    let (status, body) = mgmt(&url, ".show database gamedb schema as json").await;
    stop(child);
    assert_eq!(status, 200);
    let cell = body["Tables"][0]["Rows"][0][0]
        .as_str()
        .expect("schema cell is a JSON string");
    let schema: Value = serde_json::from_str(cell).expect("schema JSON");
    let columns: Vec<(String, String)> =
        schema["Databases"]["gamedb"]["Tables"]["GamePlay"]["OrderedColumns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| {
                (
                    c["Name"].as_str().unwrap_or_default().into(),
                    c["CslType"].as_str().unwrap_or_default().into(),
                )
            })
            .collect();
    assert_eq!(
        columns,
        vec![
            ("PlayerID".into(), "int".into()),
            ("EventTime".into(), "datetime".into())
        ]
    );
}

#[tokio::test]
async fn unknown_commands_get_the_real_syntax_error_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, url) = start(dir.path());
    let (status, body) = mgmt(&url, ".frobnicate table GamePlay").await;
    stop(child);
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["@type"],
        "Kusto.Data.Exceptions.SyntaxException"
    );
    assert_eq!(body["error"]["@permanent"], true);
}

/// Regression: the Ctrl-C handler used to be installed after the banner was printed, so a SIGINT
/// sent as soon as the URL was read could kill the server instead of stopping it cleanly.
#[test]
fn ctrl_c_right_after_the_banner_is_always_a_clean_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    for _ in 0..10 {
        let (child, _) = start(dir.path());
        stop(child);
    }
}

/// The lock record `sandbox serve` writes names its process: what a refused process prints.
fn held_by_serve(dir: &std::path::Path, pid: u32) -> String {
    let record = std::fs::read(dir.join(kustoplan::sandbox::lease::LOCK_FILE)).expect("lock file");
    let holder: kustoplan::sandbox::lease::Holder =
        serde_json::from_slice(&record).expect("holder record");
    assert_eq!(holder.pid, pid);
    format!(
        "the sandbox directory {} is held by `kustoplan sandbox serve` (pid {pid} on {}, since {})",
        dir.display(),
        holder.host,
        httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(holder.since_unix)
        )
    )
}

/// A served directory belongs to the server: a second server, an apply and a plan on it are
/// refused (they would load the state beside the server and overwrite it), and nothing is
/// written; once the server stops, the directory is free.
#[test]
fn a_served_directory_is_refused_to_other_processes_until_the_server_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, _) = start(dir.path());
    let held = held_by_serve(dir.path(), child.id());
    let state = std::fs::read(dir.path().join("kusto-state.json")).expect("state");

    let second = Command::new(env!("CARGO_BIN_EXE_kustoplan"))
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .output()
        .expect("second serve");
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        format!(
            "error: cannot start the Kusto sandbox: {held}\nhelp: stop the other process first, or serve another --dir\n"
        )
    );
    assert_eq!(String::from_utf8_lossy(&second.stdout), "");

    let kustoplan = |command: &str| {
        Command::new(env!("CARGO_BIN_EXE_kustoplan"))
            .args([command, "examples/gameplay"])
            .args(if command == "apply" {
                &["--auto-approve"][..]
            } else {
                &[][..]
            })
            .env("KUSTOPLAN_SANDBOX_DIR", dir.path())
            .env_remove("KUSTOPLAN_ENV")
            .output()
            .expect("run kustoplan")
    };
    let apply = kustoplan("apply");
    assert_eq!(apply.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&apply.stderr),
        format!(
            "error: {held}; nothing was changed. Wait for it to finish, or pass --lock-timeout \
             DURATION (e.g. --lock-timeout 30s) to wait for it\n"
        )
    );
    let plan = kustoplan("plan");
    assert_eq!(plan.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&plan.stderr),
        format!("error: {held}; nothing was read. Run again when it has finished\n")
    );
    assert_eq!(
        std::fs::read(dir.path().join("kusto-state.json")).expect("state"),
        state,
        "nothing was written"
    );

    stop(child);
    let apply = kustoplan("apply");
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );
}
