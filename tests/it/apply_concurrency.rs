//! Observe and apply over real HTTP with many databases and connectors: databases observed a
//! bounded number at a time, one Kusto script per database,
//! databases in flight at once up to the bound and never above it, a failure in one database
//! leaving the report exactly as the cluster is, and connector writes concurrent within their
//! bound, phase by phase, reported in plan order.

use crate::common;

use std::collections::BTreeSet;

use common::sandbox::{KustoServer, connect_server};

use kustoplan::interrupt::StopRequest;
use kustoplan::model::connect::RunState;
use kustoplan::model::kusto::{DatabaseState, KustoState};
use kustoplan::plan::{Action, Address, Change, ImpactClass, Operation, Phase, Target};
use kustoplan::providers::connect::converge::{self, Step};
use kustoplan::providers::connect::{ConnectClient, ConnectClientOptions};
use kustoplan::providers::kusto::apply::apply;
use kustoplan::providers::kusto::observe::{
    DATABASES_IN_FLIGHT, Prefetched, observe, observe_prefetched,
};
use kustoplan::providers::report::{ApplyReport, CommandOutcome};
use kustoplan::sandbox::connect::{ConnectFaults, KUSTO_SINK_CLASS};
use kustoplan::sandbox::kusto::{Caller, Faults, ServerHandle};

const DATABASES: usize = 6;
const TABLES: usize = 3;

fn database(i: usize) -> String {
    format!("db{i}")
}

/// The sandbox server with databases `db0..db{DATABASES}`.
async fn server() -> KustoServer {
    KustoServer::start(&(0..DATABASES).map(database).collect::<Vec<_>>()).await
}

fn change(db: &str, address: String, phase: Phase, command: String) -> Change {
    Change {
        address: address.parse().expect("address"),
        action: Action::Create,
        impact: ImpactClass::Safe,
        summary: String::new(),
        before: None,
        after: None,
        before_state: None,
        after_state: None,
        target: Target::Kusto {
            database: db.to_string(),
        },
        kusto_commands: vec![kustoplan::kusto::command::parse(&command).expect("command")],
        operations: Vec::new(),
        phase,
        previous_address: None,
    }
}

/// Tables in every database, then a column on each: sorted as a plan sorts them (by phase,
/// then address), so the databases interleave twice. `broken` ends with a command that fails.
fn changes(broken: Option<usize>) -> Vec<Change> {
    let mut out = Vec::new();
    for d in 0..DATABASES {
        let db = database(d);
        if broken == Some(d) {
            out.push(change(
                &db,
                format!("kusto.{db}.table.Missing.column.x"),
                Phase::KustoFunctions,
                ".alter column Missing.x type=long".to_string(),
            ));
        }
        for t in 0..TABLES {
            out.push(change(
                &db,
                format!("kusto.{db}.table.T{t}"),
                Phase::KustoTables,
                format!(".create table T{t} (x:int)"),
            ));
            out.push(change(
                &db,
                format!("kusto.{db}.table.T{t}.column.y"),
                Phase::KustoPolicies,
                format!(".alter-merge table T{t} (y:string)"),
            ));
        }
    }
    out.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
    out
}

