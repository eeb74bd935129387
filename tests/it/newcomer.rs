//! The newcomer's path: the README's two commands run in order (the main job, then the test
//! suite), and the README's instructions for `kustoplan sandbox serve` work as written.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::cli::{Run, kustoplan_in};
use kustoplan::sandbox::connect::{ConnectFaults, ConnectStats};
use kustoplan::sandbox::kusto::{Faults, RequestStats};

fn kustoplan(args: &[&str], sandbox: Option<&Path>) -> Run {
    kustoplan_in(&common::repo(), sandbox, args)
}

fn text(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn readme() -> String {
    std::fs::read_to_string(common::repo().join("README.md")).expect("README")
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect()
}

/// The README's main job, run as written on a copy of examples/gameplay (no sandbox directory
/// given, so its state lands in `.kustoplan/` next to the manifests, as for a newcomer), leaves
/// the example looking the same to the tests that read examples/ (the fuzz seeds and the
/// schema-line check list its files with `common::manifest_files`).
#[test]
fn the_main_job_leaves_nothing_that_tests_read() {
    let copy = tempfile::tempdir().expect("tempdir");
    let example = common::repo().join("examples/gameplay");
    let files = common::manifest_files(&example);
    for f in &files {
        std::fs::copy(f, copy.path().join(f.file_name().expect("name"))).expect("copy");
    }
    let readme = readme();
    let main_job = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.lines().next())
        .expect("the README's first command");
    let dir = text(copy.path());
    for step in main_job.split(" && ").skip(1) {
        let args = step
            .strip_prefix("cargo run -q -- ")
            .unwrap_or_else(|| panic!("unexpected step {step}"))
            .replace("examples/gameplay", dir);
        let args: Vec<&str> = args.split_whitespace().collect();
        let run = kustoplan(&args, None);
        assert_eq!(run.code, 0, "`{step}`: {}", run.stderr);
    }
    assert!(
        copy.path()
            .join(".kustoplan/sandbox/kusto-state.json")
            .is_file(),
        "the main job keeps its sandbox next to the manifests"
    );
    assert_eq!(
        names(&common::manifest_files(copy.path())),
        names(&files),
        "the sandbox state is not taken for an example file"
    );
    let validate = kustoplan(&["validate", dir], None);
    assert_eq!(
        validate.stdout,
        "valid: 1 database, 1 table, 1 topic, 1 sink, 1 route in 3 files (environment local)\n",
        "{}",
        validate.stderr
    );
}

/// The field names of a serialisable value, as its JSON shows them.
fn fields(value: impl serde::Serialize) -> BTreeSet<String> {
    match serde_json::to_value(value).expect("json") {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn the_readme_documents_every_fault_and_stats_field() {
    let readme = readme();
    let section = readme
        .split("## The sandbox as a server")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README section on sandbox serve");
    for (face, names) in [
        ("Kusto", fields(Faults::default())),
        ("Connect", fields(ConnectFaults::default())),
    ] {
        for name in names {
            let row = format!("\n| `{name}` | ");
            let table = section
                .split(&format!("| {face} field | effect |"))
                .nth(1)
                .and_then(|t| t.split("\n\n").next())
                .unwrap_or_else(|| panic!("no {face} fault table"));
            assert!(
                table.contains(&row),
                "{face} fault `{name}` is not documented"
            );
        }
    }
    for name in fields(RequestStats::default())
        .into_iter()
        .chain(fields(ConnectStats::default()))
    {
        assert!(
            section.contains(&format!("`{name}`")),
            "stats field `{name}` is not documented"
        );
    }
}

/// Starts `sandbox serve` on free ports; returns the process and the Kusto and Connect URLs.
fn serve(dir: &Path) -> (Child, String, String) {
    let mut child = common::cli::command()
        .args([
            "sandbox",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--connect-listen",
            "127.0.0.1:0",
            "--database",
            "gamedb",
            "--dir",
            text(dir),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut url = |prefix: &str| {
        let line = lines.next().expect("banner").expect("line");
        line.strip_prefix(prefix)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected banner: {line}"))
            .to_string()
    };
    let kusto = url("kusto sandbox listening on ");
    let connect = url("connect sandbox listening on ");
    (child, kusto, connect)
}

#[test]
fn a_stack_targets_sandbox_serve_as_the_readme_says() {
    let readme = readme();
    let stack_yaml = readme
        .split("## The sandbox as a server")
        .nth(1)
        .and_then(|s| s.split("```yaml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's Stack for sandbox serve");
    let server_dir = tempfile::tempdir().expect("tempdir");
    let (mut child, kusto_url, connect_url) = serve(server_dir.path());
    let stack = tempfile::tempdir().expect("tempdir");
    let stack_text = stack_yaml
        .replace("http://127.0.0.1:8080", &kusto_url)
        .replace("http://127.0.0.1:8083", &connect_url)
        // The example's sink signs in as this app (the gameplay stack's own placeholders).
        + "vars:\n  app_id: 00000000-0000-0000-0000-00000000a11d\n  tenant_id: 00000000-0000-0000-0000-0000000007e2\n";
    std::fs::write(stack.path().join("stack.yaml"), stack_text).expect("write stack");
    for f in ["kusto.yaml", "kafka.yaml"] {
        std::fs::copy(
            common::repo().join("examples/gameplay").join(f),
            stack.path().join(f),
        )
        .expect("copy");
    }
    let topics = tempfile::tempdir().expect("tempdir");
    let dir = text(stack.path());
    let apply = kustoplan(&["apply", dir, "--auto-approve"], Some(topics.path()));
    let again = kustoplan(&["plan", dir, "--detailed-exitcode"], Some(topics.path()));
    child.kill().expect("stop the sandbox");
    child.wait().expect("wait");
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .ends_with("Apply complete: 6 changes applied in 3 requests.\n"),
        "{}",
        apply.stdout
    );
    again.assert_no_changes();
    assert!(server_dir.path().join("kusto-state.json").is_file());
    assert!(server_dir.path().join("connect-state.json").is_file());
    assert!(
        topics.path().join("kafka-topics.json").is_file(),
        "topics live in the planning process's sandbox directory"
    );
    assert!(!topics.path().join("kusto-state.json").exists());
}
