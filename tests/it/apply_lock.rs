//! One apply at a time on a built-in sandbox directory: two applies of different stacks into
//! the same database used to load the same state, and the second's saves overwrote the first's
//! tables. Now the second is refused (naming the holder) and changes nothing, or waits with
//! `--lock-timeout`.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::write_stack;
use kustoplan::sandbox::kusto::KustoSandbox;
use kustoplan::sandbox::lease::{Holder, LOCK_FILE};

const TABLES: usize = 150;

/// A stack named `name` declaring tables `{prefix}0..{prefix}{TABLES}` in database `lockdb`.
fn stack(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut docs = vec![
        format!("kind: Stack\nname: stack{prefix}\n"),
        "kind: Database\nname: lockdb\n".to_string(),
    ];
    for i in 0..TABLES {
        docs.push(format!(
            "kind: Table\nname: {prefix}{i}\ndatabase: lockdb\ncolumns:\n  - {{name: A, type: int}}\n  - {{name: B, type: string}}\n"
        ));
    }
    write_stack(dir.path(), &docs);
    dir
}

fn names(prefix: &str) -> BTreeSet<String> {
    (0..TABLES).map(|i| format!("{prefix}{i}")).collect()
}

fn apply(sandbox: &Path, stack: &Path, extra: &[&str]) -> Command {
    let mut cmd = common::cli::command();
    cmd.args(["apply", "--auto-approve", "--color", "never"])
        .arg(stack)
        .args(extra)
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env_remove("KUSTOPLAN_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The tables of `lockdb` as persisted in `sandbox`.
fn tables(sandbox: &Path) -> BTreeSet<String> {
    let state = KustoSandbox::open(sandbox, &[])
        .expect("open sandbox")
        .state();
    state
        .databases
        .get("lockdb")
        .map(|db| db.tables.keys().cloned().collect())
        .unwrap_or_default()
}

/// Waits until `child` holds the lease (its record is in the lock file).
fn wait_for_lease(sandbox: &Path, child: &mut Child) -> Holder {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read(sandbox.join(LOCK_FILE)).unwrap_or_default();
        if let Ok(holder) = serde_json::from_slice::<Holder>(&text)
            && holder.pid == child.id()
        {
            return holder;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("apply ended ({status}) without ever holding the sandbox lease");
        }
        assert!(Instant::now() < deadline, "apply never took the lease");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig}");
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Apply A is frozen (SIGSTOP) while it holds the directory, so B certainly runs during A:
/// B is refused with A's pid, host and command, writes nothing, and A then completes.
#[test]
fn a_second_apply_during_the_first_is_refused_with_the_holder_and_changes_nothing() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let (a, b) = (stack("A"), stack("B"));
    let mut first = apply(sandbox.path(), a.path(), &[])
        .spawn()
        .expect("start apply A");
    let holder = wait_for_lease(sandbox.path(), &mut first);
    signal(&first, "-STOP");
    let second = apply(sandbox.path(), b.path(), &[])
        .output()
        .expect("run apply B");
    signal(&first, "-CONT");
    let first = first.wait_with_output().expect("wait for apply A");

    let (out, err) = text(&second);
    assert_eq!(second.status.code(), Some(1), "{out}{err}");
    assert_eq!(
        out, "",
        "B printed no plan: it stopped before reading anything"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    assert_eq!(
        err,
        format!(
            "error: the sandbox directory {} is held by `kustoplan apply` (pid {} on {}, since {}); \
             nothing was changed. Wait for it to finish, or pass --lock-timeout DURATION (e.g. \
             --lock-timeout 30s) to wait for it\n",
            sandbox.path().display(),
            holder.pid,
            host.trim(),
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(holder.since_unix)),
        )
    );
    let (out, err) = text(&first);
    assert_eq!(first.status.code(), Some(0), "{out}{err}");
    assert!(
        out.ends_with(&format!(
            "Apply complete: {TABLES} changes applied in 1 request.\n"
        )),
        "{out}"
    );
    assert_eq!(tables(sandbox.path()), names("A"), "exactly A's tables");
    assert_eq!(
        std::fs::read(sandbox.path().join(LOCK_FILE)).expect("lock file"),
        b"",
        "A cleared its record when it finished"
    );

    // The directory is free again: B now applies, and A's tables survive it.
    let again = apply(sandbox.path(), b.path(), &[])
        .output()
        .expect("run apply B again");
    assert_eq!(again.status.code(), Some(0), "{:?}", text(&again));
    let all: BTreeSet<String> = names("A").union(&names("B")).cloned().collect();
    assert_eq!(tables(sandbox.path()), all);
}

/// Two applies started together, over and over: whatever the interleaving, an apply that
/// reports success has all its tables, and one that does not was refused by the other's lease
/// and wrote nothing. Before the lease, most runs lost one stack's tables.
#[test]
fn concurrent_applies_never_lose_tables() {
    let (a, b) = (stack("A"), stack("B"));
    for _ in 0..3 {
        let sandbox = tempfile::tempdir().expect("tempdir");
        let first = apply(sandbox.path(), a.path(), &[])
            .spawn()
            .expect("start A");
        let second = apply(sandbox.path(), b.path(), &[])
            .spawn()
            .expect("start B");
        let (pid_a, pid_b) = (first.id(), second.id());
        let outs = [
            ("A", pid_b, first.wait_with_output().expect("A")),
            ("B", pid_a, second.wait_with_output().expect("B")),
        ];
        let live = tables(sandbox.path());
        let mut succeeded = 0;
        for (prefix, other, out) in &outs {
            let (stdout, stderr) = text(out);
            if out.status.code() == Some(0) {
                succeeded += 1;
                assert!(names(prefix).is_subset(&live), "{prefix} lost tables");
            } else {
                assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
                assert!(
                    stderr.contains(&format!("is held by `kustoplan apply` (pid {other} on ")),
                    "{stderr}"
                );
                assert!(
                    names(prefix).is_disjoint(&live),
                    "{prefix} was refused but wrote"
                );
            }
        }
        assert!(succeeded >= 1, "at least one apply runs");
    }
}

/// With `--lock-timeout`, the second apply waits for the first instead of failing: both
/// complete and both stacks' tables are there.
#[test]
fn with_a_lock_timeout_the_second_apply_waits_and_both_complete() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let (a, b) = (stack("A"), stack("B"));
    let mut first = apply(sandbox.path(), a.path(), &["--lock-timeout", "2m"])
        .spawn()
        .expect("start A");
    wait_for_lease(sandbox.path(), &mut first);
    let second = apply(sandbox.path(), b.path(), &["--lock-timeout", "2m"])
        .spawn()
        .expect("start B");
    for out in [
        first.wait_with_output().expect("A"),
        second.wait_with_output().expect("B"),
    ] {
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    }
    let all: BTreeSet<String> = names("A").union(&names("B")).cloned().collect();
    assert_eq!(tables(sandbox.path()), all);
}

