//! `kustoplan sandbox serve` as a user runs it: a real process on loopback, spoken to over HTTP,
//! stopped with Ctrl-C (SIGINT), restarted on the same directory with its state intact.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = common::cli::command()
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

    let second = common::cli::command()
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
        common::cli::command()
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

/// Starts `sandbox serve` with extra arguments; returns the child and its URL.
fn start_with(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = common::cli::command()
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sandbox");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    let url = line
        .strip_prefix("kusto sandbox listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner: {line}"))
        .to_string();
    // Keep the rest of stdout for the caller's checks.
    child.stdout = Some(stdout.into_inner());
    (child, url)
}

/// With `--token-file`, every endpoint wants `Authorization: Bearer <token>`: others get 401
/// in Kusto's error shape with a Bearer challenge, and the token appears in no output.
#[tokio::test]
async fn with_a_token_file_requests_without_the_token_get_401_in_kustos_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "s3cret-sandbox-token-4711";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token");
    let state = dir.path().join("state");
    let (child, url) = start_with(
        &state,
        &["--token-file", token_file.to_str().expect("utf-8")],
    );
    let client = reqwest::Client::new();
    let body = json!({"db": "kustoplan", "csl": ".show version"});
    let unauthorized = json!({
        "code": "Unauthorized",
        "message": "Client needs to authenticate first.",
        "@type": "Kusto.Data.Exceptions.KustoRequestException",
        "@message": "The request has no valid 'Authorization: Bearer' token.",
        "@permanent": true,
    });
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some(token),
        Some("Basic czNjcmV0"),
    ] {
        let mut request = client.post(format!("{url}/v1/rest/mgmt")).json(&body);
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        let reply = request.send().await.expect("request");
        assert_eq!(reply.status(), 401, "{auth:?}");
        assert_eq!(reply.headers()["www-authenticate"], "Bearer");
        let json: Value = reply.json().await.expect("json");
        let mut error = json["error"].clone();
        error.as_object_mut().expect("object").remove("@context");
        assert_eq!(error, unauthorized, "{auth:?}");
        assert!(!json.to_string().contains(token));
    }
    for path in ["/sandbox/stats", "/sandbox/faults", "/nope"] {
        let reply = client
            .get(format!("{url}{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(reply.status(), 401, "{path}");
    }
    let ok = client
        .post(format!("{url}/v1/rest/mgmt"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    let stats = client
        .get(format!("{url}/sandbox/stats"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(stats.status(), 200);

    let pid = child.id();
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("SIGINT");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains(token), "{printed}");
}

/// A token file that is missing or empty stops the server before it listens, naming the
/// file and never its content.
#[test]
fn a_bad_token_file_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "  \n").expect("write");
    let two = dir.path().join("two");
    std::fs::write(&two, "tok en\n").expect("write");
    for (file, message) in [
        (
            empty.clone(),
            format!("error: --token-file {} is empty\n", empty.display()),
        ),
        (
            two.clone(),
            format!(
                "error: --token-file {} must hold one token (no spaces or line breaks inside)\n",
                two.display()
            ),
        ),
    ] {
        let out = common::cli::command()
            .args([
                "sandbox",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--token-file",
            ])
            .arg(&file)
            .arg("--dir")
            .arg(dir.path().join("state"))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stderr), message);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("tok en"));
    }
}

/// CPU time (user + system, in clock ticks) a process has used, from /proc.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("comm").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based, see proc(5)).
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// When file descriptors run out, `accept` fails with the connection still queued; the
/// server backs off instead of retrying in a busy loop (which burned a whole core).
#[test]
fn accept_errors_back_off_instead_of_spinning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = format!(
        "ulimit -n 40 && exec {} sandbox serve --listen 127.0.0.1:0 --max-connections 1000 --dir {}",
        common::kustoplan_bin().display(),
        dir.path().display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    let addr = line
        .strip_prefix("kusto sandbox listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner: {line}"))
        .to_string();
    // More idle connections than the server has descriptors: the rest stay queued.
    let held: Vec<std::net::TcpStream> = (0..80)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = cpu_ticks(child.id());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let used = cpu_ticks(child.id()) - before;
    drop(held);
    stop(child);
    // A spinning accept loop uses ~200 ticks in 2 s; backing off uses a handful.
    assert!(
        used < 40,
        "the server used {used} CPU ticks in 2 s while accept failed"
    );
}

/// `--ingest` starts Azurite next to the sandbox (`.get ingestion resources` points at it) and
/// Ctrl-C stops both.
#[tokio::test]
async fn ingest_serves_queued_ingestion_on_azurite_and_ctrl_c_stops_it() {
    if !common::tool_available("npm", "sandbox_cli --ingest") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = common::cli::command()
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0", "--ingest"])
        .args(["--database", "gamedb", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sandbox");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut banner, mut storage) = (String::new(), String::new());
    stdout.read_line(&mut banner).expect("banner");
    stdout.read_line(&mut storage).expect("storage line");
    let url = banner
        .strip_prefix("kusto sandbox listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
        .to_string();
    let blobs = storage
        .strip_prefix("queued ingestion on Azurite: blobs ")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("unexpected line: {storage}"))
        .to_string();
    let (status, body) = mgmt(&url, ".get ingestion resources").await;
    assert_eq!(status, 200, "{body}");
    let rows = body["Tables"][0]["Rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4, "{rows:?}");
    let temp = rows
        .iter()
        .find(|r| r[0] == "TempStorage")
        .and_then(|r| r[1].as_str())
        .expect("TempStorage");
    assert!(temp.starts_with(&format!("{blobs}/tempstorage?")), "{temp}");
    let host_port = blobs
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .expect("host:port")
        .to_string();
    assert!(
        std::net::TcpStream::connect(&host_port).is_ok(),
        "Azurite listens"
    );
    stop(child);
    assert!(
        std::net::TcpStream::connect(&host_port).is_err(),
        "Azurite stopped with the sandbox"
    );
}
