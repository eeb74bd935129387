//! One apply at a time on live targets: the apply lease kustoplan keeps in the Kusto target
//! itself (a table per database, taken with `.rename table`, which only one process can win).
//! Kusto is the sandbox served over real HTTP, so two apply processes share nothing but it, as
//! two CI machines applying one stack to a real cluster do.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cli::{output_off_runtime, write_stack};
use common::sandbox::{KustoServer, stack_head};
use kustoplan::kusto::lease::{LeaseId, LeaseRecord, PREFIX, table_name};
use kustoplan::sandbox::kusto::{Caller, Faults, KustoSandbox, ServerHandle};

const STACK: &str = "lease";
const DB: &str = "lockdb";
const TABLES: usize = 20;

/// Stack `lease` on the served sandbox, declaring tables `{prefix}0..{prefix}{TABLES}` (and
/// `extra` in the Stack document).
fn stack(url: &str, prefix: &str, extra: &str) -> tempfile::TempDir {
    stack_of(url, prefix, TABLES, extra)
}

/// [`stack`] with `count` tables.
fn stack_of(url: &str, prefix: &str, count: usize, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut docs = vec![stack_head(STACK, url, "{method: none}", extra, DB)];
    for i in 0..count {
        docs.push(format!(
            "kind: Table\nname: {prefix}{i}\ndatabase: {DB}\ncolumns:\n  - {{name: A, type: int}}\n"
        ));
    }
    write_stack(dir.path(), &docs);
    dir
}

fn names(prefix: &str) -> BTreeSet<String> {
    (0..TABLES).map(|i| format!("{prefix}{i}")).collect()
}

