//! `plan` and `apply` as a user runs them, against the built-in sandbox persisted in a temp dir.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::cli::{Run, edit, gameplay_copy, prune_on, widen_score};

fn kustoplan(sandbox: &Path, args: &[&str]) -> Run {
    let out = common::cli::command()
        .args(args)
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env_remove("NO_COLOR")
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan");
    Run::from(out)
}

/// A sandbox and an editable copy of the gameplay stack, already applied.
fn applied_stack() -> (tempfile::TempDir, tempfile::TempDir) {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = gameplay_copy();
    let dir = stack.path().to_str().expect("utf-8 path");
    assert_eq!(
        kustoplan(sandbox.path(), &["apply", dir, "--auto-approve"]).code,
        0
    );
    (sandbox, stack)
}

#[test]
fn create_from_empty_then_no_op_replan() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let plan = kustoplan(s, &["plan", "examples/gameplay", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(
        plan.stdout
            .ends_with("Plan: 6 to create, 0 to update, 0 to delete.\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            r#"      +kusto.tables.topics.mapping = [{"topic":"gameplay","db":"gamedb","table":"GamePlay","format":"json","mapping":"gameplay_json_mapping","streaming":false}]"#
        ),
        "a created connector shows its whole config: {}",
        plan.stdout
    );
    plan.assert_stdout_contains("      +value.converter.schemas.enable = false\n");
    let apply = kustoplan(s, &["apply", "examples/gameplay", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply
            .stdout
            .ends_with("Apply complete: 6 changes applied in 3 requests.\n"),
        "{}",
        apply.stdout
    );
    for _ in 0..2 {
        let again = kustoplan(s, &["plan", "examples/gameplay", "--detailed-exitcode"]);
        again.assert_no_changes();
    }
}

#[test]
fn add_column_then_retype_is_refused_until_allowed() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));

    edit(
        stack.path(),
        "kusto.yaml",
        "  - {name: EventTime, type: datetime}\n",
        "  - {name: EventTime, type: datetime}\n  - {name: Level, type: string}\n",
    );
    let add = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    add.assert_stdout_contains(
        "add column Level: string\n      .alter-merge table GamePlay (Level:string)\n",
    );

    widen_score(stack.path());
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(refused.code, 1);
    refused.assert_stdout_contains("  ~ kusto.gamedb.table.GamePlay.column.Score [data-loss]\n");
    assert!(
        refused.stderr.contains(
            "error: refusing data-loss change to kusto.gamedb.table.GamePlay.column.Score"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("help: nothing was applied; rerun with --allow data-loss"),
        "{}",
        refused.stderr
    );
    let still = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(still.code, 2, "the refused apply changed nothing");

    let allowed = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(kustoplan(s, &["plan", dir, "--detailed-exitcode"]).code, 0);
}

#[test]
fn mapping_and_policy_changes_show_a_unified_diff() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    edit(
        stack.path(),
        "kusto.yaml",
        "path: $.score,",
        "path: $.points,",
    );
    edit(stack.path(), "kusto.yaml", "max_items: 5", "max_items: 50");
    let plan = kustoplan(s, &["plan", dir]);
    assert_eq!(plan.code, 0);
    plan.assert_stdout_contains("  ~ kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping\n");
    plan.assert_stdout_contains("      -      \"Path\": \"$.score\"\n");
    plan.assert_stdout_contains("      +      \"Path\": \"$.points\"\n");
    plan.assert_stdout_contains("-  \"MaximumNumberOfItems\": 5,\n");
    plan.assert_stdout_contains("+  \"MaximumNumberOfItems\": 50,\n");
    assert!(
        plan.stdout
            .ends_with("Plan: 0 to create, 2 to update, 0 to delete.\n"),
        "{}",
        plan.stdout
    );
}

