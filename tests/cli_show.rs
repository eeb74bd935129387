//! `kustoplan show PLANFILE` prints exactly the plan that was saved, in every format, without
//! contacting any system; a file that is not a plan is an error.

use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kustoplan(sandbox: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kustoplan"))
        .args(args)
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

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
