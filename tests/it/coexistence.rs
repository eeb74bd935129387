//! Connect clusters whose connectors another tool writes (`managed_by: strimzi | external`),
//! on the built-in sandbox: the plan shows their connector changes and says apply refuses them;
//! apply refuses before changing anything, applies the rest with --target, and never restarts
//! their tasks; `export strimzi` writes the KafkaConnector resources that carry the planned
//! configs, keeps a directory in step with the manifests, and `--check` tells when it is not.
//! A refused apply sends no connector validation either.

use crate::common;

use std::path::Path;

use common::cli::{Run, arg, edit, gameplay_copy, kustoplan, kustoplan_beside};
use common::yaml_json;

const SINK: &str = "connect.main.connector.gameplay-kusto-sink";
const EXPORTED: &str = "main/gameplay-kusto-sink.yaml";

/// The gameplay example with its Connect cluster declared `managed_by: MANAGER`, and its
/// KafkaConnect resource named `gameplay-connect` when `label` is set.
fn managed_stack_labelled(manager: &str, label: bool) -> tempfile::TempDir {
    let dir = gameplay_copy();
    let label = if label {
        "      strimzi_cluster: gameplay-connect\n"
    } else {
        ""
    };
    edit(
        dir.path(),
        "stack.yaml",
        "      url: ${var.connect_url}\n",
        &format!("      url: ${{var.connect_url}}\n      managed_by: {manager}\n{label}"),
    );
    dir
}

/// The gameplay example with its Connect cluster declared `managed_by: MANAGER` (and, for
/// Strimzi, its KafkaConnect resource named `gameplay-connect`).
fn managed_stack(manager: &str) -> tempfile::TempDir {
    managed_stack_labelled(manager, manager == "strimzi")
}

/// Applies everything but the connectors, as the README tells users of a managed cluster to.
fn apply_all_but_connectors(sandbox: &Path, stack: &Path) -> Run {
    kustoplan(
        sandbox,
        &[
            "apply",
            arg(stack),
            "--auto-approve",
            "--target",
            "kusto.*",
            "--target",
            "kafka.*",
        ],
    )
}