#[test]
fn saved_plans_apply_exactly_and_refuse_when_stale() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let work = tempfile::tempdir().expect("tempdir");
    let plan_file = work.path().join("gameplay.plan");
    let plan_path = plan_file.to_str().expect("utf-8 path");
    let plan = kustoplan(s, &["plan", "examples/gameplay", "--out", plan_path]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let saved = std::fs::read_to_string(&plan_file).expect("plan file");
    assert!(saved.contains("\"fingerprint\""));
    // The connector's credential is in the plan only as the reference the manifest gives: in
    // the request apply sends and in the change's `after_state`.
    let reference = r#""aad.auth.appkey": "${file:/opt/kafka/secrets/kusto.properties:appkey}""#;
    assert_eq!(saved.matches(reference).count(), 2, "{saved}");
    assert_eq!(saved.matches("appkey\"").count(), 2, "{saved}");

    let other = tempfile::tempdir().expect("tempdir");
    let other_plan = other.path().join("other.plan");
    assert_eq!(
        kustoplan(
            s,
            &[
                "plan",
                "examples/gameplay",
                "--out",
                other_plan.to_str().expect("utf-8")
            ]
        )
        .code,
        0
    );

    let applied = kustoplan(s, &["apply", plan_path, "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    applied.assert_stdout_contains("Apply complete: 6 changes applied");

    let stale = kustoplan(
        s,
        &[
            "apply",
            other_plan.to_str().expect("utf-8"),
            "--auto-approve",
        ],
    );
    assert_eq!(stale.code, 1);
    assert!(
        stale
            .stderr
            .starts_with("error: stale plan: the live state changed since the plan was made"),
        "{}",
        stale.stderr
    );
}

#[test]
fn formats_and_non_interactive_confirmation() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let md = kustoplan(s, &["plan", "examples/gameplay", "--format", "markdown"]);
    assert!(md.stdout.starts_with("### kustoplan: stack `gameplay` · environment `local`\n\n**Plan: 6 to create, 0 to update, 0 to delete.**\n"), "{}", md.stdout);
    let json = kustoplan(s, &["plan", "examples/gameplay", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json plan");
    assert_eq!(v["summary"]["create"], 6);
    assert_eq!(
        v["changes"][0]["address"], "kafka.topic.gameplay",
        "topics come first"
    );
    assert_eq!(
        v["changes"][5]["address"], "connect.main.connector.gameplay-kusto-sink",
        "connectors come last"
    );
    let no_tty = kustoplan(s, &["apply", "examples/gameplay"]);
    assert_eq!(no_tty.code, 1);
    assert!(
        no_tty
            .stderr
            .contains("pass --auto-approve when not running in a terminal"),
        "{}",
        no_tty.stderr
    );
    assert_eq!(
        kustoplan(s, &["plan", "examples/gameplay", "--detailed-exitcode"]).code,
        2,
        "nothing was applied"
    );
}

#[test]
fn invalid_manifests_send_nothing() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let run = kustoplan(
        sandbox.path(),
        &["plan", "tests/fixtures/invalid/wrong-type.yaml"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .ends_with("error: 2 problems found; nothing was changed in any system\n"),
        "{}",
        run.stderr
    );
    assert!(
        std::fs::read_dir(sandbox.path())
            .expect("dir")
            .next()
            .is_none(),
        "the sandbox was not even opened"
    );
}

/// Runs kustoplan under a pseudo-terminal (util-linux `script`), typing `answer`.
fn on_a_terminal(sandbox: &Path, args: &str, answer: &str) -> Option<Run> {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "`script` (util-linux) is needed in CI"
        );
        eprintln!("SKIPPED: `script` is not installed");
        return None;
    }
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", common::kustoplan_bin().display()),
            "/dev/null",
        ])
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start script");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("type");
    let out = child.wait_with_output().expect("wait");
    Some(Run::from(out))
}

#[test]
fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let Some(no) = on_a_terminal(s, "apply examples/gameplay", "no\n") else {
        return;
    };
    assert_eq!(no.code, 1, "{}{}", no.stdout, no.stderr);
    no.assert_stdout_contains("Do you want to apply these changes? Only 'yes' is accepted:");
    no.assert_stdout_contains("Apply cancelled; nothing was changed.");
    assert!(no.stdout.contains("\x1b["), "a terminal gets colours");
    assert_eq!(
        kustoplan(s, &["plan", "examples/gameplay", "--detailed-exitcode"]).code,
        2
    );
    let Some(yes) = on_a_terminal(s, "apply examples/gameplay", "yes\n") else {
        return;
    };
    assert_eq!(yes.code, 0, "{}{}", yes.stdout, yes.stderr);
    yes.assert_stdout_contains("Apply complete: 6 changes applied in 3 requests.");
}

