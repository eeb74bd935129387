//! Saved plans are bound to what they were made from: a hand-made change to any kind of live
//! object between `plan --out` and `apply FILE` makes apply refuse the plan as stale, and an
//! edited, relabelled, re-targeted or damaged plan file is refused without running anything.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::cli::{Run, gameplay_copy, kustoplan, kustoplan_in};
use kustoplan::providers::kafka::{ConfigChange, PartitionIncrease};
use kustoplan::sandbox::connect::{ConnectSandbox, TargetState};
use kustoplan::sandbox::kafka::KafkaSandbox;
use kustoplan::sandbox::kusto::{Caller, KustoSandbox};

/// A sandbox with the gameplay example applied, a copy of the stack, and a plan file path.
struct Applied {
    sandbox: tempfile::TempDir,
    stack: tempfile::TempDir,
    plan_file: PathBuf,
}

impl Applied {
    fn new() -> Applied {
        let sandbox = tempfile::tempdir().expect("tempdir");
        let stack = gameplay_copy();
        let plan_file = stack.path().join("out.plan");
        let applied = Applied {
            sandbox,
            stack,
            plan_file,
        };
        let run = kustoplan(applied.s(), &["apply", applied.dir(), "--auto-approve"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        applied
    }

    fn s(&self) -> &Path {
        self.sandbox.path()
    }

    fn dir(&self) -> &str {
        self.stack.path().to_str().expect("utf-8 path")
    }

    fn plan_path(&self) -> &str {
        self.plan_file.to_str().expect("utf-8 path")
    }

    fn save_plan(&self, extra: &[&str]) -> Run {
        let mut args = vec!["plan", self.dir(), "--out", self.plan_path()];
        args.extend_from_slice(extra);
        let run = kustoplan(self.s(), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    }

    fn apply_plan(&self) -> Run {
        kustoplan(self.s(), &["apply", self.plan_path()])
    }

    fn kusto(&self, command: &str) {
        let sandbox = KustoSandbox::open(self.s(), &["gamedb".to_string()]).expect("open sandbox");
        sandbox
            .execute(
                "gamedb",
                command,
                &Caller::cluster_admin("aaduser=someone@example.com"),
            )
            .unwrap_or_else(|e| panic!("{command}: {e:?}"));
    }

    fn edit_plan(&self, edit: impl FnOnce(&mut serde_json::Value)) {
        let text = std::fs::read_to_string(&self.plan_file).expect("read plan");
        let mut json: serde_json::Value = serde_json::from_str(&text).expect("plan is JSON");
        edit(&mut json);
        std::fs::write(&self.plan_file, json.to_string()).expect("write plan");
    }
}

fn assert_refused(run: &Run, start: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with(start),
        "expected `{start}`, got:\n{}",
        run.stderr
    );
    assert!(!run.stdout.contains("Apply complete"), "{}", run.stdout);
}

fn assert_stale(run: &Run) {
    assert_refused(
        run,
        "error: stale plan: the live state changed since the plan was made",
    );
}

#[test]
fn every_kind_of_hand_made_kusto_change_makes_a_saved_plan_stale() {
    let changes = [
        ".create table Other (A:string)",
        ".alter-merge table GamePlay (Extra:string)",
        ".alter table GamePlay docstring \"changed by hand\"",
        ".drop table GamePlay ingestion json mapping 'gameplay_json_mapping'",
        ".alter table GamePlay policy ingestionbatching '{\"MaximumBatchingTimeSpan\":\"00:00:30\",\"MaximumNumberOfItems\":5,\"MaximumRawDataSizeMB\":100}'",
        ".alter database gamedb policy ingestionbatching '{\"MaximumBatchingTimeSpan\":\"00:01:00\"}'",
        ".alter table GamePlay policy streamingingestion enable",
        ".alter database gamedb policy streamingingestion enable",
        ".add database gamedb admins ('aaduser=eve@example.com')",
        ".add database gamedb users ('aaduser=eve@example.com')",
        ".add database gamedb viewers ('aaduser=eve@example.com')",
        ".add database gamedb unrestrictedviewers ('aaduser=eve@example.com')",
        ".add database gamedb ingestors ('aaduser=eve@example.com')",
        ".add database gamedb monitors ('aaduser=eve@example.com')",
        ".add table GamePlay admins ('aaduser=eve@example.com')",
        ".add table GamePlay ingestors ('aaduser=eve@example.com')",
    ];
    let stack = Applied::new();
    for change in changes {
        stack.save_plan(&[]);
        stack.kusto(change);
        let run = stack.apply_plan();
        assert_stale(&run);
    }
}

#[test]
fn hand_made_topic_and_connector_changes_make_a_saved_plan_stale() {
    let stack = Applied::new();
    let connect_dir = stack.s().join("connect").join("main");
    type HandMade<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let changes: Vec<HandMade> = vec![
        (
            "topic config",
            Box::new(|| {
                KafkaSandbox::open(stack.s())
                    .expect("open kafka sandbox")
                    .alter_configs(&[ConfigChange {
                        topic: "gameplay".into(),
                        set: BTreeMap::from([("retention.ms".into(), "1000".into())]),
                        delete: Vec::new(),
                    }])
                    .expect("alter");
            }),
        ),
        (
            "connector config",
            Box::new(|| {
                let connect = ConnectSandbox::open(&connect_dir).expect("open connect sandbox");
                let mut config: BTreeMap<String, String> =
                    connect.state().connectors["gameplay-kusto-sink"]
                        .config
                        .clone();
                config.insert("tasks.max".into(), "3".into());
                connect
                    .put_config("gameplay-kusto-sink", config)
                    .expect("put config");
            }),
        ),
        (
            "connector state",
            Box::new(|| {
                ConnectSandbox::open(&connect_dir)
                    .expect("open connect sandbox")
                    .set_target("gameplay-kusto-sink", TargetState::Paused)
                    .expect("pause");
            }),
        ),
        // Last: the plan cannot shrink the topic back, so nothing can be planned after it.
        (
            "topic partitions",
            Box::new(|| {
                KafkaSandbox::open(stack.s())
                    .expect("open kafka sandbox")
                    .create_partitions(&[PartitionIncrease {
                        topic: "gameplay".into(),
                        total: 6,
                    }])
                    .expect("grow");
            }),
        ),
    ];
    for (what, change) in changes {
        stack.save_plan(&[]);
        change();
        let run = stack.apply_plan();
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert_stale(&run);
    }
}

#[test]
fn an_edited_plan_file_is_refused_and_nothing_runs() {
    let stack = Applied::new();
    // The plan drops a column: data-loss.
    std::fs::write(
        stack.stack.path().join("kusto.yaml"),
        std::fs::read_to_string(stack.stack.path().join("kusto.yaml"))
            .expect("read")
            .replace("  - {name: Score, type: int}\n", "")
            .replace(
                "      - {column: Score, path: $.score, datatype: int}\n",
                "",
            ),
    )
    .expect("write");
    stack.save_plan(&[]);
    let text = std::fs::read_to_string(&stack.plan_file).expect("plan");
    assert!(text.contains("\"impact\": \"data-loss\""), "{text}");

    // Relabelled as safe: still refused as edited (the gate is judged on a fresh derivation).
    stack.edit_plan(|plan| {
        for change in plan["plan"]["changes"].as_array_mut().expect("changes") {
            change["impact"] = "safe".into();
        }
    });
    let run = stack.apply_plan();
    assert_refused(
        &run,
        "error: the plan file was edited: its changes differ from what its manifests and the live state produce (first difference at kusto.gamedb.table.GamePlay",
    );

    // An edited command.
    stack.save_plan(&[]);
    stack.edit_plan(|plan| {
        plan["plan"]["changes"][0]["commands"][0] = ".drop table GamePlay".into();
    });
    assert_refused(&stack.apply_plan(), "error: the plan file was edited");

    // Other manifests, or another sandbox: the inputs changed.
    let copy = tempfile::tempdir().expect("tempdir");
    for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
        std::fs::copy(stack.stack.path().join(f), copy.path().join(f)).expect("copy");
    }
    stack.save_plan(&[]);
    stack.edit_plan(|plan| {
        plan["source"]["paths"][0] = copy.path().to_str().expect("utf-8").into();
    });
    assert_refused(
        &stack.apply_plan(),
        "error: the plan file does not match its inputs",
    );
    stack.save_plan(&[]);
    stack.edit_plan(|plan| {
        plan["source"]["sandbox_dir"] = "/tmp/another-sandbox".into();
    });
    assert_refused(
        &stack.apply_plan(),
        "error: --sandbox-dir", // the test's KUSTOPLAN_SANDBOX_DIR no longer matches the file
    );

    // A truncated or non-ASCII fingerprint.
    for bad in ["abc", "ünïcödé-fingerprint"] {
        stack.save_plan(&[]);
        stack.edit_plan(|plan| plan["plan"]["fingerprint"] = bad.into());
        let run = stack.apply_plan();
        assert_refused(&run, "error: ");
        assert!(
            run.stderr
                .contains("is damaged: its fingerprint is not a SHA-256 digest"),
            "{}",
            run.stderr
        );
    }

    // The manifests changed after the plan was made.
    stack.save_plan(&[]);
    std::fs::write(
        stack.stack.path().join("kafka.yaml"),
        std::fs::read_to_string(stack.stack.path().join("kafka.yaml"))
            .expect("read")
            .replace("partitions: 4", "partitions: 8"),
    )
    .expect("write");
    assert_refused(
        &stack.apply_plan(),
        "error: the plan file does not match its inputs",
    );

    // Nothing ran: the column is still there.
    let sandbox = KustoSandbox::open(stack.s(), &["gamedb".to_string()]).expect("open sandbox");
    let schema = sandbox
        .execute(
            "gamedb",
            ".show database gamedb schema as json",
            &Caller::cluster_admin("aaduser=someone@example.com"),
        )
        .expect("schema");
    assert!(format!("{schema:?}").contains("Score"), "{schema:?}");
}

#[test]
fn flags_that_would_change_a_saved_plan_are_refused() {
    let stack = Applied::new();
    stack.save_plan(&[]);
    for (flag, start) in [
        (
            vec!["--var", "app_id=other"],
            "error: --var cannot be used with a plan file",
        ),
        (
            vec!["--env", "prod"],
            "error: --env prod cannot be used with a plan file",
        ),
    ] {
        let mut args = vec!["apply", stack.plan_path()];
        args.extend(flag);
        assert_refused(&kustoplan(stack.s(), &args), start);
    }
}

#[test]
fn a_saved_plan_applies_from_any_directory_without_prompting() {
    let stack = Applied::new();
    std::fs::write(
        stack.stack.path().join("kusto.yaml"),
        std::fs::read_to_string(stack.stack.path().join("kusto.yaml"))
            .expect("read")
            .replace(
                "  - {name: EventTime, type: datetime}\n",
                "  - {name: EventTime, type: datetime}\n  - {name: Region, type: string}\n",
            ),
    )
    .expect("write");
    // Planned from the stack's directory with relative paths and the default sandbox location.
    let plan = kustoplan_in(
        stack.stack.path(),
        None,
        &["plan", ".", "--out", "rel.plan"],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    // Applied from elsewhere, with stdin not a terminal and no --auto-approve: no prompt.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let file = stack.stack.path().join("rel.plan");
    let run = kustoplan_in(
        elsewhere.path(),
        None,
        &["apply", file.to_str().expect("utf-8")],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Apply complete: "), "{}", run.stdout);
    assert!(
        stack
            .stack
            .path()
            .join(".kustoplan")
            .join("sandbox")
            .is_dir(),
        "the plan's sandbox next to the manifests was used"
    );
    // Applying the same file again is refused: the state it was made from is gone.
    assert_stale(&kustoplan_in(
        elsewhere.path(),
        None,
        &["apply", file.to_str().expect("utf-8")],
    ));
}