fn kustoplan(stack: &Path, args: &[&str]) -> Command {
    let mut cmd = common::cli::command();
    cmd.args(args)
        .arg(stack)
        .env("KUSTOPLAN_SANDBOX_DIR", stack.join(".unused-sandbox"))
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn apply(stack: &Path, extra: &[&str]) -> Command {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    kustoplan(stack, &args)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a command to completion off the async runtime (the server runs on it).
/// The tables of `lockdb` that are not lease tables.
fn tables(sandbox: &KustoSandbox) -> BTreeSet<String> {
    sandbox.state().databases[DB]
        .tables
        .keys()
        .filter(|t| !t.starts_with(PREFIX))
        .cloned()
        .collect()
}

/// Every lease table (held or side) left in `lockdb`.
fn lease_tables(sandbox: &KustoSandbox) -> Vec<String> {
    sandbox.state().databases[DB]
        .tables
        .keys()
        .filter(|t| t.starts_with(PREFIX))
        .cloned()
        .collect()
}

/// The record of the held lease, if any.
fn held(sandbox: &KustoSandbox) -> Option<LeaseRecord> {
    let state = sandbox.state();
    let table = state.databases[DB].tables.get(&table_name(STACK))?;
    Some(LeaseRecord::from_docstring(&table.docstring).expect("a lease record"))
}

/// Waits (off the runtime) until `child` holds the lease, and returns its record.
async fn wait_for_lease(sandbox: &KustoSandbox, child: &mut Child) -> LeaseRecord {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(record) = held(sandbox)
            && record.pid == child.id()
        {
            return record;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("apply ended ({status}) without ever holding the lease");
        }
        assert!(Instant::now() < deadline, "apply never took the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Kusto request count once no request is in flight and none has arrived for a while
/// (longer than the injected latency), so a stopped process's last requests are counted.
async fn quiet_count(server: &ServerHandle) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = server.stats().mgmt;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = server.stats();
        if stats.in_flight == 0 && stats.mgmt == last {
            return last;
        }
        last = stats.mgmt;
        assert!(Instant::now() < deadline, "the server never went quiet");
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) with the pid of our own child and a valid signal number.
    assert_eq!(
        unsafe { libc::kill(i32::try_from(child.id()).expect("pid"), sig) },
        0
    );
}

/// A lease record written by hand, as another machine's apply would have left it.
fn record(id: &str, expires_unix: u64) -> LeaseRecord {
    LeaseRecord {
        id: LeaseId::parse(id).expect("id"),
        stack: STACK.to_string(),
        command: "kustoplan apply".to_string(),
        user: "ghost".to_string(),
        host: "gone-host".to_string(),
        pid: 4242,
        acquired_unix: 1_000_000_000,
        expires_unix,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Creates table `name` in `lockdb` with `docstring`, straight in the engine.
fn create_table(sandbox: &KustoSandbox, name: &str, docstring: &str) {
    let csl = format!(
        ".create table {} (Holder:string) with (docstring = {})",
        kustoplan::kusto::render::quote_name(name),
        kustoplan::kusto::render::quote_string(docstring)
    );
    sandbox
        .execute(DB, &csl, &Caller::cluster_admin("aaduser=test@localhost"))
        .expect("create table");
}

fn write_lease(sandbox: &KustoSandbox, record: &LeaseRecord) {
    create_table(sandbox, &table_name(STACK), &record.to_docstring());
}

/// The refusal of an apply that finds `holder` holding the lease.
fn refusal(holder: &LeaseRecord) -> String {
    format!(
        "error: the apply lease in database `{DB}` is held by {holder}; nothing was changed. Wait \
         for it to finish, or pass --lock-timeout DURATION (e.g. --lock-timeout 30s) to wait for \
         it; if it no longer runs, the lease expires by itself, or remove it with `kustoplan \
         force-unlock {}`\n",
        holder.id
    )
}

/// Apply A is frozen (SIGSTOP) while it holds the lease, so B certainly runs during A: B, an
/// apply of the same stack from other manifests, is refused naming A (user, host, pid, since,
/// expiry, lease id), prints no plan and writes nothing; A then completes, releases the lease,
/// and a plan of A's manifests has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_of_the_stack_is_refused_with_the_holder_and_changes_nothing() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let (a, b) = (stack(&server.url(), "A", ""), stack(&server.url(), "B", ""));
    server.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let mut first = apply(a.path(), &[]).spawn().expect("start apply A");
    let holder = wait_for_lease(&sandbox, &mut first).await;
    signal(&first, libc::SIGSTOP);
    // Requests A sent just before it stopped may still arrive: count only B's.
    let before = quiet_count(&server).await;
    let second = output_off_runtime(apply(b.path(), &[])).await;
    let b_requests = server.stats().mgmt - before;
    signal(&first, libc::SIGCONT);
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().expect("wait A"))
        .await
        .expect("join");

    let (out, err) = text(&second);
    assert_eq!(second.status.code(), Some(1), "{out}{err}");
    assert_eq!(
        out, "",
        "B printed no plan: it stopped before reading anything"
    );
    assert_eq!(err, refusal(&holder));
    assert_eq!(
        holder.host,
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .expect("host name")
            .trim()
    );
    assert_eq!(holder.command, "kustoplan apply");
    assert_eq!(holder.expires_unix - holder.acquired_unix, 300);
    assert_eq!(
        b_requests, 4,
        "B: create its side table, rename (refused), read the holder, drop its side table"
    );

    let (out, err) = text(&first);
    assert_eq!(first.status.code(), Some(0), "{out}{err}");
    assert!(
        out.ends_with(&format!(
            "Apply complete: {TABLES} changes applied in 1 request.\n"
        )),
        "{out}"
    );
    assert_eq!(tables(&sandbox), names("A"), "exactly A's tables");
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new(), "A released");

    server.set_faults(Faults::default());
    let plan = output_off_runtime(kustoplan(a.path(), &["plan", "--detailed-exitcode"])).await;
    let (out, err) = text(&plan);
    assert_eq!(plan.status.code(), Some(0), "{out}{err}");
    assert_eq!(out, "No changes. The live systems match the manifests.\n");
}

/// With `--lock-timeout`, the second apply waits for the first to release and then runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_lock_timeout_the_second_apply_waits_and_then_runs() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let (a, b) = (stack(&server.url(), "A", ""), stack(&server.url(), "B", ""));
    server.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let mut first = apply(a.path(), &[]).spawn().expect("start apply A");
    let holder = wait_for_lease(&sandbox, &mut first).await;
    let second = apply(b.path(), &["--lock-timeout", "30s"])
        .spawn()
        .expect("start apply B");
    let outs = tokio::task::spawn_blocking(move || {
        [
            first.wait_with_output().expect("A"),
            second.wait_with_output().expect("B"),
        ]
    })
    .await
    .expect("join");
    for out in &outs {
        let (stdout, stderr) = text(out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stdout.ends_with(&format!(
            "Apply complete: {TABLES} changes applied in 1 request.\n"
        )));
        assert!(!stderr.contains("held by"), "{stderr}");
    }
    let all: BTreeSet<String> = names("A").union(&names("B")).cloned().collect();
    assert_eq!(tables(&sandbox), all);
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new());
    assert!(held(&sandbox).is_none(), "{holder:?} and B both released");
}

