//! Apply order protects running pipelines: a route is re-pointed (its connector updated) before
//! the table it used is dropped, and a connector declared paused or stopped is created in that
//! state with `POST /connectors` and `initial_state` (KIP-980), never briefly running.

use crate::common;

use common::cli::{edit, gameplay_copy, kustoplan, prune_on};

use kustoplan::sandbox::connect::{ConnectSandbox, TargetState};

fn position(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{text}"))
}

#[test]
fn a_route_is_re_pointed_before_the_table_it_used_is_dropped() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = gameplay_copy();
    prune_on(stack.path());
    let dir = stack.path().to_str().expect("utf-8");
    assert_eq!(
        kustoplan(sandbox.path(), &["apply", dir, "--auto-approve"]).code,
        0
    );
    edit(
        stack.path(),
        "kusto.yaml",
        "name: GamePlay\n",
        "name: GamePlayV2\n",
    );
    edit(
        stack.path(),
        "kafka.yaml",
        "table: GamePlay\n",
        "table: GamePlayV2\n",
    );
    let run = kustoplan(
        sandbox.path(),
        &[
            "apply",
            dir,
            "--auto-approve",
            "--allow",
            "data-loss",
            "--allow",
            "restart",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // In the plan and in the report, the connector is updated before the old table is dropped.
    for (plan_or_report, connector, drop) in [
        (
            "plan",
            "  ~ connect.main.connector.gameplay-kusto-sink",
            "  - kusto.gamedb.table.GamePlay [data-loss]",
        ),
        (
            "report",
            "     ok connect.main.connector.gameplay-kusto-sink\n",
            "     ok kusto.gamedb.table.GamePlay\n",
        ),
    ] {
        assert!(
            position(&run.stdout, connector) < position(&run.stdout, drop),
            "{plan_or_report}: {}",
            run.stdout
        );
    }
    let again = kustoplan(sandbox.path(), &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn connectors_declared_paused_or_stopped_are_created_in_that_state() {
    for (state, target) in [
        ("paused", TargetState::Paused),
        ("stopped", TargetState::Stopped),
    ] {
        let sandbox = tempfile::tempdir().expect("tempdir");
        let stack = gameplay_copy();
        edit(
            stack.path(),
            "kafka.yaml",
            "tasks_max: 1\n",
            &format!("tasks_max: 1\nstate: {state}\n"),
        );
        let dir = stack.path().to_str().expect("utf-8");
        let run = kustoplan(sandbox.path(), &["apply", dir, "--auto-approve"]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        run.assert_stdout_contains(&format!(
                "PUT /connector-plugins/KustoSinkConnector/config/validate, then POST /connectors gameplay-kusto-sink (initial_state {})",
                state.to_ascii_uppercase()
            ));
        assert!(
            !run.stdout.contains("/pause") && !run.stdout.contains("/stop"),
            "no separate state change after the create: {}",
            run.stdout
        );
        let connect = ConnectSandbox::open(&sandbox.path().join("connect").join("main"))
            .expect("open connect sandbox");
        assert_eq!(
            connect.state().connectors["gameplay-kusto-sink"].target,
            target
        );
        drop(connect);
        let again = kustoplan(sandbox.path(), &["plan", dir, "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}", again.stdout);
    }
}
