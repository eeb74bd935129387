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