#[test]
fn principals_added_and_removed_and_drift_behind_our_back() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));

    edit(
        stack.path(),
        "kusto.yaml",
        "      notes: AAD App\n",
        "      notes: AAD App\n  viewers:\n    - {user: analyst@example.com}\n",
    );
    let add = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(add.code, 0, "{}", add.stderr);
    add.assert_stdout_contains("  + kusto.gamedb.role.viewers.aaduser=analyst@example.com\n");
    add.assert_stdout_contains(r#".add database gamedb viewers ("aaduser=analyst@example.com")"#);
    // The service lists the user by object id, the UPN only in the display name: the plan
    // still converges, and pruning does not revoke the declared user.
    let analyst =
        kustoplan::sandbox::kusto::resolved_fqn("aaduser=analyst@example.com").expect("valid");
    assert!(live_principals(s).contains(&analyst));
    assert!(live_principals(s).contains("analyst (upn: analyst@example.com)"));
    let converged = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    converged.assert_no_changes();
    prune_on(stack.path());
    let pruned = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    pruned.assert_no_changes_because("prune never revokes a declared user");
    edit(
        stack.path(),
        "stack.yaml",
        "safety: {prune: true}\ntargets:\n",
        "targets:\n",
    );

    edit(
        stack.path(),
        "kusto.yaml",
        "  viewers:\n    - {user: analyst@example.com}\n",
        "",
    );
    let kept = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(
        (kept.code, kept.stdout.as_str()),
        (
            0,
            "No changes. 1 undeclared principal in roles the manifests do not list was left in place.\n"
        ),
        "without pruning an undeclared principal in an unlisted role is left alone, and said so"
    );

    prune_on(stack.path());
    let removal = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(
        removal.code, 1,
        "role removal is data-loss: {}",
        removal.stdout
    );
    removal.assert_stdout_contains(&format!(
        "  - kusto.gamedb.role.viewers.{analyst} [data-loss]\n"
    ));
    let removed = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    removed.assert_stdout_contains(&format!(r#".drop database gamedb viewers ("{analyst}")"#));

    // Someone drops the mapping by hand: the next plan puts it back.
    let sandbox_state = kustoplan::sandbox::kusto::KustoSandbox::open(s, &["gamedb".to_string()])
        .expect("open sandbox");
    sandbox_state
        .execute(
            "gamedb",
            ".drop table GamePlay ingestion json mapping 'gameplay_json_mapping'",
            &kustoplan::sandbox::kusto::Caller::cluster_admin("aaduser=someone"),
        )
        .expect("drop by hand");
    drop(sandbox_state);
    let drift = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(drift.code, 2);
    drift.assert_stdout_contains("  + kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping\n");
}

/// `.show database gamedb principals` of the sandbox in `dir`, as JSON text.
fn live_principals(dir: &Path) -> String {
    let sandbox = kustoplan::sandbox::kusto::KustoSandbox::open(dir, &["gamedb".to_string()])
        .expect("open sandbox");
    let shown = sandbox
        .execute(
            "gamedb",
            ".show database gamedb principals",
            &kustoplan::sandbox::kusto::Caller::cluster_admin("aaduser=someone"),
        )
        .expect("show principals");
    serde_json::to_string(&shown).expect("principals as JSON")
}

/// Adds a principal behind kustoplan's back.
fn grant_by_hand(dir: &Path, csl: &str) {
    let sandbox = kustoplan::sandbox::kusto::KustoSandbox::open(dir, &["gamedb".to_string()])
        .expect("open sandbox");
    sandbox
        .execute(
            "gamedb",
            csl,
            &kustoplan::sandbox::kusto::Caller::cluster_admin("aaduser=someone"),
        )
        .expect("grant by hand");
}

#[test]
fn a_listed_role_is_the_exact_set_even_when_empty() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    let viewer = "aadapp=00000000-0000-0000-0000-00000000beef;72f988bf-86f1-41af-91ab-2d7cd011db47";
    grant_by_hand(s, &format!(".add database gamedb viewers ('{viewer}')"));

    let kept = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(
        (kept.code, kept.stdout.as_str()),
        (
            0,
            "No changes. 1 undeclared principal in roles the manifests do not list was left in place.\n"
        )
    );

    edit(
        stack.path(),
        "kusto.yaml",
        "      notes: AAD App\n",
        "      notes: AAD App\n  viewers: []\n",
    );
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let address = format!("kusto.gamedb.role.viewers.{viewer}");
    let summary = format!(
        "revoke viewers from {viewer} (not in the declared viewers list; access is removed)"
    );
    refused.assert_stdout_contains(&format!(
            "  - {address} [data-loss]\n      {summary}\n      .drop database gamedb viewers (\"{viewer}\")\n"
        ));
    assert!(
        refused.stdout.ends_with("Plan: 0 to create, 0 to update, 1 to delete. 1 change needs --allow data-loss (or `safety.allow` in the Stack).\n"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains(&format!(
            "error: refusing data-loss change to {address}: {summary}\n"
        )),
        "{}",
        refused.stderr
    );
    assert!(
        live_principals(s).contains(viewer),
        "a refused plan revokes nothing"
    );

    let removed = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(!live_principals(s).contains(viewer));
    assert!(
        live_principals(s).contains("AAD App"),
        "the declared admin stays"
    );
    let converged = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    converged.assert_no_changes();
}

#[test]
fn restart_failed_restarts_only_failed_tasks_when_asked() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    let connect =
        kustoplan::sandbox::connect::ConnectSandbox::open(&s.join("connect").join("main"))
            .expect("connect sandbox");
    assert!(
        connect
            .fail_task(
                "gameplay-kusto-sink",
                0,
                "java.lang.RuntimeException: ingestion failed\n\tat Sink.put"
            )
            .expect("fail task")
    );
    drop(connect);

    let plain = kustoplan(s, &["apply", dir, "--auto-approve"]);
    plain.assert_no_changes_because("a failed task is not drift");

    let restarted = kustoplan(s, &["apply", dir, "--auto-approve", "--restart-failed"]);
    assert_eq!(
        restarted.code, 0,
        "{}{}",
        restarted.stdout, restarted.stderr
    );
    assert!(
        restarted.stderr.contains(
            "POST /connectors/gameplay-kusto-sink/restart?includeTasks=true&onlyFailed=true"
        ),
        "{}",
        restarted.stderr
    );
    restarted
        .assert_stdout_contains("Restarted the failed tasks of 1 connector(s); they run again.");

    let again = kustoplan(s, &["apply", dir, "--auto-approve", "--restart-failed"]);
    assert!(
        again
            .stdout
            .ends_with("No failed connector tasks to restart.\n"),
        "{}",
        again.stdout
    );
}

#[test]
fn connect_validation_errors_stop_apply_before_anything_is_written() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let stack = gameplay_copy();
    let dir = stack.path().to_str().expect("utf-8 path");
    edit(
        stack.path(),
        "kafka.yaml",
        "routes:\n",
        "config:\n  behavior.on.error: explode\nroutes:\n",
    );
    let apply = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stderr
            .contains("error: connect.main.connector.gameplay-kusto-sink: `behavior.on.error`:"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("nothing was changed"),
        "{}",
        apply.stderr
    );
    let plan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout.contains("Plan: 6 to create"),
        "not even the topic was created: {}",
        plan.stdout
    );
}