/// A bad `--lock-timeout` is a usage error naming the accepted units.
#[test]
fn a_lock_timeout_needs_a_unit() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let a = stack("A");
    let out = apply(sandbox.path(), a.path(), &["--lock-timeout", "30"])
        .output()
        .expect("run");
    let (_, err) = text(&out);
    assert!(
        err.contains(
            "invalid value '30' for '--lock-timeout <DURATION>': expected a duration such as 30s, 500ms or 5m, found `30`"
        ),
        "{err}"
    );
    assert!(tables(sandbox.path()).is_empty());
}

/// A stack whose targets are all live takes no sandbox lease: nothing is created next to the
/// manifests (here the live targets are unreachable, so apply fails reaching them).
#[test]
fn live_targets_take_no_sandbox_lease() {
    let stack = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        stack.path().join("stack.yaml"),
        "kind: Stack\nname: live\ntargets:\n  kusto:\n    cluster: http://127.0.0.1:9\n    auth: {method: none}\n---\nkind: Database\nname: lockdb\n---\nkind: Table\nname: T\ndatabase: lockdb\ncolumns:\n  - {name: A, type: int}\n",
    )
    .expect("write stack");
    let out = common::cli::command()
        .args(["apply", "--auto-approve"])
        .arg(stack.path())
        .env_remove("KUSTOPLAN_SANDBOX_DIR")
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run");
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("sandbox directory"), "{err}");
    assert!(
        !stack.path().join(".kustoplan").exists(),
        "no sandbox directory for a live stack"
    );
}
