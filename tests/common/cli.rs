//! Running the kustoplan binary against a built-in sandbox directory, and editing a copy of the
//! gameplay example: what the CLI scenario tests share.

use std::path::Path;
use std::process::{Command, Output};

/// One finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output then standard error, for assertion messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Where `what` first stands in standard output, failing the test (with the output) when it
    /// is not there: for the tests that check the order in which apply reports its steps.
    #[track_caller]
    pub fn stdout_position(&self, what: &str) -> usize {
        self.stdout
            .find(what)
            .unwrap_or_else(|| panic!("{what} not in {}", self.stdout))
    }

    /// Asserts standard output holds `what`, failing with the whole output: the check most
    /// scenario tests make after each run, written once.
    #[track_caller]
    pub fn assert_stdout_contains(&self, what: &str) {
        assert!(
            self.stdout.contains(what),
            "standard output lacks {what:?}:\n{}",
            self.stdout
        );
    }

    /// Asserts this run was a plan (or an apply) that found nothing to do: exit code 0 (with
    /// `--detailed-exitcode`, 2 would mean changes) and exactly the no-changes summary on
    /// standard output. One place for the summary line, so a test that checks convergence
    /// cannot drift from what the binary prints.
    #[track_caller]
    pub fn assert_no_changes(&self) {
        self.assert_no_changes_because("the plan should have found no changes");
    }

    /// [`Run::assert_no_changes`], saying in the failure message what the convergence proves.
    #[track_caller]
    pub fn assert_no_changes_because(&self, why: &str) {
        assert_eq!(
            (self.code, self.stdout.as_str()),
            (0, NO_CHANGES),
            "{why}\n--- stderr\n{}",
            self.stderr
        );
    }
}

/// The exit code (-1 when killed by a signal) and the output, decoded lossily: one conversion for
/// every test that runs the binary, so they all read a run the same way.
impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What `plan` prints, and all it prints, when the live systems already match the manifests.
pub const NO_CHANGES: &str = "No changes. The live systems match the manifests.\n";

/// The binary under test as a command with nothing set: the one way every test starts
/// kustoplan, so `KUSTOPLAN_TEST_BIN` ([`super::kustoplan_bin`]) reaches all of them. Callers
/// add the arguments, environment and pipes their scenario needs; [`kustoplan`] and
/// [`kustoplan_in`] add the usual ones.
pub fn command() -> Command {
    Command::new(super::kustoplan_bin())
}

/// Runs kustoplan with the built-in sandbox in `sandbox`, without colours or an environment
/// from the caller's shell.
pub fn kustoplan(sandbox: &Path, args: &[&str]) -> Run {
    kustoplan_in(&super::repo(), Some(sandbox), args)
}

/// A directory's path as a command-line argument.
pub fn arg(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

/// [`kustoplan`] off the test's runtime (on a blocking thread), so that the sandboxes the test
/// serves on that runtime answer meanwhile.
pub async fn kustoplan_beside(sandbox: &Path, args: &[&str]) -> Run {
    let sandbox = sandbox.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kustoplan(&sandbox, &args)
    })
    .await
    .expect("kustoplan's thread ended")
}

/// Runs kustoplan in the directory `cwd`, with the built-in sandbox in `sandbox` or, given
/// none, where kustoplan keeps it by default (`KUSTOPLAN_SANDBOX_DIR` unset), without colours
/// or an environment from the caller's shell: for the tests of relative paths and defaults.
pub fn kustoplan_in(cwd: &Path, sandbox: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = command();
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("KUSTOPLAN_SANDBOX_DIR")
        .env_remove("KUSTOPLAN_ENV")
        .env("NO_COLOR", "1");
    if let Some(dir) = sandbox {
        cmd.env("KUSTOPLAN_SANDBOX_DIR", dir);
    }
    Run::from(cmd.output().expect("run kustoplan"))
}

/// A copy of the gameplay example (its three manifests) in a temp dir, that a test may edit.
pub fn gameplay_copy() -> tempfile::TempDir {
    let stack = tempfile::tempdir().expect("tempdir");
    for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
        std::fs::copy(
            super::repo().join("examples/gameplay").join(f),
            stack.path().join(f),
        )
        .expect("copy");
    }
    stack
}

/// Writes `docs` to `dir/stack.yaml`, one YAML document each (joined by `---` lines): how the
/// tests that generate a stack (many tables, views, leases) write it.
pub fn write_stack(dir: &Path, docs: &[String]) {
    std::fs::write(dir.join("stack.yaml"), docs.join("---\n")).expect("write stack");
}

/// Replaces `from` (which must be there) with `to` in `dir/file`.
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

/// Turns `safety.prune` on in the Stack document of `dir/stack.yaml` (the gameplay example's,
/// or any with a `targets:` line): what the tests of dropping undeclared objects start from.
pub fn prune_on(dir: &Path) {
    edit(
        dir,
        "stack.yaml",
        "targets:\n",
        "safety: {prune: true}\ntargets:\n",
    );
}

/// Widens the gameplay example's `GamePlay.Score` from int to long in `dir/kusto.yaml`, the
/// column and its JSON mapping together: the type change (data-loss) several tests plan.
pub fn widen_score(dir: &Path) {
    edit(
        dir,
        "kusto.yaml",
        "{name: Score, type: int}",
        "{name: Score, type: long}",
    );
    edit(
        dir,
        "kusto.yaml",
        "{column: Score, path: $.score, datatype: int}",
        "{column: Score, path: $.score, datatype: long}",
    );
}

/// Runs kustoplan (off the async runtime) with its Kusto cluster at `url`, a sandbox server
/// (`--var kusto_cluster=URL`), and the rest of the built-in sandbox in `local`.
pub async fn kustoplan_at(url: &str, local: &Path, args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--var".to_string(), format!("kusto_cluster={url}")]);
    let mut cmd = command();
    cmd.args(&all)
        .env("KUSTOPLAN_SANDBOX_DIR", local)
        .env("NO_COLOR", "1");
    Run::from(output_off_runtime(cmd).await)
}

/// Runs `cmd` to completion on a blocking thread: a test on a tokio runtime that also serves a
/// sandbox must not block the runtime while the binary talks to that sandbox.
pub async fn output_off_runtime(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run kustoplan"))
        .await
        .expect("join")
}
