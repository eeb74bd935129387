//! `kustoplan apply --format json`: exactly one JSON document on stdout, per step, for a
//! successful apply, a second apply with nothing to do, a saved plan, refused applies, a failed
//! step and a lost response; the exit codes are those of text mode.

use crate::common;

use common::cli::{Run, edit, gameplay_copy, kustoplan, widen_score};
use serde_json::Value;

/// The one JSON document on stdout (parsing fails on anything else there).
fn document(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", run.stdout))
}

/// How many steps the plan's changes have: one per Kusto command, one per Kafka or Connect
/// request (operation), as apply reports them.
fn planned_steps(plan: &Value) -> usize {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            if c["target"]["system"] == "kusto" {
                c["commands"].as_array().expect("commands").len()
            } else {
                c["operations"].as_array().expect("operations").len()
            }
        })
        .sum()
}

fn steps(doc: &Value) -> &Vec<Value> {
    doc["steps"].as_array().expect("steps")
}

#[test]
fn apply_reports_every_step_then_no_changes() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let plan = kustoplan(s, &["plan", "examples/gameplay", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan = document(&plan);
    let expected = planned_steps(&plan);

    let applied = kustoplan(
        s,
        &[
            "apply",
            "examples/gameplay",
            "--format",
            "json",
            "--auto-approve",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied.stderr.contains("Plan: "),
        "the plan goes to stderr: {}",
        applied.stderr
    );
    let doc = document(&applied);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["outcome"], "applied");
    assert_eq!(doc["stack"], plan["stack"]);
    assert_eq!(doc["saved_plan"], false);
    assert_eq!(doc["errors"], serde_json::json!([]));
    let all = steps(&doc);
    assert_eq!(all.len(), expected, "{doc:#}");
    assert_eq!(all.len(), 6, "{doc:#}");
    assert_eq!(doc["counts"]["steps"], expected);
    assert_eq!(doc["counts"]["completed"], expected);
    assert_eq!(doc["counts"]["failed"], 0);
    for step in all {
        assert_eq!(step["outcome"], "completed", "{step}");
        assert!(step["command"].as_str().is_some_and(|c| !c.is_empty()));
    }
    // Every planned change has its steps, with its system.
    for change in plan["changes"].as_array().expect("changes") {
        let address = &change["address"];
        let system = &change["target"]["system"];
        assert!(
            all.iter()
                .any(|s| s["address"] == *address && s["system"] == *system),
            "{address} ({system}) has no step: {doc:#}"
        );
    }
    let verifications = doc["verifications"].as_array().expect("verifications");
    assert_eq!(verifications.len(), 1, "{doc:#}");
    assert_eq!(
        verifications[0]["address"],
        "connect.main.connector.gameplay-kusto-sink"
    );
    assert_eq!(verifications[0]["reached"], true);

    let again = kustoplan(
        s,
        &[
            "apply",
            "examples/gameplay",
            "--format",
            "json",
            "--auto-approve",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let doc = document(&again);
    assert_eq!(doc["outcome"], "no_changes");
    assert_eq!(steps(&doc).len(), 0);
    assert_eq!(doc["counts"]["steps"], 0);
}

#[test]
fn a_saved_plan_applies_with_json_and_a_stale_one_is_refused() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("gameplay.plan");
    let file = file.to_str().expect("utf-8");
    let plan = kustoplan(s, &["plan", "examples/gameplay", "--out", file]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);

    let applied = kustoplan(s, &["apply", file, "--format", "json"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let doc = document(&applied);
    assert_eq!(doc["outcome"], "applied");
    assert_eq!(doc["saved_plan"], true);
    assert_eq!(steps(&doc).len(), 6);

    let stale = kustoplan(s, &["apply", file, "--format", "json"]);
    assert_eq!(stale.code, 1, "{}", stale.stderr);
    let doc = document(&stale);
    assert_eq!(doc["outcome"], "refused");
    assert_eq!(doc["saved_plan"], true);
    assert_eq!(steps(&doc).len(), 0);
    let errors = doc["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{doc:#}");
    assert!(
        errors[0].as_str().is_some_and(|e| e.contains("stale plan")),
        "{doc:#}"
    );
}

#[test]
fn a_data_loss_change_without_allow_is_refused_and_nothing_is_applied() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let stack = gameplay_copy();
    let dir = stack.path().to_str().expect("utf-8");
    let first = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    widen_score(stack.path());
    let before = kustoplan(s, &["plan", dir, "--format", "json"]);
    assert_eq!(before.code, 0, "{}", before.stderr);

    let refused = kustoplan(s, &["apply", dir, "--format", "json", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let doc = document(&refused);
    assert_eq!(doc["outcome"], "refused");
    assert_eq!(steps(&doc).len(), 0);
    assert_eq!(doc["counts"]["requests"], 0);
    let errors = doc["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e.as_str().is_some_and(|e| e
            .starts_with("refusing data-loss change to kusto.gamedb.table.GamePlay.column.Score"))),
        "{doc:#}"
    );
    let after = kustoplan(s, &["plan", dir, "--format", "json"]);
    assert_eq!(
        after.stdout, before.stdout,
        "nothing was applied: the plan is unchanged"
    );
}

#[test]
fn invalid_manifests_and_missing_confirmation_are_refused_in_json() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    let stack = gameplay_copy();
    let dir = stack.path().to_str().expect("utf-8");

    // Not a terminal and no --auto-approve: refused rather than prompting.
    let unconfirmed = kustoplan(s, &["apply", dir, "--format", "json"]);
    assert_eq!(unconfirmed.code, 1, "{}", unconfirmed.stderr);
    let doc = document(&unconfirmed);
    assert_eq!(doc["outcome"], "refused");
    assert_eq!(
        doc["errors"],
        serde_json::json!([
            "apply needs confirmation; pass --auto-approve when not running in a terminal"
        ])
    );

    edit(
        stack.path(),
        "kusto.yaml",
        "{name: Score, type: int}",
        "{name: Score, type: integer-ish}",
    );
    let invalid = kustoplan(s, &["apply", dir, "--format", "json", "--auto-approve"]);
    assert_eq!(invalid.code, 1, "{}", invalid.stderr);
    let doc = document(&invalid);
    assert_eq!(doc["outcome"], "refused");
    assert_eq!(doc["stack"], Value::Null);
    let problems = doc["problems"].as_array().expect("problems");
    assert!(!problems.is_empty(), "{doc:#}");
    assert!(problems[0]["line"].is_u64(), "{doc:#}");
}

#[test]
fn a_failed_step_is_followed_by_steps_not_run() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let s = sandbox.path();
    // The built-in Kafka sandbox writes its state through `kafka-topics.json.tmp`; a directory
    // there makes creating the topic fail, even for root.
    std::fs::create_dir_all(s.join("kafka-topics.json.tmp")).expect("mkdir");
    let failed = kustoplan(
        s,
        &[
            "apply",
            "examples/gameplay",
            "--format",
            "json",
            "--auto-approve",
        ],
    );
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let doc = document(&failed);
    assert_eq!(doc["outcome"], "failed");
    let all = steps(&doc);
    assert_eq!(all.len(), 6, "{doc:#}");
    assert_eq!(all[0]["address"], "kafka.topic.gameplay");
    assert_eq!(all[0]["system"], "kafka");
    assert_eq!(all[0]["outcome"], "failed");
    assert!(
        all[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("kafka-topics.json.tmp")),
        "{doc:#}"
    );
    for step in &all[1..] {
        assert_eq!(step["outcome"], "not_run", "{step}");
        assert_eq!(step.get("message"), None, "{step}");
    }
    assert_eq!(doc["counts"]["failed"], 1);
    assert_eq!(doc["counts"]["not_run"], 5);
    assert_eq!(doc["verifications"], serde_json::json!([]));
    let errors = doc["errors"].as_array().expect("errors");
    assert_eq!(
        errors,
        &vec![Value::from(
            "apply stopped: 0 of 6 commands ran (listed above); Kusto scripts are not transactional"
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_leaves_steps_unknown() {
    use common::sandbox::KustoServer;
    use kustoplan::sandbox::kusto::Faults;
    let server = KustoServer::start(&["gamedb"]).await;
    let cluster = format!("kusto_cluster={}", server.url());
    let local = tempfile::tempdir().expect("tempdir");
    // The script runs 2 commands, then the connection is closed without a response.
    server.set_faults(Faults {
        drop_script_after: Some(2),
        ..Faults::default()
    });
    let local_path = local.path().to_path_buf();
    let cut = tokio::task::spawn_blocking(move || {
        kustoplan(
            &local_path,
            &[
                "apply",
                "examples/gameplay",
                "--format",
                "json",
                "--auto-approve",
                "--var",
                &cluster,
            ],
        )
    })
    .await
    .expect("join");
    assert_eq!(cut.code, 1, "{}", cut.stderr);
    let doc = document(&cut);
    assert_eq!(doc["outcome"], "failed");
    let outcomes: Vec<(&str, &str)> = steps(&doc)
        .iter()
        .map(|s| {
            (
                s["address"].as_str().expect("address"),
                s["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("kafka.topic.gameplay", "completed"),
            ("kusto.gamedb.table.GamePlay", "unknown"),
            (
                "kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping",
                "unknown"
            ),
            (
                "kusto.gamedb.table.GamePlay.policy.ingestionbatching",
                "unknown"
            ),
            (
                "kusto.gamedb.role.admins.aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2",
                "unknown"
            ),
            ("connect.main.connector.gameplay-kusto-sink", "not_run"),
        ]
    );
    assert_eq!(doc["counts"]["unknown"], 4);
    assert_eq!(
        doc["errors"],
        serde_json::json!([
            "apply stopped: 1 of 6 commands confirmed; the outcome of 4 is unknown because the response was lost"
        ])
    );
}
