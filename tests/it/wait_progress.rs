//! Feedback on long waits (issue 17): off a terminal, a wait longer than a second shows plain
//! progress lines naming what is waited for and the elapsed seconds, without escape sequences;
//! a token that cannot be had is reported within seconds, saying whether the network or the
//! credential failed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::cli::output_off_runtime;
use common::sandbox::{KustoServer, stack_head};
use kustoplan::kusto::lease::{LeaseId, LeaseRecord, table_name};
use kustoplan::sandbox::kusto::{Caller, Faults};

const STACK: &str = "waits";
const DB: &str = "waitdb";

/// Stack `waits` with one table in `waitdb` on the Kusto cluster at `url`, authenticating with
/// `auth` (a flow mapping).
fn stack(url: &str, auth: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "{}---\nkind: Table\nname: Events\ndatabase: {DB}\ncolumns:\n  - {{name: A, type: int}}\n",
        stack_head(STACK, url, auth, "", DB)
    );
    std::fs::write(dir.path().join("stack.yaml"), text).expect("write stack");
    dir
}

/// kustoplan with piped (not terminal) output and no environment from the caller's shell.
fn kustoplan(stack: &Path, args: &[&str]) -> Command {
    let mut cmd = common::cli::command();
    cmd.args(args)
        .arg(stack)
        .env("KUSTOPLAN_SANDBOX_DIR", stack.join(".unused-sandbox"))
        .env_remove("NO_COLOR")
        .env_remove("KUSTOPLAN_ENV")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env_remove("MSI_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The elapsed seconds of the first line of `text` that is `prefix` followed by `<N>s`; the
/// number itself depends on the machine's load, so tests check its range.
fn seconds_after(text: &str, prefix: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix)?.strip_suffix('s')?.parse().ok())
}

/// A wait for another apply's lease (`--lock-timeout 3s`) shows the plain line after a second,
/// with the holder and the elapsed seconds, and a final line when it gives up; nothing on
/// stderr carries an escape sequence or a carriage return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_wait_shows_plain_progress_lines_off_a_terminal() {
    let server = KustoServer::start(&[DB]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let holder = LeaseRecord {
        id: LeaseId::parse("0000000000000000000000000000000a").expect("id"),
        stack: STACK.to_string(),
        command: "kustoplan apply".to_string(),
        user: "ghost".to_string(),
        host: "other-host".to_string(),
        pid: 4242,
        acquired_unix: now,
        expires_unix: now + 3600,
    };
    let csl = format!(
        ".create table {} (Holder:string) with (docstring = {})",
        kustoplan::kusto::render::quote_name(&table_name(STACK)),
        kustoplan::kusto::render::quote_string(&holder.to_docstring())
    );
    server
        .sandbox()
        .execute(DB, &csl, &Caller::cluster_admin("aaduser=test@localhost"))
        .expect("hold the lease");
    let stack = stack(&server.url(), "{method: none}");

    let out = output_off_runtime(kustoplan(
        stack.path(),
        &[
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "3s",
            "--color",
            "always",
        ],
    ))
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let what = format!(
        "waiting for {holder} to release the apply lease in database `{DB}` (--lock-timeout 3s)"
    );
    assert!(
        seconds_after(&err, &format!("{what} ... ")).is_some_and(|s| s >= 1),
        "{err}"
    );
    assert!(
        seconds_after(&err, &format!("{what}: gave up, still held after ")).is_some_and(|s| s >= 3),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: the apply lease in database `{DB}` is held by"
        )),
        "{err}"
    );
    assert!(!err.contains(['\u{1b}', '\r']), "{err:?}");
}

