//! `kustoplan show PLANFILE` prints exactly the plan that was saved, in every format, without
//! contacting any system; a file that is not a plan is an error. JSON plans, printed or saved,
//! carry each change's states as JSON objects, with secrets masked.

use crate::common;

use std::collections::BTreeMap;

use common::cli::{edit, gameplay_copy, kustoplan};
use kustoplan::sandbox::connect::ConnectSandbox;
use serde_json::{Value, json};

#[test]
fn show_prints_the_saved_plan_in_every_format() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("gameplay.plan");
    let file = file.to_str().expect("utf-8");
    for format in ["text", "markdown", "json"] {
        let plan = kustoplan(
            sandbox.path(),
            &[
                "plan",
                "examples/gameplay",
                "--format",
                format,
                "--out",
                file,
            ],
        );
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        // Another directory, another sandbox: show reads only the file.
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let shown = kustoplan(elsewhere.path(), &["show", file, "--format", format]);
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        assert_eq!(shown.stdout, plan.stdout, "{format}");
        assert!(
            std::fs::read_dir(elsewhere.path())
                .expect("read dir")
                .next()
                .is_none(),
            "show opened no sandbox"
        );
    }
}

#[test]
fn show_refuses_a_file_that_is_not_a_plan() {
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("notes.plan");
    std::fs::write(&file, "not json").expect("write");
    let run = kustoplan(work.path(), &["show", file.to_str().expect("utf-8")]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "error: {} is not a kustoplan plan file: ",
            file.display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

/// The gameplay example applied to a fresh sandbox, and an editable copy of it.
fn applied() -> (tempfile::TempDir, tempfile::TempDir) {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = gameplay_copy();
    let dir = stack.path().to_str().expect("utf-8");
    let run = kustoplan(sandbox.path(), &["apply", dir, "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    (sandbox, stack)
}

/// The change at `address` in a JSON plan or plan file.
fn change<'a>(changes: &'a Value, address: &str) -> &'a Value {
    changes
        .as_array()
        .and_then(|all| all.iter().find(|c| c["address"] == address))
        .unwrap_or_else(|| panic!("no change at {address} in {changes:#}"))
}

/// A program reads what changes from `plan --format json` as JSON objects, not diff text: a
/// retyped column, a changed mapping and a changed connector setting each carry the live and
/// the declared state, and a saved plan file carries the same.
#[test]
fn json_plans_carry_each_changes_states_as_objects() {
    let (sandbox, stack) = applied();
    edit(
        stack.path(),
        "kusto.yaml",
        "{name: Score, type: int}",
        "{name: Score, type: long}",
    );
    edit(
        stack.path(),
        "kusto.yaml",
        "{column: Score, path: $.score, datatype: int}",
        "{column: Score, path: $.points, datatype: long}",
    );
    edit(stack.path(), "kafka.yaml", "tasks_max: 1", "tasks_max: 2");
    let dir = stack.path().to_str().expect("utf-8");
    let file = stack.path().join("edited.plan");
    let file = file.to_str().expect("utf-8");
    let run = kustoplan(
        sandbox.path(),
        &["plan", dir, "--format", "json", "--out", file],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let plan: Value = serde_json::from_str(&run.stdout).expect("JSON plan");
    assert_eq!(plan["format_version"], 4);

    let column = change(&plan["changes"], "kusto.gamedb.table.GamePlay.column.Score");
    assert_eq!(
        column["before_state"],
        json!({"name": "Score", "type": "int"})
    );
    assert_eq!(
        column["after_state"],
        json!({"name": "Score", "type": "long"})
    );
    assert_eq!(
        (&column["before"], &column["after"]),
        (&json!("int"), &json!("long")),
        "the text stays as it was"
    );

    let mapping = change(
        &plan["changes"],
        "kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping",
    );
    let score = |state: &Value| {
        state
            .as_array()
            .and_then(|columns| columns.iter().find(|c| c["column"] == "Score"))
            .cloned()
    };
    assert_eq!(
        score(&mapping["before_state"]),
        Some(json!({"column": "Score", "datatype": "int", "Properties": {"Path": "$.score"}}))
    );
    assert_eq!(
        score(&mapping["after_state"]),
        Some(json!({"column": "Score", "datatype": "long", "Properties": {"Path": "$.points"}}))
    );
    assert_eq!(mapping["after_state"].as_array().map(Vec::len), Some(5));

    let connector = change(
        &plan["changes"],
        "connect.main.connector.gameplay-kusto-sink",
    );
    assert_eq!(connector["before_state"], json!({"tasks.max": "1"}));
    assert_eq!(connector["after_state"], json!({"tasks.max": "2"}));

    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read plan file"))
            .expect("JSON plan file");
    assert_eq!(saved["plan"]["changes"], plan["changes"]);
    let shown = kustoplan(sandbox.path(), &["show", file, "--format", "json"]);
    assert_eq!(shown.code, 0, "{}", shown.all());
    assert_eq!(shown.stdout, run.stdout);
}

/// A literal secret set by hand in a sink's live config is masked in the JSON states as in the
/// text: neither `plan --format json` nor a saved plan file holds it.
#[test]
fn a_literal_secret_in_a_sink_config_never_reaches_a_json_plan_or_a_plan_file() {
    const SECRET: &str = "hunter2-literal-app-key";
    let (sandbox, stack) = applied();
    let connect = ConnectSandbox::open(&sandbox.path().join("connect").join("main"))
        .expect("open connect sandbox");
    let mut config: BTreeMap<String, String> = connect.state().connectors["gameplay-kusto-sink"]
        .config
        .clone();
    config.insert("aad.auth.appkey".into(), SECRET.into());
    connect
        .put_config("gameplay-kusto-sink", config)
        .expect("put config");

    let dir = stack.path().to_str().expect("utf-8");
    let file = stack.path().join("secret.plan");
    let file = file.to_str().expect("utf-8");
    let run = kustoplan(
        sandbox.path(),
        &["plan", dir, "--format", "json", "--out", file],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let saved = std::fs::read_to_string(file).expect("read plan file");
    for (what, text) in [("plan --format json", &run.stdout), ("plan file", &saved)] {
        assert!(!text.contains(SECRET), "{what} holds the secret: {text}");
    }
    let plan: Value = serde_json::from_str(&run.stdout).expect("JSON plan");
    let connector = change(
        &plan["changes"],
        "connect.main.connector.gameplay-kusto-sink",
    );
    assert_eq!(
        connector["before_state"],
        json!({"aad.auth.appkey": "****"})
    );
    assert_eq!(
        connector["after_state"],
        json!({"aad.auth.appkey": "${file:/opt/kafka/secrets/kusto.properties:appkey}"})
    );
    assert_eq!(connector["before"], "aad.auth.appkey = ****\n");
}
