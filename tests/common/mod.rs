//! What the integration tests share: the conformance tests' Node and Python tools, running the
//! binary, and the sandbox servers.

#![allow(dead_code)] // Each test binary uses a different subset.

pub mod azurite;
pub mod cli;
pub mod identity;
pub mod npm;
pub mod oauth_broker;
pub mod real_env;
pub mod sandbox;
pub mod venv;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The manifest files directly in an example directory (`*.yaml`, `*.yml`), sorted. Never what
/// running the example leaves next to them (the README's main job keeps its sandbox in
/// `.kustoplan/`), so tests that read the examples pass after the main job has run.
pub fn manifest_files(dir: impl AsRef<Path>) -> Vec<PathBuf> {
    let dir = dir.as_ref();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// A one-document YAML file (a workflow, `action.yml`) as JSON, read with kustoplan's own
/// loader: the tests need no second YAML library, and the files are read as manifests are.
pub fn yaml_json(text: &str) -> Result<serde_json::Value, String> {
    let docs = kustoplan::manifest::node::parse_documents(text, 0)
        .map_err(|e| format!("{}:{}: {}", e.loc.line, e.loc.column, e.message))?;
    match docs.as_slice() {
        [doc] => Ok(doc.to_json()),
        _ => Err(format!("expected one document, found {}", docs.len())),
    }
}

/// Whether this run is CI (`CI=true`), where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Checks that `program --version` runs. Outside CI a missing tool makes the caller skip
/// (returns false) with a loud message; in CI it fails the test.
pub fn tool_available(program: &str, test: &str) -> bool {
    let ok = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: `{program}` is required in CI (CI=true); run scripts/dev-setup"
    );
    skip_loudly(&format!(
        "SKIPPED {test}: `{program}` is not installed (scripts/dev-setup installs it)"
    ));
    false
}

/// Prints a skip notice straight to stderr: libtest captures `eprintln!` of passing tests,
/// and a skip must not go unnoticed.
pub fn skip_loudly(message: &str) {
    let bar = "!".repeat(78);
    let text =
        format!("\n{bar}\n!! {message}\n!! This test is NOT optional in CI (CI=true).\n{bar}\n\n");
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Runs a command to completion, panicking with its output if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Panics with the command's output unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes `lines` (one per line) to a fresh file in a temp dir kept alive by the returned guard.
pub fn write_lines(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write input");
    (dir, path)
}

/// The kustoplan binary the CLI tests run: `KUSTOPLAN_TEST_BIN` when set, else the one cargo
/// built for this test. The override exists because several worktrees may share one cargo
/// target directory, where another build can replace `target/debug/kustoplan` while a long
/// test runs; copy your build elsewhere and point the variable at it.
pub fn kustoplan_bin() -> PathBuf {
    match std::env::var_os("KUSTOPLAN_TEST_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_kustoplan")),
    }
}