#[test]
fn topics_grow_and_change_configs_but_never_shrink() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    edit(
        stack.path(),
        "kafka.yaml",
        "partitions: 4\n",
        "partitions: 6\nconfig: {retention.ms: 86400000}\n",
    );
    // Lowering retention below the broker default deletes records: refused unless allowed.
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.starts_with(
            "error: refusing data-loss change to kafka.topic.gameplay.config: set retention.ms on topic gameplay (retention.ms may delete records the broker keeps today)\n"
        ),
        "{}",
        refused.stderr
    );
    let grow = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(grow.code, 0, "{}{}", grow.stdout, grow.stderr);
    grow.assert_stdout_contains("      CreatePartitions gameplay to 6\n");
    grow.assert_stdout_contains(
        "      IncrementalAlterConfigs gameplay: set retention.ms=86400000\n",
    );
    assert_eq!(
        kustoplan(s, &["plan", dir, "--detailed-exitcode"]).code,
        0,
        "converged"
    );

    edit(
        stack.path(),
        "kafka.yaml",
        "partitions: 6\n",
        "partitions: 2\n",
    );
    let shrink = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(shrink.code, 1);
    assert!(
        shrink.stderr.starts_with(
            "error: kafka.topic.gameplay: topic gameplay has 6 partitions and cannot shrink to 2; declare 6 or more (or recreate the topic by hand)\n"
        ),
        "{}",
        shrink.stderr
    );
}

