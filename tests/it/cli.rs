//! The CLI as a user sees it: exit codes, stdout and stderr.

use crate::common;

fn kustoplan(args: &[&str]) -> (i32, String, String) {
    let out = common::cli::command()
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_accepts_the_gameplay_example_with_a_one_line_summary() {
    let (code, stdout, stderr) = kustoplan(&["validate", "examples/gameplay"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "valid: 1 database, 1 table, 1 topic, 1 sink, 1 route in 3 files (environment local)\n"
    );
    assert_eq!(stderr, "");
}

#[test]
fn validate_reports_problems_on_stderr_with_exit_code_1() {
    let (code, stdout, stderr) = kustoplan(&["validate", "tests/fixtures/invalid/wrong-type.yaml"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    let expected = "\
error: `partitions` must be an integer, found a string
 --> tests/fixtures/invalid/wrong-type.yaml:3:13
  |
3 | partitions: four
  |             ^^^^
  |
  = help: write an integer here

error: `replication_factor` must be an integer, found a list
 --> tests/fixtures/invalid/wrong-type.yaml:4:21
  |
4 | replication_factor: [3]
  |                     ^
  |
  = help: write an integer here

error: 2 problems found; nothing was sent to any system
";
    assert_eq!(stderr, expected);
}

#[test]
fn colours_only_when_asked_and_never_with_no_color() {
    let (_, _, plain) = kustoplan(&["validate", "tests/fixtures/invalid/wrong-type.yaml"]);
    assert!(!plain.contains('\u{1b}'), "piped stderr has no ANSI codes");
    let (_, _, forced) = kustoplan(&[
        "--color",
        "always",
        "validate",
        "tests/fixtures/invalid/wrong-type.yaml",
    ]);
    assert!(forced.contains('\u{1b}'), "--color always colours");
    let out = common::cli::command()
        .args(["validate", "tests/fixtures/invalid/wrong-type.yaml"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run kustoplan");
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn literal_secrets_are_never_echoed() {
    let (code, stdout, stderr) =
        kustoplan(&["validate", "tests/fixtures/invalid/literal-secret.yaml"]);
    assert_eq!(code, 1);
    for secret in ["s3cr3t-value", "kafka-pass", "hunter2", "password=x"] {
        assert!(
            !stderr.contains(secret),
            "secret {secret} leaked:\n{stderr}"
        );
        assert!(!stdout.contains(secret));
    }
    assert!(stderr.contains("literal secret in `app_key`"));
}

#[test]
fn environment_and_variables_from_the_command_line() {
    let (code, stdout, stderr) = kustoplan(&["validate", "examples/gameplay", "--env", "prod"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.ends_with("(environment prod)\n"), "{stdout}");
    let (code, _, stderr) = kustoplan(&["validate", "examples/gameplay", "--env", "staging"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("error: unknown environment `staging`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: known environments: local, prod"),
        "{stderr}"
    );
    let (code, _, stderr) =
        kustoplan(&["validate", "examples/telemetry", "--var", "partitions=zero"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`partitions` must be an integer, found a string"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`tasks_max` must be an integer, found a string"),
        "{stderr}"
    );
}

#[test]
fn missing_paths_are_reported_without_a_location() {
    let (code, _, stderr) = kustoplan(&["validate", "does/not/exist"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: does/not/exist does not exist\n"),
        "{stderr}"
    );
}

#[test]
fn committed_schema_is_up_to_date() {
    let (code, stdout, _) = kustoplan(&["schema"]);
    assert_eq!(code, 0);
    let committed =
        std::fs::read_to_string("schemas/kustoplan.schema.json").expect("committed schema");
    assert!(
        committed == stdout,
        "schemas/kustoplan.schema.json is stale: run `cargo run -- schema > schemas/kustoplan.schema.json`"
    );
}

#[test]
fn committed_manifest_reference_is_up_to_date() {
    let (code, stdout, _) = kustoplan(&["schema", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("## kind: Table"), "{stdout}");
    assert!(
        stdout.contains("| `partitions` | integer | yes |"),
        "{stdout}"
    );
    let committed =
        std::fs::read_to_string("docs/manifest-reference.md").expect("committed reference");
    assert!(
        committed == stdout,
        "docs/manifest-reference.md is stale: run `cargo run -- schema --format markdown > docs/manifest-reference.md`"
    );
}

#[test]
fn every_example_file_points_editors_at_the_schema() {
    for dir in ["examples/gameplay", "examples/telemetry"] {
        for path in common::manifest_files(dir) {
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../../schemas/kustoplan.schema.json\n"
                ),
                "{} lacks the schema line",
                path.display()
            );
        }
    }
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_kustoplan()"),
        ("zsh", "#compdef kustoplan"),
        ("fish", "complete -c kustoplan"),
    ] {
        let (code, stdout, _) = kustoplan(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(stdout.contains(marker), "{shell}: {stdout}");
        assert!(stdout.contains("validate"), "{shell} completes subcommands");
    }
}

#[test]
fn verbose_logs_requests_to_stderr_and_quiet_by_default() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        common::cli::command()
            .args(["plan", "examples/gameplay"])
            .args(extra)
            .env("KUSTOPLAN_SANDBOX_DIR", sandbox.path())
            .env_remove("RUST_LOG")
            .output()
            .expect("run")
    };
    let quiet = run(&[]);
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let verbose = run(&["-v"]);
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        log.contains(r#"kusto request db="gamedb" command=".show database gamedb schema as json""#),
        "{log}"
    );
    assert_eq!(
        verbose.stdout, quiet.stdout,
        "logs never mix into the plan on stdout"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = common::cli::command()
        .args(["schema", "--format", "markdown"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    // Close the reading end before kustoplan writes, as `| head` does once it has enough.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no panic message on a closed pipe"
    );
}

/// `plan` writes its text and JSON as they are rendered: a reader that stops early (`| head`)
/// ends kustoplan quietly there too, not with a panic or an error.
#[test]
fn a_plan_piped_into_a_reader_that_stops_ends_quietly() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    for format in ["text", "json"] {
        let mut child = common::cli::command()
            .args(["plan", "examples/gameplay", "--format", format])
            .env("KUSTOPLAN_SANDBOX_DIR", sandbox.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "{format}: {stderr}"
        );
    }
}
