//! Ownership survives interruptions: the marker is part of `.create table`, so a script cut right
//! after it leaves a table the stack owns and may prune; and with `safety.prune` the connectors a
//! stack owns on a Connect cluster are pruned when its last Sink there is removed.

use crate::common;

use common::cli::{gameplay_copy, kustoplan, kustoplan_beside};

use common::sandbox::{KustoServer, stack_head};
use kustoplan::sandbox::kusto::Faults;

const TABLE: &str = "---
kind: Table
name: Events
database: gamedb
columns:
  - {name: Id, type: string}
mappings:
  - name: events_json
    kind: json
    columns:
      - {column: Id, path: $.id}
ingestion_batching: {max_time: 10s, max_items: 5, max_raw_size_mb: 100}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_created_by_a_cut_script_is_owned_and_can_be_pruned() {
    let server = KustoServer::start(&["gamedb"]).await;
    let stack = tempfile::tempdir().expect("tempdir");
    let head = stack_head(
        "events",
        &server.url(),
        "{method: none}",
        "safety: {prune: true}\n",
        "gamedb",
    );
    std::fs::write(stack.path().join("stack.yaml"), format!("{head}{TABLE}")).expect("write");
    let local = tempfile::tempdir().expect("tempdir");
    let (s, d) = (
        local.path().to_path_buf(),
        stack.path().to_str().expect("utf-8").to_string(),
    );

    server.set_faults(Faults {
        drop_script_after: Some(1),
        ..Faults::default()
    });
    let cut = kustoplan_beside(&s, &["apply", &d, "--auto-approve"]).await;
    assert_eq!(cut.code, 1, "{}\n{}", cut.stdout, cut.stderr);
    cut.assert_stdout_contains(
        r#".create table Events (Id:string) with (docstring = "[kustoplan:events]")"#,
    );
    server.set_faults(Faults::default());

    // The table is no longer declared: only the marker written with the create lets prune see
    // that this stack owns it.
    std::fs::write(stack.path().join("stack.yaml"), &head).expect("write");
    let plan = kustoplan_beside(&s, &["plan", &d, "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    plan.assert_stdout_contains("  - kusto.gamedb.table.Events [data-loss]\n");
}

#[test]
fn removing_the_last_sink_of_a_cluster_prunes_its_owned_connectors() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = gameplay_copy();
    let stack_yaml = stack.path().join("stack.yaml");
    let text = std::fs::read_to_string(&stack_yaml).expect("read");
    std::fs::write(
        &stack_yaml,
        text.replace("targets:\n", "safety: {prune: true}\ntargets:\n"),
    )
    .expect("write");
    let dir = stack.path().to_str().expect("utf-8");
    let applied = kustoplan(sandbox.path(), &["apply", dir, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    let kafka_yaml = stack.path().join("kafka.yaml");
    let kafka = std::fs::read_to_string(&kafka_yaml).expect("read");
    let sink = kafka.find("---\n").expect("second document");
    std::fs::write(&kafka_yaml, &kafka[..sink]).expect("write");
    let plan = kustoplan(sandbox.path(), &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    plan.assert_stdout_contains("  - connect.main.connector.gameplay-kusto-sink [data-loss]\n");
    let pruned = kustoplan(
        sandbox.path(),
        &["apply", dir, "--auto-approve", "--allow", "data-loss"],
    );
    assert_eq!(pruned.code, 0, "{}\n{}", pruned.stdout, pruned.stderr);
    let after = kustoplan(sandbox.path(), &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{}", after.stdout);
}

/// The marker of a function is in its `.create-or-alter function` command (the docstring), so a
/// function created by a script cut right after it is owned: pruned once it is no longer
/// declared, and only with `safety.prune`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_created_by_a_cut_script_is_owned_and_pruned_only_with_prune() {
    let server = KustoServer::start(&["gamedb"]).await;
    let stack = tempfile::tempdir().expect("tempdir");
    let head = |prune: bool| {
        stack_head(
            "events",
            &server.url(),
            "{method: none}",
            &format!("safety: {{prune: {prune}}}\n"),
            "gamedb",
        )
    };
    let function = "---\nkind: Function\nname: Recent\nparameters: [{name: n, type: long}]\nbody: |\n  print x = n\n  | take 1\n";
    std::fs::write(
        stack.path().join("stack.yaml"),
        format!("{}{function}", head(true)),
    )
    .expect("write");
    let local = tempfile::tempdir().expect("tempdir");
    let (s, d) = (
        local.path().to_path_buf(),
        stack.path().to_str().expect("utf-8").to_string(),
    );
    let run = |args: &'static [&'static str]| {
        let (s, d) = (s.clone(), d.clone());
        async move {
            let mut all = args.to_vec();
            all.insert(1, &d);
            kustoplan_beside(&s, &all).await
        }
    };

    server.set_faults(Faults {
        drop_script_after: Some(1),
        ..Faults::default()
    });
    let cut = run(&["apply", "--auto-approve"]).await;
    assert_eq!(cut.code, 1, "{}\n{}", cut.stdout, cut.stderr);
    cut.assert_stdout_contains(
        ".create-or-alter function with (docstring = \"[kustoplan:events]\") Recent(n:long)",
    );
    server.set_faults(Faults::default());
    let replan = run(&["plan", "--detailed-exitcode"]).await;
    replan.assert_no_changes_because("the cut script created the function");

    std::fs::write(stack.path().join("stack.yaml"), head(false)).expect("write");
    let kept = run(&["plan", "--detailed-exitcode"]).await;
    kept.assert_no_changes_because("without prune an undeclared function is left alone");
    std::fs::write(stack.path().join("stack.yaml"), head(true)).expect("write");
    let plan = run(&["plan", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    plan.assert_stdout_contains("  - kusto.gamedb.function.Recent [data-loss]\n");
}