/// Rows are data, not configuration: ingesting into a managed table changes neither the plan
/// nor the fingerprint of the observed state (so a saved plan does not go stale either).
#[test]
fn ingested_rows_change_neither_the_plan_nor_its_fingerprint() {
    use kustoplan::sandbox::kusto::{Caller, KustoSandbox};

    let (sandbox, stack) = applied_stack();
    let s = sandbox.path();
    let dir = stack.path().to_str().expect("utf-8 path");
    let fingerprint = |run: &Run| -> String {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan json");
        plan["fingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_string()
    };
    let before = fingerprint(&kustoplan(s, &["plan", dir, "--format", "json"]));
    let plan_file = stack.path().join("before.plan");
    let saved = kustoplan(
        s,
        &["plan", dir, "--out", plan_file.to_str().expect("utf-8")],
    );
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    {
        let kusto = KustoSandbox::open(s, &[]).expect("open the sandbox");
        let admin = Caller::cluster_admin("aaduser=test");
        kusto
            .execute(
                "gamedb",
                ".ingest inline into table GamePlay with (tags='[\"drop-by:t\"]') <| 1,2,3,4",
                &admin,
            )
            .expect("ingest");
        let count = kusto
            .query("gamedb", "GamePlay | count", &admin)
            .expect("count");
        assert_eq!(count.rows, vec![vec![serde_json::json!(1)]]);
    }
    let after = fingerprint(&kustoplan(s, &["plan", dir, "--format", "json"]));
    assert_eq!(after, before);
    let replan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(replan.code, 0, "{}{}", replan.stdout, replan.stderr);
    let apply = kustoplan(
        s,
        &[
            "apply",
            plan_file.to_str().expect("utf-8"),
            "--auto-approve",
        ],
    );
    assert_eq!(
        apply.code, 0,
        "the saved plan is not stale: {}",
        apply.stderr
    );
}

const FUNCTION: &str = "# yaml-language-server: $schema=../../schemas/kustoplan.schema.json
kind: Function
name: TopPlayers
folder: Queries
docstring: Players with the most events.
parameters:
  - {name: n, type: long}
  - {name: since, type: timespan}
body: |
  GamePlay
  | where EventTime > ago(since)
  | summarize events = count() by PlayerID
  | top n by events
";

#[test]
fn functions_plan_apply_replan_and_prune() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    std::fs::write(stack.path().join("functions.yaml"), FUNCTION).expect("write");

    let create = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(create.code, 0, "{}{}", create.stdout, create.stderr);
    create.assert_stdout_contains("  + kusto.gamedb.function.TopPlayers\n      create function TopPlayers(n:long, since:timespan)\n");
    let again = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    again.assert_no_changes();

    // Re-indented and with CRLF line endings: the same function.
    let respaced = FUNCTION
        .replace("  | where", "      | where")
        .replace('\n', "\r\n");
    std::fs::write(stack.path().join("functions.yaml"), respaced).expect("write");
    let same = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    same.assert_no_changes();

    // A real change is an in-place update, applied without any flag.
    std::fs::write(stack.path().join("functions.yaml"), FUNCTION).expect("write");
    edit(
        stack.path(),
        "functions.yaml",
        "| where EventTime >",
        "| where EventTime >=",
    );
    let update = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(update.code, 0, "{}{}", update.stdout, update.stderr);
    update.assert_stdout_contains(
        "  ~ kusto.gamedb.function.TopPlayers\n      update function TopPlayers: body\n",
    );
    update.assert_stdout_contains(
        "      -| where EventTime > ago(since)\n      +| where EventTime >= ago(since)\n",
    );
    let converged = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(converged.code, 0, "{}", converged.stdout);

    // No longer declared: left alone without prune, dropped (data-loss) with it.
    std::fs::remove_file(stack.path().join("functions.yaml")).expect("remove");
    let kept = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    kept.assert_no_changes();
    prune_on(stack.path());
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    refused.assert_stdout_contains("  - kusto.gamedb.function.TopPlayers [data-loss]\n");
    let dropped = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(dropped.code, 0, "{}", dropped.stderr);
    dropped.assert_stdout_contains("      .drop function TopPlayers ifexists\n");
    let gone = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    gone.assert_no_changes();
}

