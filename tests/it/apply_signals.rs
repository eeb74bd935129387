//! Apply tells the truth when interrupted: on SIGINT or SIGTERM the request in flight finishes,
//! nothing more is sent, the per-step report is printed and the exit code is non-zero; a second
//! signal exits at once. Kusto is the sandbox served over real HTTP with added latency, so the
//! signal arrives while the Kusto script is in flight.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;

use common::sandbox::KustoServer;
use kustoplan::sandbox::connect::ConnectSandbox;
use kustoplan::sandbox::kusto::Faults;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `apply` on the gameplay example with Kusto at `url`, sends `signals` once stderr shows
/// the Kusto script was sent, and waits for the process to end.
fn apply_interrupted(url: &str, local: &Path, signals: &[i32]) -> Run {
    apply_while_script_in_flight(url, local, |pid| {
        for &signal in signals {
            // SAFETY: kill(2) with the pid of our own child and a valid signal number.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    })
}

/// Runs `apply` on the gameplay example with Kusto at `url`, calls `during` with the process id
/// once stderr shows the Kusto script was sent, and waits for the process to end.
fn apply_while_script_in_flight(url: &str, local: &Path, during: impl FnOnce(i32)) -> Run {
    let mut child = common::cli::command()
        .args([
            "apply",
            "examples/gameplay",
            "--auto-approve",
            "--var",
            &format!("kusto_cluster={url}"),
        ])
        .env("KUSTOPLAN_SANDBOX_DIR", local)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kustoplan");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, seen) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.expect("stderr line");
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    loop {
        let line = seen
            .recv()
            .expect("apply ended before sending the Kusto script");
        if line.starts_with("Applying Kusto batch 1/1") {
            break;
        }
    }
    during(i32::try_from(child.id()).expect("pid"));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait");
    Run {
        code: status.code(),
        stdout,
        stderr: reader.join().expect("stderr reader"),
    }
}

async fn stopped_by(signal: i32) {
    let server = KustoServer::start(&["gamedb"]).await;
    let url = server.url();
    let local = tempfile::tempdir().expect("tempdir");
    server.set_faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let before = server.stats();
    let local_path = local.path().to_path_buf();
    let run = tokio::task::spawn_blocking(move || apply_interrupted(&url, &local_path, &[signal]))
        .await
        .expect("join");

    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "Interrupted: finishing the requests in flight, then sending nothing more (interrupt again to exit at once)\n"
        ),
        "{}",
        run.stderr
    );
    for line in [
        "     ok kafka.topic.gameplay\n",
        "     ok kusto.gamedb.table.GamePlay\n",
        "     ok kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping\n",
        "not run connect.main.connector.gameplay-kusto-sink\n",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "error: apply interrupted: 5 of 6 commands ran (listed above); nothing more was sent\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.stats().mgmt - before.mgmt,
        2 + 4 + 1 + 4,
        "the apply lease taken (stage, rename), 4 observe reads and the script in flight; after \
         the signal only the lease's release (read, rename aside, read back, drop)"
    );
    let db = &server.sandbox().state().databases["gamedb"];
    assert!(
        db.tables
            .keys()
            .all(|t| !kustoplan::kusto::lease::is_lease_table(t)),
        "the lease was released: {:?}",
        db.tables.keys().collect::<Vec<_>>()
    );
    let connect = ConnectSandbox::open(&local.path().join("connect").join("main"))
        .expect("open connect sandbox");
    assert!(
        connect.state().connectors.is_empty(),
        "no connector was created after the signal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_finishes_the_request_in_flight_and_sends_nothing_more() {
    stopped_by(libc::SIGINT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_and_sends_nothing_more() {
    stopped_by(libc::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_exits_at_once() {
    let server = KustoServer::start(&["gamedb"]).await;
    let url = server.url();
    let local = tempfile::tempdir().expect("tempdir");
    server.set_faults(Faults {
        latency_ms: 5000,
        ..Faults::default()
    });
    let local_path = local.path().to_path_buf();
    let run = tokio::task::spawn_blocking(move || {
        apply_interrupted(&url, &local_path, &[libc::SIGINT, libc::SIGINT])
    })
    .await
    .expect("join");
    assert_eq!(run.code, Some(130), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "Interrupted again: exiting at once; the outcome of the request in flight is unknown (run `kustoplan plan` to see)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
}

/// A server that closes its socket during an upload must be an error apply reports, never a
/// kill by SIGPIPE after changes were made: while apply talks to the network, SIGPIPE is
/// ignored (the `SigIgn` mask of /proc/PID/status has bit 13 - 1 set).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigpipe_is_ignored_while_apply_talks_to_the_network() {
    let server = KustoServer::start(&["gamedb"]).await;
    let url = server.url();
    let local = tempfile::tempdir().expect("tempdir");
    server.set_faults(Faults {
        latency_ms: 1000,
        ..Faults::default()
    });
    let local_path = local.path().to_path_buf();
    let (tx, rx) = mpsc::channel();
    let run = tokio::task::spawn_blocking(move || {
        apply_while_script_in_flight(&url, &local_path, |pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .expect("read /proc/PID/status");
            let _ = tx.send(status);
        })
    })
    .await
    .expect("join");
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let status = rx.recv().expect("status read");
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|mask| u64::from_str_radix(mask.trim(), 16).expect("hex mask"))
        .expect("SigIgn line");
    let sigpipe = 1u64 << (libc::SIGPIPE - 1);
    assert_eq!(ignored & sigpipe, sigpipe, "SigIgn {ignored:x}");
}