#[test]
fn apply_refuses_the_connector_changes_of_a_strimzi_cluster_and_changes_nothing() {
    let stack = managed_stack("strimzi");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| kustoplan(sandbox.path(), args);
    let plan = run(&["plan", arg(stack.path())]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(plan.stdout.contains(SINK), "{}", plan.stdout);
    plan.assert_stdout_contains("Connect cluster `main` is managed by Strimzi (KafkaConnector resources): apply refuses its 1 connector change");
    plan.assert_stdout_contains(
        "1 connector change is refused: another tool manages its Connect cluster.",
    );

    let refused = run(&["apply", arg(stack.path()), "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains(&format!(
            "error: refusing change to {SINK}: its Connect cluster is managed by Strimzi"
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nothing was applied"),
        "{}",
        refused.stderr
    );
    let again = run(&["plan", arg(stack.path())]);
    assert_eq!(
        again.stdout, plan.stdout,
        "a refused apply must change nothing"
    );

    let rest = apply_all_but_connectors(sandbox.path(), stack.path());
    assert_eq!(rest.code, 0, "{}", rest.all());
    let left = run(&["plan", arg(stack.path()), "--format", "json"]);
    let left: serde_json::Value = serde_json::from_str(&left.stdout).expect("json plan");
    let addresses: Vec<&str> = left["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert_eq!(addresses, [SINK], "only the connector is left: {left:#}");
    assert_eq!(left["summary"]["managed_elsewhere"], 1);
    assert_eq!(left["managed_elsewhere"]["main"], "strimzi");
}

#[test]
fn a_cluster_managed_by_another_tool_is_flagged_in_the_pull_request_comment() {
    let stack = managed_stack("external");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let md = kustoplan(
        sandbox.path(),
        &["plan", arg(stack.path()), "--format", "markdown"],
    );
    assert_eq!(md.code, 0, "{}", md.all());
    md.assert_stdout_contains("> [!CAUTION]\n> Connect cluster `main` is managed by a tool other than kustoplan: apply refuses its 1 connector change");
}

#[test]
fn restart_failed_leaves_the_tasks_of_a_managed_cluster_to_its_manager() {
    let stack = managed_stack("strimzi");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let run = apply_all_but_connectors(sandbox.path(), stack.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let restart = kustoplan(
        sandbox.path(),
        &[
            "apply",
            arg(stack.path()),
            "--auto-approve",
            "--restart-failed",
            "--target",
            "kusto.*",
        ],
    );
    assert_eq!(restart.code, 0, "{}", restart.all());
    assert!(
        restart.stderr.contains(
            "Not restarting failed tasks on Connect cluster `main`: it is managed by Strimzi"
        ),
        "{}",
        restart.all()
    );
}

/// The planned config of the gameplay sink, as the JSON plan's connector operation carries it.
fn planned_config(plan: &Run) -> serde_json::Map<String, serde_json::Value> {
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json plan");
    let change = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == SINK)
        .unwrap_or_else(|| panic!("no {SINK} in {plan:#}"));
    change["operations"][0]["config"]
        .as_object()
        .unwrap_or_else(|| panic!("no config in {change:#}"))
        .clone()
}

#[test]
fn export_strimzi_writes_the_planned_connector_as_a_kafka_connector_resource() {
    let stack = managed_stack("strimzi");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let out_path = arg(out.path());
    let export = |extra: &[&str]| {
        let mut args = vec!["export", "strimzi", arg(stack.path()), "--out", out_path];
        args.extend_from_slice(extra);
        kustoplan(sandbox.path(), &args)
    };

    let written = export(&[]);
    assert_eq!(written.code, 0, "{}", written.all());
    assert!(written.stdout.contains(EXPORTED), "{}", written.stdout);
    let text = std::fs::read_to_string(out.path().join(EXPORTED)).expect("exported file");
    let resource = yaml_json(&text).expect("exported YAML reads back");
    assert_eq!(resource["apiVersion"], "kafka.strimzi.io/v1beta2");
    assert_eq!(resource["kind"], "KafkaConnector");
    assert_eq!(resource["metadata"]["name"], "gameplay-kusto-sink");
    assert_eq!(
        resource["metadata"]["labels"]["strimzi.io/cluster"],
        "gameplay-connect"
    );
    assert_eq!(resource["spec"]["state"], "running");
    let plan = kustoplan(
        sandbox.path(),
        &["plan", arg(stack.path()), "--format", "json"],
    );
    let mut planned = planned_config(&plan);
    assert_eq!(
        resource["spec"]["class"],
        planned.remove("connector.class").expect("class")
    );
    assert_eq!(
        resource["spec"]["tasksMax"].to_string(),
        planned
            .remove("tasks.max")
            .expect("tasks.max")
            .as_str()
            .expect("string")
    );
    assert_eq!(
        resource["spec"]["config"],
        serde_json::Value::Object(planned),
        "spec.config is the planned config without class and tasks.max"
    );

    let up_to_date = export(&["--check"]);
    assert_eq!(up_to_date.code, 0, "{}", up_to_date.all());

    edit(stack.path(), "kafka.yaml", "tasks_max: 1", "tasks_max: 3");
    let stale = export(&["--check"]);
    assert_eq!(stale.code, 2, "{}", stale.all());
    assert!(stale.stdout.contains(EXPORTED), "{}", stale.stdout);
    assert_eq!(
        std::fs::read_to_string(out.path().join(EXPORTED)).expect("file"),
        text,
        "--check writes nothing"
    );
    let rewritten = export(&[]);
    assert_eq!(rewritten.code, 0, "{}", rewritten.all());
    let resource = yaml_json(&std::fs::read_to_string(out.path().join(EXPORTED)).expect("file"))
        .expect("yaml");
    assert_eq!(resource["spec"]["tasksMax"], 3);
}

#[test]
fn export_removes_only_the_files_it_wrote_for_connectors_no_longer_declared() {
    let stack = managed_stack("strimzi");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let out_path = arg(out.path());
    let written = kustoplan(
        sandbox.path(),
        &["export", "strimzi", arg(stack.path()), "--out", out_path],
    );
    assert_eq!(written.code, 0, "{}", written.all());
    let foreign = out.path().join("main/kafka-connect.yaml");
    std::fs::write(&foreign, "kind: KafkaConnect\n").expect("write");
    std::fs::write(
        stack.path().join("kafka.yaml"),
        std::fs::read_to_string(stack.path().join("kafka.yaml"))
            .expect("read")
            .split("---\n")
            .next()
            .expect("topic document"),
    )
    .expect("write");
    let pruned = kustoplan(
        sandbox.path(),
        &["export", "strimzi", arg(stack.path()), "--out", out_path],
    );
    assert_eq!(pruned.code, 0, "{}", pruned.all());
    pruned.assert_stdout_contains(&format!("removed {}", out.path().join(EXPORTED).display()));
    assert!(!out.path().join(EXPORTED).exists());
    assert!(foreign.exists(), "a file export did not write is kept");
}

#[test]
fn a_sink_name_kubernetes_refuses_is_an_error_and_nothing_is_written() {
    let stack = managed_stack("strimzi");
    edit(
        stack.path(),
        "kafka.yaml",
        "name: gameplay-kusto-sink",
        "name: GamePlay_Sink",
    );
    let sandbox = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let run = kustoplan(
        sandbox.path(),
        &[
            "export",
            "strimzi",
            arg(stack.path()),
            "--out",
            arg(out.path()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("sink `GamePlay_Sink` cannot be a KafkaConnector"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("kafka.yaml:"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_dir(out.path()).expect("dir").count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_strimzi_label_on_a_cluster_kustoplan_manages_is_an_error_at_its_line() {
    let stack = managed_stack_labelled("kustoplan", true);
    let sandbox = tempfile::tempdir().expect("tempdir");
    let run = kustoplan(sandbox.path(), &["validate", arg(stack.path())]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "targets.connect.main.strimzi_cluster names the KafkaConnect resource of a Strimzi-managed cluster"
        ),
        "{}",
        run.stderr
    );
    let line = std::fs::read_to_string(stack.path().join("stack.yaml"))
        .expect("read")
        .lines()
        .position(|l| l.contains("strimzi_cluster:"))
        .expect("strimzi_cluster line")
        + 1;
    assert!(
        run.stderr.contains(&format!("stack.yaml:{line}:")),
        "{}",
        run.stderr
    );
}

/// Apply validates connector configs while it prints the plan, but only once nothing is
/// refused: a refused apply sends no validate request to the Connect cluster, and an accepted
/// one validates its config once, before writing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_apply_validates_nothing_and_an_accepted_one_validates_once() {
    const VALIDATE: &str = "PUT /connector-plugins/{class}/config/validate";
    let connect = common::sandbox::connect_server().await;
    let var = format!("connect_url={}", connect.url());
    let sandbox = tempfile::tempdir().expect("tempdir");
    let apply = |stack: &Path| {
        let args = ["apply", arg(stack), "--auto-approve", "--var", &var].map(str::to_string);
        let sandbox = sandbox.path().to_path_buf();
        async move { kustoplan_beside(&sandbox, &args.each_ref().map(String::as_str)).await }
    };

    let managed = managed_stack("strimzi");
    let refused = apply(managed.path()).await;
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains(&format!("error: refusing change to {SINK}")),
        "{}",
        refused.stderr
    );
    assert_eq!(connect.stats().route(VALIDATE), 0, "{}", refused.all());

    let own = gameplay_copy();
    let applied = apply(own.path()).await;
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        applied.stdout.contains(SINK),
        "the plan is printed: {}",
        applied.stdout
    );
    assert_eq!(connect.stats().route(VALIDATE), 1, "{}", applied.all());
    let written: Vec<String> = connect.sandbox().state().connectors.into_keys().collect();
    assert_eq!(written, ["gameplay-kusto-sink"]);
}