/// Ingests `rows` (CSV) into `table` of the sandbox and returns the table's row count.
fn ingest_rows(sandbox: &Path, table: &str, rows: &str) -> serde_json::Value {
    use kustoplan::sandbox::kusto::{Caller, KustoSandbox};
    let kusto = KustoSandbox::open(sandbox, &[]).expect("open the sandbox");
    let admin = Caller::cluster_admin("aaduser=test");
    kusto
        .execute(
            "gamedb",
            &format!(".ingest inline into table {table} <| {rows}"),
            &admin,
        )
        .expect("ingest");
    sandbox_query(sandbox, &format!("{table} | count"))
}

/// The first cell of a query's first row on the sandbox.
fn sandbox_query(sandbox: &Path, query: &str) -> serde_json::Value {
    use kustoplan::sandbox::kusto::{Caller, KustoSandbox};
    let kusto = KustoSandbox::open(sandbox, &[]).expect("open the sandbox");
    let admin = Caller::cluster_admin("aaduser=test");
    let result = kusto.query("gamedb", query, &admin).expect(query);
    result.rows[0][0].clone()
}

#[test]
fn a_renamed_table_keeps_its_rows_and_its_route_is_re_pointed_after_the_rename() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    let rows = "1,10,1,100,2026-12-05T07:00:00Z\n2,10,0,50,2026-12-05T07:01:00Z";
    assert_eq!(ingest_rows(s, "GamePlay", rows), serde_json::json!(2));

    edit(
        stack.path(),
        "kusto.yaml",
        "name: GamePlay\n",
        "name: GamePlays\nrenamed_from: GamePlay\n",
    );
    edit(
        stack.path(),
        "kafka.yaml",
        "table: GamePlay\n",
        "table: GamePlays\n",
    );
    let plan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    let out = &plan.stdout;
    let rename = out
        .find("  ~ kusto.gamedb.table.GamePlays [restart]\n")
        .unwrap_or_else(|| panic!("a restart-class rename: {out}"));
    assert!(
        out.contains(".rename table GamePlay to GamePlays\n"),
        "{out}"
    );
    let route = out
        .find("connect.main.connector.gameplay-kusto-sink")
        .unwrap_or_else(|| panic!("the route is re-pointed in the same plan: {out}"));
    assert!(
        rename < route,
        "the table is renamed before the connector writes to it: {out}"
    );
    assert!(
        !out.contains("kusto.gamedb.table.GamePlay ") && !out.contains(".drop table"),
        "no drop, no create: {out}"
    );
    assert!(
        !out.contains(".create table") && !out.contains("ingestion json mapping"),
        "the mapping moves with the table: {out}"
    );

    assert!(
        out.contains("  ~ connect.main.connector.gameplay-kusto-sink [restart]\n"),
        "re-pointed, not removed: ingestion from the topic goes on into the same table: {out}"
    );
    assert!(
        out.contains(
            "route gameplay -> gamedb.GamePlay => GamePlays follows the rename of its table"
        ),
        "{out}"
    );
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(
        refused.code, 1,
        "a rename is refused until restart is allowed"
    );
    let apply = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "restart"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert_eq!(
        sandbox_query(s, "GamePlays | count"),
        serde_json::json!(2),
        "the rows are still there under the new name"
    );
    assert_eq!(
        sandbox_query(s, "GamePlays | where Score == 50 | count"),
        serde_json::json!(1)
    );
    let replan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(
        replan.code, 0,
        "renamed_from may stay in the manifest: {}{}",
        replan.stdout, replan.stderr
    );
    assert!(replan.stdout.contains("No changes"), "{}", replan.stdout);

    // A rename whose source is gone is a plan error, and nothing is sent.
    edit(
        stack.path(),
        "kusto.yaml",
        "name: GamePlays\nrenamed_from: GamePlay\n",
        "name: GamePlays2\nrenamed_from: GamePlay\n",
    );
    edit(
        stack.path(),
        "kafka.yaml",
        "table: GamePlays\n",
        "table: GamePlays2\n",
    );
    let gone = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(gone.code, 1, "{}{}", gone.stdout, gone.stderr);
    assert!(
        gone.stderr.contains(
            "kusto.gamedb.table.GamePlays2: table `GamePlays2` is renamed from `GamePlay`, but neither exists in database `gamedb`: the rename's source is gone"
        ),
        "{}",
        gone.stderr
    );
}