/// The `kusto.DB.table.T` addresses of the tables the sandbox holds.
fn live_tables(server: &ServerHandle) -> BTreeSet<String> {
    server
        .sandbox()
        .state()
        .databases
        .iter()
        .flat_map(|(db, state)| {
            state
                .tables
                .keys()
                .map(move |t| format!("kusto.{db}.table.{t}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_database_is_one_script_and_databases_run_concurrently_within_the_bound() {
    let server = server().await;
    // Latency keeps each script in flight long enough for the others to be sent meanwhile.
    server.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let transport = server.transport();
    let changes = changes(None);
    let mut started = Vec::new();
    let report = apply(&transport, &changes, 3, &StopRequest::default(), |b| {
        started.push((b.number, b.total, b.database.to_string(), b.commands));
    })
    .await;

    assert!(report.succeeded(), "{report:?}");
    let stats = server.stats();
    assert_eq!(stats.mgmt, DATABASES as u64, "one script per database");
    assert_eq!(report.requests, DATABASES);
    assert!(
        stats.max_in_flight > 1,
        "scripts of different databases were in flight together"
    );
    assert!(stats.max_in_flight <= 3, "never more than the bound");
    started.sort();
    let expected: Vec<(usize, usize, String, usize)> = (0..DATABASES)
        .map(|d| (d + 1, DATABASES, database(d), 2 * TABLES))
        .collect();
    assert_eq!(started, expected, "batches are numbered in plan order");
    let reported: Vec<&str> = report.commands.iter().map(|(a, _, _)| a.as_str()).collect();
    let planned: Vec<&str> = changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(reported, planned, "the report keeps plan order");
    assert_eq!(live_tables(&server).len(), DATABASES * TABLES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_database_at_a_time_a_failure_leaves_every_later_database_not_run() {
    let server = server().await;
    let transport = server.transport();
    let changes = changes(Some(1));
    let report = apply(&transport, &changes, 1, &StopRequest::default(), |_| {}).await;

    assert_eq!(
        server.stats().mgmt,
        2,
        "db0's script, then db1's, which fails"
    );
    assert_eq!(server.stats().max_in_flight, 1);
    for (address, command, outcome) in &report.commands {
        let expected = if address == "kusto.db1.table.Missing.column.x" {
            assert!(matches!(outcome, CommandOutcome::Failed(r) if !r.is_empty()));
            continue;
        } else if address.as_str().starts_with("kusto.db0.")
            || address.as_str().starts_with("kusto.db1.")
        {
            // db1's commands before the failing one ran: a script is not transactional.
            CommandOutcome::Completed
        } else {
            CommandOutcome::NotRun
        };
        assert_eq!(*outcome, expected, "{address}: {command}");
    }
    let ran: BTreeSet<String> = (0..TABLES)
        .flat_map(|t| [0, 1].map(|d| format!("kusto.db{d}.table.T{t}")))
        .collect();
    assert_eq!(live_tables(&server), ran);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_databases_in_flight_a_failure_starts_nothing_new_and_the_report_matches_the_cluster()
{
    let server = server().await;
    server.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let transport = server.transport();
    let changes = changes(Some(0));
    let report = apply(&transport, &changes, 2, &StopRequest::default(), |_| {}).await;

    assert!(!report.succeeded());
    // Every database's commands are one script: all ran, or none started.
    let mut ran = BTreeSet::new();
    for d in 0..DATABASES {
        let prefix = format!("kusto.{}.", database(d));
        let outcomes: Vec<&CommandOutcome> = report
            .commands
            .iter()
            .filter(|(a, _, _)| a.as_str().starts_with(&prefix))
            .map(|(_, _, o)| o)
            .collect();
        if d == 0 {
            let (last, before) = outcomes.split_last().expect("db0 has commands");
            assert!(matches!(last, CommandOutcome::Failed(_)), "{last:?}");
            assert!(before.iter().all(|o| **o == CommandOutcome::Completed));
            ran.insert(d);
        } else if outcomes.iter().all(|o| **o == CommandOutcome::Completed) {
            ran.insert(d);
        } else {
            assert!(
                outcomes.iter().all(|o| **o == CommandOutcome::NotRun),
                "{outcomes:?}"
            );
        }
    }
    assert!(
        ran.len() < DATABASES,
        "the failure stopped databases from starting"
    );
    assert_eq!(server.stats().mgmt, ran.len() as u64);
    assert_eq!(report.requests, ran.len());
    assert!(server.stats().max_in_flight <= 2);
    let completed: BTreeSet<String> = report
        .commands
        .iter()
        .filter(|(a, _, o)| *o == CommandOutcome::Completed && !a.as_str().contains(".column."))
        .map(|(a, _, _)| a.to_string())
        .collect();
    assert_eq!(live_tables(&server), completed, "the report is the cluster");
}

fn sink_config(topic: &str) -> std::collections::BTreeMap<String, String> {
    [
        ("connector.class", KUSTO_SINK_CLASS),
        ("tasks.max", "1"),
        ("topics", topic),
        (
            "kusto.ingestion.url",
            "https://ingest-cluster.westeurope.kusto.windows.net",
        ),
        (
            "kusto.query.url",
            "https://cluster.westeurope.kusto.windows.net",
        ),
        ("aad.auth.strategy", "managed_identity"),
        ("aad.auth.appid", "11111111-2222-3333-4444-555555555555"),
        (
            "kusto.tables.topics.mapping",
            "[{'topic':'t','db':'db','table':'T','format':'json','mapping':'m'}]",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_writes_run_concurrently_within_the_bound_phase_by_phase_and_report_in_plan_order()
 {
    const CONNECTORS: usize = 8;
    let server = connect_server().await;
    server.set_faults(ConnectFaults {
        latency_ms: 200,
        ..ConnectFaults::default()
    });
    let client =
        ConnectClient::new(&server.url(), None, ConnectClientOptions::default()).expect("client");
    let name = |i: usize| format!("sink-{i}");
    let mut steps: Vec<Step> = (0..CONNECTORS)
        .map(|i| Step {
            address: Address::connector("main", &name(i)),
            phase: Phase::Connectors,
            operations: vec![Operation::CreateConnector {
                name: name(i),
                config: sink_config(&format!("topic-{i}")),
                initial_state: RunState::Running,
            }],
        })
        .collect();
    steps.push(Step {
        address: Address::connector("main", &name(0)),
        phase: Phase::ConnectorStates,
        operations: vec![Operation::PauseConnector { name: name(0) }],
    });
    let mut lines = Vec::new();
    let mut report = ApplyReport::default();
    converge::apply_cluster(
        &client,
        "main",
        steps.clone(),
        None,
        3,
        &StopRequest::default(),
        &mut |line| lines.push(line),
        &mut report,
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    let stats = server.stats();
    assert!(stats.max_in_flight > 1, "connectors were written together");
    assert!(stats.max_in_flight <= 3, "never more than the bound");
    assert_eq!(stats.route("POST /connectors"), CONNECTORS as u64);
    let reported: Vec<&str> = report.commands.iter().map(|(a, _, _)| a.as_str()).collect();
    let planned: Vec<&str> = steps.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(reported, planned, "the report keeps plan order");
    let pause = lines
        .iter()
        .position(|l| l == "PUT /connectors/sink-0/pause")
        .expect("pause sent");
    assert_eq!(
        pause, CONNECTORS,
        "the run state is sent after every config: {lines:?}"
    );
    let checked: Vec<&str> = report
        .verifications
        .iter()
        .map(|v| v.address.as_str())
        .collect();
    let mut names: Vec<String> = (0..CONNECTORS)
        .map(|i| format!("connect.main.connector.{}", name(i)))
        .collect();
    names.sort();
    assert_eq!(checked, names);
}

fn kustoplan_cli(sandbox: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::cli::command()
        .args(args)
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan")
}

#[test]
fn the_cli_takes_its_bounds_and_still_writes_connectors_after_kusto() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let zero = kustoplan_cli(
        sandbox.path(),
        &[
            "apply",
            "examples/gameplay",
            "--auto-approve",
            "--parallelism",
            "0",
        ],
    );
    assert_eq!(zero.status.code(), Some(1), "a usage error");
    assert!(
        String::from_utf8_lossy(&zero.stderr).contains("--parallelism"),
        "{}",
        String::from_utf8_lossy(&zero.stderr)
    );

    let out = kustoplan_cli(
        sandbox.path(),
        &[
            "apply",
            "examples/gameplay",
            "--auto-approve",
            "--parallelism",
            "2",
            "--connect-parallelism",
            "2",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let position = |needle: &str| {
        stderr
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` not in:\n{stderr}"))
    };
    assert!(
        position("Applying Kusto batch 1/1 in `gamedb` (")
            < position("then PUT /connectors/gameplay-kusto-sink/config"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_connector_write_starts_no_other_and_the_report_says_which_ran() {
    let server = connect_server().await;
    let client =
        ConnectClient::new(&server.url(), None, ConnectClientOptions::default()).expect("client");
    let steps: Vec<Step> = (0..4)
        .map(|i| {
            let mut config = sink_config(&format!("topic-{i}"));
            if i == 1 {
                config.remove("connector.class");
            }
            Step {
                address: Address::connector("main", &format!("sink-{i}")),
                phase: Phase::Connectors,
                operations: vec![Operation::CreateConnector {
                    name: format!("sink-{i}"),
                    config,
                    initial_state: RunState::Stopped,
                }],
            }
        })
        .collect();
    let mut report = ApplyReport::default();
    // One at a time, so which requests start is certain.
    converge::apply_cluster(
        &client,
        "main",
        steps,
        None,
        1,
        &StopRequest::default(),
        &mut |_| {},
        &mut report,
    )
    .await;

    let outcomes: Vec<&CommandOutcome> = report.commands.iter().map(|(_, _, o)| o).collect();
    assert_eq!(outcomes[0], &CommandOutcome::Completed);
    assert!(
        matches!(outcomes[1], CommandOutcome::Failed(_)),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes[2..],
        [&CommandOutcome::NotRun, &CommandOutcome::NotRun]
    );
    assert_eq!(server.stats().route("POST /connectors"), 2);
    assert_eq!(report.requests, 2);
}

/// More databases than the lease sends requests to at once, so its bound shows.
const LEASE_DATABASES: usize = kustoplan::providers::kusto::lease::LEASE_IN_FLIGHT + 4;

fn lease_request(command: &str) -> kustoplan::providers::kusto::lease::LeaseRequest {
    kustoplan::providers::kusto::lease::LeaseRequest {
        stack: "many".into(),
        databases: (0..LEASE_DATABASES).rev().map(database).collect(),
        command: command.into(),
        wait: std::time::Duration::ZERO,
        ttl: std::time::Duration::from_secs(600),
        stop: StopRequest::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_lease_is_taken_in_the_first_database_then_in_the_others_concurrently() {
    use kustoplan::kusto::lease::Holder;
    use kustoplan::providers::kusto::apply::DEFAULT_PARALLELISM;
    use kustoplan::providers::kusto::lease::{self, LEASE_IN_FLIGHT, LeaseError};

    let everywhere: Vec<String> = (0..LEASE_DATABASES).map(database).collect();
    let server = KustoServer::start(&everywhere).await;
    server.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let transport = std::sync::Arc::new(server.transport());
    let first = lease::acquire(transport.clone(), &lease_request("first"))
        .await
        .expect("the lease is free");
    let stats = server.stats();
    assert!(
        stats.max_in_flight > DEFAULT_PARALLELISM as u64,
        "databases after the first were taken together, more of them than scripts are sent at once: {stats:?}"
    );
    assert!(stats.max_in_flight <= LEASE_IN_FLIGHT as u64, "{stats:?}");
    let held = lease::holders(&transport, "many", &everywhere)
        .await
        .expect("holders");
    for (db, holder) in &held {
        assert!(
            matches!(holder, Some(Holder::Record(r)) if r.id == first.record().id),
            "{db} is held by the first applier: {holder:?}"
        );
    }

    // A second applier is stopped at the gate (the first database by name) and leaves nothing:
    // `live_tables` lists lease and side tables too.
    let tables_before = live_tables(&server);
    let refused = lease::acquire(transport.clone(), &lease_request("second")).await;
    match refused {
        Err(LeaseError::Held { database: at, .. }) => assert_eq!(at, database(0)),
        other => panic!("expected the lease to be held, got {other:?}"),
    }
    assert_eq!(
        live_tables(&server),
        tables_before,
        "the refused applier left no side table anywhere"
    );

    first.renew().await.expect("renewed in every database");
    first.release().await.expect("released");
    let held = lease::holders(&transport, "many", &everywhere)
        .await
        .expect("holders");
    assert!(held.iter().all(|(_, h)| h.is_none()), "{held:?}");
    assert!(
        server.stats().max_in_flight <= LEASE_IN_FLIGHT as u64,
        "renewing and releasing keep the bound too"
    );
}

/// `count` new tables in `db0`, one change each, all in the tables phase; with `failing_at`,
/// that change instead sets a policy on a table that does not exist (its command fails).
fn one_database_tables(count: usize, failing_at: Option<usize>) -> Vec<Change> {
    let db = database(0);
    (0..count)
        .map(|t| {
            if failing_at == Some(t) {
                change(
                    &db,
                    format!("kusto.{db}.table.Missing"),
                    Phase::KustoTables,
                    ".alter table Missing policy caching hot = 7d".to_string(),
                )
            } else {
                change(
                    &db,
                    format!("kusto.{db}.table.T{t}"),
                    Phase::KustoTables,
                    format!(".create table T{t} (x:int)"),
                )
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_of_one_database_on_disjoint_tables_are_in_flight_together_within_the_bound() {
    let server = server().await;
    // Latency keeps each script in flight long enough for the next to be sent meanwhile.
    server.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let transport = server.transport();
    let changes = one_database_tables(2500, None);
    let mut started = Vec::new();
    let report = apply(&transport, &changes, 2, &StopRequest::default(), |b| {
        started.push((b.number, b.total, b.commands));
    })
    .await;

    assert!(report.succeeded(), "{report:?}");
    let stats = server.stats();
    assert_eq!(stats.mgmt, 3, "1,000 commands per script");
    assert_eq!(report.requests, 3);
    assert!(
        stats.max_in_flight > 1,
        "scripts of one database on different tables were in flight together"
    );
    assert!(stats.max_in_flight <= 2, "never more than the bound");
    started.sort();
    assert_eq!(started, vec![(1, 3, 1000), (2, 3, 1000), (3, 3, 500)]);
    let reported: Vec<&str> = report.commands.iter().map(|(a, _, _)| a.as_str()).collect();
    let planned: Vec<&str> = changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(reported, planned, "the report keeps plan order");
    assert_eq!(live_tables(&server).len(), 2500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_next_to_scripts_in_flight_of_its_database_leaves_the_report_exact() {
    let server = server().await;
    server.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let transport = server.transport();
    // The first script fails half-way; the second is in flight beside it; the third starts
    // only if a slot frees before the failure is known.
    let changes = one_database_tables(2500, Some(500));
    let report = apply(&transport, &changes, 2, &StopRequest::default(), |_| {}).await;

    assert!(!report.succeeded());
    let outcomes: Vec<&CommandOutcome> = report.commands.iter().map(|(_, _, o)| o).collect();
    assert!(
        outcomes[..500]
            .iter()
            .all(|o| **o == CommandOutcome::Completed)
    );
    assert!(matches!(outcomes[500], CommandOutcome::Failed(r) if !r.is_empty()));
    assert!(
        outcomes[501..1000]
            .iter()
            .all(|o| **o == CommandOutcome::NotRun),
        "a script stops at its failed command"
    );
    for script in [&outcomes[1000..2000], &outcomes[2000..]] {
        let ran = script.iter().all(|o| **o == CommandOutcome::Completed);
        let not_run = script.iter().all(|o| **o == CommandOutcome::NotRun);
        assert!(ran || not_run, "a later script ran whole or never started");
    }
    assert!(
        outcomes[1000..2000]
            .iter()
            .all(|o| **o == CommandOutcome::Completed),
        "the script in flight beside the failing one ran"
    );
    assert_eq!(server.stats().mgmt, report.requests as u64);
    assert!(server.stats().max_in_flight <= 2);
    let completed: BTreeSet<String> = report
        .commands
        .iter()
        .filter(|(_, _, o)| *o == CommandOutcome::Completed)
        .map(|(a, _, _)| a.to_string())
        .collect();
    assert_eq!(live_tables(&server), completed, "the report is the cluster");
}

/// A desired state of the databases `names`, each declaring nothing: what observe reads.
fn declaring_nothing_in(names: &[String]) -> KustoState {
    KustoState {
        databases: names
            .iter()
            .map(|name| {
                let declared = DatabaseState {
                    name: name.clone(),
                    ..DatabaseState::default()
                };
                (name.clone(), declared)
            })
            .collect(),
    }
}

/// Regression: observe read every database at once (400 requests for 100 databases), and a
/// server serving 256 connections made the rest wait 30 s for idle ones to time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_reads_a_bounded_number_of_databases_at_once() {
    let names: Vec<String> = (0..DATABASES_IN_FLIGHT + 4)
        .map(|i| format!("obs{i}"))
        .collect();
    let server = KustoServer::start(&names).await;
    // Latency keeps each read in flight long enough for the others to be sent meanwhile.
    server.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let desired = declaring_nothing_in(&names);
    let observed = observe(&std::sync::Arc::new(server.transport()), &desired)
        .await
        .expect("observe");

    assert_eq!(
        observed.databases.keys().collect::<Vec<_>>(),
        desired.databases.keys().collect::<Vec<_>>()
    );
    let stats = server.stats();
    assert_eq!(
        stats.mgmt,
        4 * names.len() as u64,
        "four reads per database"
    );
    assert!(
        stats.max_in_flight <= 4 * DATABASES_IN_FLIGHT as u64,
        "at most {DATABASES_IN_FLIGHT} databases at once: {stats:?}"
    );
    assert!(
        stats.max_in_flight > 4,
        "databases are read concurrently: {stats:?}"
    );
}

/// Reads started early (while a read-only command checks its manifests) are the reads observe
/// would send: taken instead of sent again, no more in flight than observe's own bound, and
/// the same observed state as without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetched_reads_replace_observes_own_and_keep_its_bound() {
    let names: Vec<String> = (0..DATABASES_IN_FLIGHT + 4)
        .map(|i| format!("pre{i}"))
        .collect();
    let server = KustoServer::start(&names).await;
    for name in &names {
        server
            .sandbox()
            .execute(
                name,
                &format!(".create table T_{name} (A:int, B:string)"),
                &Caller::cluster_admin("aaduser=test@localhost"),
            )
            .expect("create table");
    }
    server.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let desired = declaring_nothing_in(&names);
    let transport = std::sync::Arc::new(server.transport());
    let plain = observe(&transport, &desired).await.expect("observe");
    let before = server.stats();

    // Started in any order, with a repeat: only the first databases in name order are sent.
    let prefetched = Prefetched::start(
        &tokio::runtime::Handle::current(),
        &transport,
        names.iter().rev().chain(&names).cloned(),
    );
    let early = observe_prefetched(&transport, &desired, prefetched)
        .await
        .expect("observe");

    assert_eq!(early, plain);
    assert!(early.databases["pre3"].tables.contains_key("T_pre3"));
    let stats = server.stats();
    assert_eq!(
        stats.mgmt - before.mgmt,
        4 * names.len() as u64,
        "four reads per database, none sent twice"
    );
    assert!(
        stats.max_in_flight <= 4 * DATABASES_IN_FLIGHT as u64,
        "at most {DATABASES_IN_FLIGHT} databases at once: {stats:?}"
    );
}