/// A lease whose holder stopped renewing it (a crash) is taken over once it expired, and the
/// apply says whose it was; a live one is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_taken_over_and_a_live_one_is_not() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let a = stack(&server.url(), "A", "");
    let expired = record("00000000000000000000000000000001", now() - 1);
    write_lease(&sandbox, &expired);
    let out = output_off_runtime(apply(a.path(), &[])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let took_over = format!(
        "warning: took over the expired apply lease in database `{DB}` held by {expired}\n"
    );
    assert!(stderr.starts_with(&took_over), "{stderr}");
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert_eq!(tables(&sandbox), names("A"));
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new());

    let live = record("00000000000000000000000000000002", now() + 3600);
    write_lease(&sandbox, &live);
    let b = stack(&server.url(), "B", "");
    let out = output_off_runtime(apply(b.path(), &[])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stderr, refusal(&live));
    assert_eq!(tables(&sandbox), names("A"), "B wrote nothing");
    assert_eq!(held(&sandbox), Some(live), "the live lease is untouched");
    assert_eq!(
        lease_tables(&sandbox),
        vec![table_name(STACK)],
        "no side table left"
    );
}

/// `force-unlock ID` removes exactly the lease with that id: a wrong id is refused naming the
/// lease that is held, and without `--force` off a terminal nothing is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_unlock_removes_the_lease_with_that_id_only() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let a = stack(&server.url(), "A", "");
    let live = record("00000000000000000000000000000003", now() + 3600);
    write_lease(&sandbox, &live);

    let wrong = "0000000000000000000000000000000f";
    let out = output_off_runtime(kustoplan(a.path(), &["force-unlock", wrong, "--force"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: no apply lease with id {wrong} is held for stack `{STACK}`; nothing was removed\nnote: the lease in database `{DB}` is held by {live}\n"
        )
    );
    assert_eq!(held(&sandbox), Some(live.clone()));

    let id = live.id.to_string();
    let out = output_off_runtime(kustoplan(a.path(), &["force-unlock", &id])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.ends_with(
            "error: force-unlock needs confirmation; pass --force when not running in a terminal\n"
        ),
        "{stderr}"
    );
    assert_eq!(held(&sandbox), Some(live.clone()));

    let out = output_off_runtime(kustoplan(a.path(), &["force-unlock", &id, "-force"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!(
            "Apply lease {id} of stack `{STACK}` is held by {live} in database `{DB}`.\nApply lease {id} removed from database `{DB}`. If its apply still runs, it stops before its next request once it notices (at its next renewal).\n"
        )
    );
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new());

    let out = output_off_runtime(kustoplan(a.path(), &["force-unlock", "nope", "--force"])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("expected a lease id (32 hex digits, as a refusal shows it), found `nope`"),
        "{stderr}"
    );

    let out = output_off_runtime(apply(a.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

/// Lease tables are invisible to plans: with one held by another apply, and a side table that
/// even carries this stack's ownership marker, a pruning plan of the applied stack has nothing
/// to do, and a pruning apply drops neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_and_prune_never_see_lease_tables() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let a = stack(&server.url(), "A", "safety:\n  prune: true\n");
    let out = output_off_runtime(apply(a.path(), &[])).await;
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    let side = format!("{}_{}", table_name(STACK), "0".repeat(32));
    create_table(&sandbox, &side, &format!("left over [kustoplan:{STACK}]"));
    let live = record("00000000000000000000000000000004", now() + 3600);
    write_lease(&sandbox, &live);
    for format in ["text", "json"] {
        let plan = output_off_runtime(kustoplan(
            a.path(),
            &["plan", "--detailed-exitcode", "--format", format],
        ))
        .await;
        let (stdout, stderr) = text(&plan);
        assert_eq!(plan.status.code(), Some(0), "{stdout}{stderr}");
        assert!(!stdout.contains(PREFIX), "{stdout}");
    }

    sandbox
        .execute(
            DB,
            &format!(".drop table {}", table_name(STACK)),
            &Caller::cluster_admin("aaduser=test@localhost"),
        )
        .expect("drop the lease");
    let out = output_off_runtime(apply(a.path(), &["--allow", "data-loss"])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "No changes. The live systems match the manifests.\n"
    );
    assert_eq!(
        lease_tables(&sandbox),
        vec![side],
        "the side table is left alone"
    );
    assert_eq!(tables(&sandbox), names("A"));
}

/// Starts `apply` on `stack` with `args`, calls `during` once stderr shows `line`, and collects
/// the run.
async fn apply_until(
    stack: &Path,
    args: &[&str],
    line: &'static str,
    during: impl FnOnce(&Child) + Send + 'static,
) -> Output {
    let mut child = apply(stack, args).spawn().expect("start apply");
    let stderr = child.stderr.take().expect("stderr");
    // The plan can outgrow the pipe: read stdout meanwhile, or apply blocks printing it.
    let mut stdout = child.stdout.take().expect("stdout");
    let printed = std::thread::spawn(move || {
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut all).expect("read stdout");
        all
    });
    tokio::task::spawn_blocking(move || {
        let (lines, seen) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            for l in BufReader::new(stderr).lines() {
                let l = l.expect("stderr line");
                let _ = lines.send(l.clone());
                all.extend_from_slice(l.as_bytes());
                all.push(b'\n');
            }
            all
        });
        loop {
            let l = seen.recv().expect("apply ended before the awaited line");
            if l.starts_with(line) {
                break;
            }
        }
        during(&child);
        let mut out = child.wait_with_output().expect("wait");
        out.stdout = printed.join().expect("stdout reader");
        out.stderr = reader.join().expect("stderr reader");
        out
    })
    .await
    .expect("join")
}