#[test]
fn a_renamed_column_keeps_its_data_and_its_mapping_follows() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    let rows = "1,10,1,100,2026-12-05T07:00:00Z\n2,10,0,50,2026-12-05T07:01:00Z";
    assert_eq!(ingest_rows(s, "GamePlay", rows), serde_json::json!(2));

    edit(
        stack.path(),
        "kusto.yaml",
        "{name: Score, type: int}",
        "{name: Points, type: int, renamed_from: Score}",
    );
    edit(
        stack.path(),
        "kusto.yaml",
        "{column: Score, path: $.score, datatype: int}",
        "{column: Points, path: $.score, datatype: int}",
    );
    let plan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    let out = &plan.stdout;
    let rename = out
        .find(".rename column GamePlay.Score to Points\n")
        .unwrap_or_else(|| panic!("{out}"));
    let mapping = out
        .find("kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(rename < mapping, "the column is renamed first: {out}");
    assert!(
        !out.contains(".drop column") && !out.contains(".alter-merge"),
        "{out}"
    );
    let apply = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "restart"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert_eq!(
        sandbox_query(s, "GamePlay | where Points == 50 | count"),
        serde_json::json!(1),
        "the column's data is kept under its new name"
    );
    assert_eq!(
        sandbox_query(s, "GamePlay | where Points == 100 | count"),
        serde_json::json!(1)
    );
    let replan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(replan.code, 0, "{}{}", replan.stdout, replan.stderr);
}

#[test]
fn a_renamed_function_is_created_under_its_new_name_and_the_old_one_dropped_in_one_script() {
    let (sandbox, stack) = applied_stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));
    std::fs::write(stack.path().join("functions.yaml"), FUNCTION).expect("write");
    let create = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(create.code, 0, "{}{}", create.stdout, create.stderr);

    let renamed = FUNCTION.replace(
        "name: TopPlayers\n",
        "name: BestPlayers\nrenamed_from: TopPlayers\n",
    );
    std::fs::write(stack.path().join("functions.yaml"), renamed).expect("write");
    let plan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}{}", plan.stdout, plan.stderr);
    plan.assert_stdout_contains("  ~ kusto.gamedb.function.BestPlayers [restart]\n      rename function TopPlayers to BestPlayers: Kusto has no function rename");
    plan.assert_stdout_contains(".drop function TopPlayers ifexists\n");
    assert!(
        plan.stdout
            .ends_with("Plan: 0 to create, 1 to update, 0 to delete. 1 change needs --allow restart (or `safety.allow` in the Stack).\n"),
        "one change, no separate create or drop: {}",
        plan.stdout
    );
    let apply = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "restart"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 1 change applied in 1 request."),
        "both commands in one script: {}",
        apply.stdout
    );
    let replan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    replan.assert_no_changes();
}