/// A throttled Kusto request (429 with `Retry-After: 2`) is retried after two seconds: the
/// plain lines say what is retried, after which fault, which attempt, and the elapsed seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_longer_than_a_second_shows_what_is_retried_and_why() {
    let server = KustoServer::start(&[DB]).await;
    server.set_faults(Faults {
        throttle_next: 1,
        retry_after_secs: 2,
        ..Faults::default()
    });
    let stack = stack(&server.url(), "{method: none}");
    let out = output_off_runtime(kustoplan(stack.path(), &["plan"])).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("retrying Kusto command after ") && l.contains(" ... "))
        .unwrap_or_else(|| panic!("no progress line for the retry: {err}"));
    assert!(line.contains("429"), "{line}");
    assert!(line.contains(": attempt 2 of 5 in 2."), "{line}");
    let (what, _) = line.rsplit_once(" ... ").expect("elapsed");
    assert!(
        seconds_after(&err, &format!("{what} ... ")).is_some_and(|s| s >= 1),
        "{err}"
    );
    assert!(
        seconds_after(&err, &format!("{what}: done after ")).is_some_and(|s| s >= 2),
        "{err}"
    );
    assert!(!err.contains(['\u{1b}', '\r']), "{err:?}");
}

/// An identity endpoint (App Service managed identity) that refuses connections: the plan
/// fails within seconds, naming a network failure of the refused kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_identity_endpoint_is_reported_as_such_within_seconds() {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let stack = stack("http://127.0.0.1:9", "{method: managed_identity}");
    let mut cmd = kustoplan(stack.path(), &["plan"]);
    cmd.env(
        "IDENTITY_ENDPOINT",
        format!("http://127.0.0.1:{port}/msi/token"),
    )
    .env("IDENTITY_HEADER", "header-secret");
    let started = Instant::now();
    let out = output_off_runtime(cmd).await;
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot get an AAD token (managed_identity)"),
        "{err}"
    );
    assert!(
        err.contains("network failure, connection refused (nothing listens on that port)"),
        "{err}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}: {err}");
}

/// An identity endpoint that answers and refuses the identity: a credential failure, at once
/// (no retries of an answer that will not change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_identity_is_reported_as_a_credential_failure() {
    let endpoint = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = endpoint.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in endpoint.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = r#"{"statusCode":400,"message":"No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let stack = stack("http://127.0.0.1:9", "{method: managed_identity}");
    let mut cmd = kustoplan(stack.path(), &["plan"]);
    cmd.env("IDENTITY_ENDPOINT", format!("http://{addr}/msi/token"))
        .env("IDENTITY_HEADER", "header-secret");
    let started = Instant::now();
    let out = output_off_runtime(cmd).await;
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot get an AAD token (managed_identity)"),
        "{err}"
    );
    assert!(err.contains(": credential failure: "), "{err}");
    assert!(took < Duration::from_secs(30), "took {took:?}: {err}");
}

/// The built-in sandbox's directory held by another process (here, this test): an apply with
/// `--lock-timeout 2s` shows the wait for it in plain lines, then gives up.
#[test]
fn a_wait_for_the_sandbox_directory_shows_plain_progress_lines() {
    use kustoplan::sandbox::lease::{DirLease, LeaseRequest};
    let sandbox = tempfile::tempdir().expect("tempdir");
    let _held = DirLease::acquire(
        sandbox.path(),
        &LeaseRequest::write("test holder", Duration::ZERO),
    )
    .expect("hold the sandbox directory");
    let stack = common::cli::gameplay_copy();
    let stack_dir = stack.path().to_str().expect("utf-8 path");
    let run = common::cli::kustoplan(
        sandbox.path(),
        &["apply", stack_dir, "--auto-approve", "--lock-timeout", "2s"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let what = format!(
        "to release the sandbox directory {} (--lock-timeout 2s)",
        sandbox.path().display()
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("waiting for ") && l.contains(&format!("{what} ... ")))
        .unwrap_or_else(|| panic!("no progress line: {}", run.stderr));
    assert!(line.contains("test holder"), "{line}");
    let (what, _) = line.rsplit_once(" ... ").expect("elapsed");
    assert!(
        seconds_after(&run.stderr, &format!("{what}: gave up, still held after "))
            .is_some_and(|s| s >= 2),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(['\u{1b}', '\r']), "{:?}", run.stderr);
}