/// SIGINT while the first of two Kusto scripts is in flight: the script finishes, the second is
/// never sent, and the lease is released (no lease or side table is left). One script in flight
/// at a time (`--parallelism 1`): the two scripts are disjoint creates of one phase, which apply
/// may otherwise send together, and then the signal can only arrive after both were sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_releases_the_lease() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    // Over 1,000 commands: two script batches.
    let a = stack_of(&server.url(), "A", 1001, "");
    server.set_faults(Faults {
        latency_ms: 1000,
        ..Faults::default()
    });
    let out = apply_until(
        a.path(),
        &["--parallelism", "1"],
        "Applying Kusto batch 1/2",
        |child| signal(child, libc::SIGINT),
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "error: apply interrupted: 1000 of 1001 commands ran (listed above); nothing more was sent\n"
        ),
        "{stderr}"
    );
    assert_eq!(
        tables(&sandbox).len(),
        1000,
        "the script in flight finished"
    );
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new(), "released");
}

/// SIGINT before anything was sent (here while the live state is read): the run ends without
/// sending a change (the plan it was making may still be printed meanwhile), says nothing was
/// applied, and releases the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_interrupted_before_applying_releases_the_lease_and_applies_nothing() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let a = stack(&server.url(), "A", "");
    server.set_faults(Faults {
        latency_ms: 1000,
        ..Faults::default()
    });
    let mut child = apply(a.path(), &[]).spawn().expect("start apply");
    wait_for_lease(&sandbox, &mut child).await;
    signal(&child, libc::SIGINT);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("Apply complete"), "{stdout}");
    assert_eq!(
        stderr,
        "Interrupted: nothing was applied; releasing the apply lease\n"
    );
    assert_eq!(tables(&sandbox), BTreeSet::new());
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new());
}

/// `apply PLANFILE` takes the lease before it checks the live state: with the lease held it is
/// refused as held (not as stale, and without applying); once free it applies the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_under_the_lease() {
    let server = KustoServer::start(&[DB]).await;
    let sandbox = server.sandbox();
    let a = stack(&server.url(), "A", "");
    let file = a.path().join("a.plan");
    let planned = output_off_runtime(kustoplan(
        a.path(),
        &["plan", "--out", file.to_str().expect("utf-8 path")],
    ))
    .await;
    assert_eq!(planned.status.code(), Some(0), "{:?}", text(&planned));
    let live = record("00000000000000000000000000000005", now() + 3600);
    write_lease(&sandbox, &live);

    let mut apply_file = common::cli::command();
    apply_file
        .arg("apply")
        .arg(&file)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .env_remove("KUSTOPLAN_SANDBOX_DIR");
    let out = output_off_runtime(apply_file).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stderr, refusal(&live));
    assert_eq!(tables(&sandbox), BTreeSet::new());

    sandbox
        .execute(
            DB,
            &format!(".drop table {}", table_name(STACK)),
            &Caller::cluster_admin("aaduser=test@localhost"),
        )
        .expect("drop the lease");
    let mut apply_file = common::cli::command();
    apply_file
        .arg("apply")
        .arg(&file)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .env_remove("KUSTOPLAN_SANDBOX_DIR");
    let out = output_off_runtime(apply_file).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(tables(&sandbox), names("A"));
    assert_eq!(lease_tables(&sandbox), Vec::<String>::new());
}
