//! plan/apply over real HTTP: the kustoplan binary and its Kusto client against the sandbox server
//! on loopback, including a connection dropped in the middle of an apply script.

use crate::common;

use common::cli::kustoplan_at;
use common::cli::write_stack;
use common::sandbox::{KustoServer, SCALE_STACK};
use kustoplan::sandbox::kusto::Faults;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_apply_leaves_exactly_the_remaining_changes_and_a_second_apply_converges() {
    let server = KustoServer::start(&["gamedb"]).await;
    let url = server.url();
    let local = tempfile::tempdir().expect("tempdir");

    let plan = kustoplan_at(
        &url,
        local.path(),
        &["plan", "examples/gameplay", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let before = server.stats();

    server.set_faults(Faults {
        drop_script_after: Some(2),
        ..Faults::default()
    });
    let cut = kustoplan_at(
        &url,
        local.path(),
        &["apply", "examples/gameplay", "--auto-approve"],
    )
    .await;
    assert_eq!(cut.code, 1, "{}{}", cut.stdout, cut.stderr);
    assert!(
        cut.stdout
            .contains("unknown kusto.gamedb.table.GamePlay (response lost; re-plan to see)"),
        "{}{}",
        cut.stdout,
        cut.stderr
    );
    cut.assert_stdout_contains("     ok kafka.topic.gameplay\n");
    cut.assert_stdout_contains("not run connect.main.connector.gameplay-kusto-sink");
    assert!(cut.stderr.contains("error: apply stopped: 1 of 6 commands confirmed; the outcome of 4 is unknown because the response was lost"), "{}", cut.stderr);
    assert_eq!(
        server.stats().mgmt - before.mgmt,
        2 + 4 + 1 + 4,
        "the apply lease taken (stage, rename), 4 bulk reads and 1 script, no blind retry of the \
         write, then the lease released (read, rename aside, read back, drop)"
    );
    server.set_faults(Faults::default());

    let remaining = kustoplan_at(
        &url,
        local.path(),
        &["plan", "examples/gameplay", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(remaining.code, 2);
    let addresses: Vec<&str> = remaining
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  + "))
        .collect();
    assert_eq!(
        addresses,
        vec![
            "kusto.gamedb.table.GamePlay.policy.ingestionbatching",
            "kusto.gamedb.role.admins.aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2",
            "connect.main.connector.gameplay-kusto-sink",
        ],
        "the topic, the table (with its ownership marker) and its mapping were created before the cut: {}",
        remaining.stdout
    );

    let finish = kustoplan_at(
        &url,
        local.path(),
        &["apply", "examples/gameplay", "--auto-approve"],
    )
    .await;
    assert_eq!(finish.code, 0, "{}", finish.stderr);
    assert!(
        finish
            .stdout
            .ends_with("Apply complete: 3 changes applied in 2 requests.\n"),
        "{}",
        finish.stdout
    );
    let done = kustoplan_at(
        &url,
        local.path(),
        &["plan", "examples/gameplay", "--detailed-exitcode"],
    )
    .await;
    done.assert_no_changes();
    server.shutdown().await;
}

/// A stack of `tables` tables in database `scaledb`, every table with table roles (admins and
/// ingestors) and batching or streaming policies, and the database with principals and both
/// policies: everything observe reads, at table and database level.
fn scale_stack(dir: &std::path::Path, tables: usize) {
    let mut docs = vec![
        SCALE_STACK.to_string(),
        "kind: Database\nname: scaledb\ningestion_batching: {max_time: 1m}\nstreaming_ingestion: true\nprincipals:\n  admins:\n    - {app: 00000000-0000-0000-0000-00000000a11d, tenant: 00000000-0000-0000-0000-0000000007e2, notes: AAD App}\n".to_string(),
    ];
    for i in 0..tables {
        let policy = if i % 2 == 0 {
            "ingestion_batching: {max_time: 10s, max_items: 5}"
        } else {
            "streaming_ingestion: true"
        };
        // Table roles are read from the schema script, which lists users by object id and has
        // no display names: a table-only user declared by object id matches without reading
        // the table's principals (declared by UPN, each table would cost one read).
        let owner =
            kustoplan::sandbox::kusto::resolved_fqn(&format!("aaduser=owner{i}@example.com"))
                .expect("valid");
        let (oid, tenant) = owner["aaduser=".len()..].split_once(';').expect("tenant");
        docs.push(format!(
            "kind: Table\nname: T{i}\ndatabase: scaledb\ncolumns:\n  - {{name: A, type: int}}\n{policy}\nprincipals:\n  admins:\n    - {{user: {oid}, tenant: {tenant}, notes: Owner {i}}}\n  ingestors:\n    - {{app: 00000000-0000-0000-0000-00000000a11d, tenant: 00000000-0000-0000-0000-0000000007e2}}\n"
        ));
    }
    write_stack(dir, &docs);
}

/// Observe costs 4 Kusto requests per database whatever the number of tables, also when every
/// table declares table roles and exists (the old per-table principal read would show), and what
/// apply wrote (table roles, policies at both levels) reads back with no drift.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_costs_a_constant_number_of_requests_whatever_the_number_of_tables() {
    let mut costs = Vec::new();
    for tables in [3usize, 300] {
        let server = KustoServer::start(&["scaledb"]).await;
        let url = server.url();
        let local = tempfile::tempdir().expect("tempdir");
        let stack = tempfile::tempdir().expect("tempdir");
        scale_stack(stack.path(), tables);
        let path = stack.path().to_str().expect("utf-8 path");

        let before = server.stats().mgmt;
        let empty = kustoplan_at(&url, local.path(), &["plan", path, "--detailed-exitcode"]).await;
        assert_eq!(empty.code, 2, "{}", empty.stderr);
        costs.push((tables, "plan from empty", server.stats().mgmt - before));

        let apply = kustoplan_at(&url, local.path(), &["apply", path, "--auto-approve"]).await;
        assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
        let live = server.sandbox().state();
        let db = &live.databases["scaledb"];
        assert_eq!(db.tables.len(), tables);
        assert!(db.tables.values().all(|t| t.principals.len() == 2));

        let before = server.stats().mgmt;
        let again = kustoplan_at(&url, local.path(), &["plan", path, "--detailed-exitcode"]).await;
        again.assert_no_changes();
        costs.push((tables, "plan after apply", server.stats().mgmt - before));
        server.shutdown().await;
    }
    assert_eq!(
        costs,
        vec![
            (3, "plan from empty", 4),
            (3, "plan after apply", 4),
            (300, "plan from empty", 4),
            (300, "plan after apply", 4),
        ]
    );
}

/// The four reads of a database go out together: with 1.5 s of latency per request, a plan
/// waits about one latency for Kusto, not four (sequential reads would take at least 6 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_sends_the_reads_of_a_database_concurrently() {
    let server = KustoServer::start(&["gamedb"]).await;
    // Latency keeps each request open long enough for the others to arrive if they are sent
    // together; the sandbox counts how many were open at once (no timing is asserted).
    server.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let local = tempfile::tempdir().expect("tempdir");
    let plan = kustoplan_at(&server.url(), local.path(), &["plan", "examples/gameplay"]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let stats = server.stats();
    assert_eq!(stats.mgmt, 4);
    assert_eq!(
        stats.max_in_flight, 4,
        "the four reads were not open at the same time"
    );
    assert_eq!(stats.in_flight, 0);
    server.shutdown().await;
}

/// A user declared by UPN who holds only a table role (telemetry's `oncall@example.com`, admin
/// of `DeviceAlerts`) is listed by the service by object id, and the schema script carries no
/// display name. Observe reads that one table's principals to name it, so the plan after apply
/// is empty (before: a re-grant on every plan) and costs one read more than the four bulk
/// reads, not one per table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_only_user_declared_by_upn_converges() {
    let server = KustoServer::start(&["telemetry"]).await;
    let url = server.url();
    let local = tempfile::tempdir().expect("tempdir");
    let apply = kustoplan_at(
        &url,
        local.path(),
        &["apply", "examples/telemetry", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    let live = server.sandbox().state();
    let oncall =
        kustoplan::sandbox::kusto::resolved_fqn("aaduser=oncall@example.com").expect("valid");
    assert!(
        live.databases["telemetry"].tables["DeviceAlerts"]
            .principals
            .iter()
            .any(|p| p.fqn == oncall),
        "the service lists the user by object id ({oncall})"
    );

    let before = server.stats().mgmt;
    let again = kustoplan_at(
        &url,
        local.path(),
        &["plan", "examples/telemetry", "--detailed-exitcode"],
    )
    .await;
    again.assert_no_changes();
    assert_eq!(
        server.stats().mgmt - before,
        5,
        "four bulk reads and one table's principals"
    );
    server.shutdown().await;
}

/// A plan whose manifests fail validation after the Kusto reads went out (they start as soon
/// as the documents are read) reports the problem alone and exits 1: no plan, no change, no
/// error of the abandoned reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_refused_by_validation_after_its_reads_started_reports_only_the_problem() {
    let server = KustoServer::start(&["scaledb"]).await;
    server.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let local = tempfile::tempdir().expect("tempdir");
    let stack = tempfile::tempdir().expect("tempdir");
    let table = "kind: Table\nname: T\ndatabase: scaledb\ncolumns:\n  - {name: A, type: int}\n";
    write_stack(
        stack.path(),
        &[
            SCALE_STACK.to_string(),
            "kind: Database\nname: scaledb\n".to_string(),
            table.to_string(),
            table.to_string(),
        ],
    );
    let path = stack.path().to_str().expect("utf-8 path");
    let plan = kustoplan_at(&server.url(), local.path(), &["plan", path]).await;
    assert_eq!(plan.code, 1, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.is_empty(), "{}", plan.stdout);
    assert!(
        plan.stderr
            .starts_with("error: duplicate table `scaledb.T`\n"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .ends_with("\n\nerror: 1 problem found; nothing was changed in any system\n"),
        "{}",
        plan.stderr
    );
    assert_eq!(plan.stderr.matches("error").count(), 2, "{}", plan.stderr);
    assert!(
        server.sandbox().state().databases["scaledb"]
            .tables
            .is_empty()
    );
}
