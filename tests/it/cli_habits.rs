//! Habits people bring from Terraform and CI: usage errors never exit 2 (which `plan
//! --detailed-exitcode` reserves for "changes"), and Terraform's single-dash spellings work.

use crate::common;

use std::path::{Path, PathBuf};

use common::cli::Run;

fn kustoplan(cwd: &Path, sandbox: &Path, args: &[&str]) -> Run {
    let out = common::cli::command()
        .args(args)
        .current_dir(cwd)
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan");
    Run::from(out)
}

fn gameplay() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/gameplay")
        .display()
        .to_string()
}

#[test]
fn usage_errors_exit_1_never_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let stack = gameplay();
    let typo = kustoplan(d, d, &["plan", &stack, "--detailed-exitcod"]);
    assert_eq!(typo.code, 1, "{}", typo.stderr);
    assert!(
        typo.stderr
            .starts_with("error: unexpected argument '--detailed-exitcod' found\n"),
        "{}",
        typo.stderr
    );
    assert_eq!(typo.stdout, "");
    let bad_value = kustoplan(d, d, &["plan", &stack, "--format", "html"]);
    assert_eq!(bad_value.code, 1, "{}", bad_value.stderr);
    assert!(
        bad_value
            .stderr
            .starts_with("error: invalid value 'html' for '--format <FORMAT>'"),
        "{}",
        bad_value.stderr
    );
    let no_command = kustoplan(d, d, &[]);
    assert_eq!(no_command.code, 1, "{}", no_command.stderr);
    assert!(no_command.stderr.contains("Usage: kustoplan"));
    let help = kustoplan(d, d, &["plan", "--help"]);
    assert_eq!(help.code, 0);
    help.assert_stdout_contains("--detailed-exitcode");
    let version = kustoplan(d, d, &["--version"]);
    assert_eq!(version.code, 0);
    assert!(
        version.stdout.starts_with("kustoplan "),
        "{}",
        version.stdout
    );
}

#[test]
fn terraform_spellings_write_the_named_plan_file_and_apply_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let sandbox = d.join("sandbox");
    let stack = gameplay();
    let plan = kustoplan(
        d,
        &sandbox,
        &["plan", &stack, "-out=tf.plan", "-detailed-exitcode"],
    );
    assert_eq!(
        plan.code, 2,
        "changes, as with --detailed-exitcode: {}",
        plan.stderr
    );
    assert!(d.join("tf.plan").is_file(), "-out=tf.plan writes tf.plan");
    assert!(
        !d.join("ut=tf.plan").exists(),
        "never a file named after `-o ut=tf.plan`"
    );
    let apply = kustoplan(d, &sandbox, &["apply", "tf.plan", "-auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply
            .stdout
            .ends_with("Apply complete: 6 changes applied in 3 requests.\n"),
        "{}",
        apply.stdout
    );
    let again = kustoplan(
        d,
        &sandbox,
        &["plan", &stack, "-out", "second.plan", "-detailed-exitcode"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(d.join("second.plan").is_file());
    assert!(!d.join("ut").exists() && !d.join("second.plan").is_dir());
}
