//! Input written by someone else: literal secrets never appear in a diagnostic, whichever rule
//! reports the problem; a manifest that is not UTF-8 is reported at its position; symlink loops
//! in a stack directory are named instead of hanging `validate`; names from the live systems stay
//! text in a Markdown plan.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cli::Run;

/// Runs kustoplan, failing the test (instead of hanging it) after 60 s.
fn kustoplan(args: &[&str]) -> Run {
    let mut child = common::cli::command()
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kustoplan");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().expect("kill");
            panic!("kustoplan {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    Run::from(out)
}

fn text(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const SECRET_STACK: &str = "\
kind: Stack
name: secrets
targets:
  connect:
    main: {url: \"http://connect:8083\", password: 987654321}
---
kind: Database
name: db
---
kind: Table
name: Events
columns: [{name: Id, type: long}]
---
kind: Sink
name: derived
auth: {strategy: application, app_id: a, tenant_id: t, app_key: \"${file:/s.properties:k}\"}
config:
  aad.auth.appkey: Leak-Derived-1
routes:
  - {topic: a, table: Events, format: json}
---
kind: Sink
name: same-line
auth: {strategy: application, app_id: a, tenant_id: t, app_key: Leak-SameLine-2, bogus: 1}
routes:
  - {topic: b, table: Events, format: json}
---
kind: Sink
name: type-error
auth:
  strategy: application
  app_id: a
  tenant_id: t
  app_key: [Leak-TypeError-3]
routes:
  - {topic: c, table: Events, format: json}
";

#[test]
fn secrets_never_appear_in_any_diagnostic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("stack.yaml");
    std::fs::write(&file, SECRET_STACK).expect("write");
    let run = kustoplan(&["validate", text(&file)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    for secret in [
        "Leak-Derived-1",
        "Leak-SameLine-2",
        "Leak-TypeError-3",
        "987654321",
    ] {
        assert!(
            !run.stderr.contains(secret),
            "{secret} leaked:\n{}",
            run.stderr
        );
    }
    let f = text(&file);
    for expected in [
        format!(
            "error: `aad.auth.appkey` is derived by kustoplan and cannot be set in `config`\n  --> {f}:18:20\n   |\n18 |   aad.auth.appkey: <redacted>\n   |                    ^^^^^^^^^^\n"
        ),
        format!(
            "error: unknown key `bogus`\n  --> {f}:24:77\n   |\n24 | auth: {{strategy: application, app_id: a, tenant_id: t, app_key: <redacted>, bogus: 1}}\n   |                                                                             ^^^^^\n"
        ),
        format!(
            "error: `app_key` has an unexpected shape (a list)\n  --> {f}:34:12\n   |\n34 |   app_key: [<redacted>]\n"
        ),
        format!(
            "error: `password` has an unexpected shape (an integer)\n --> {f}:5:50\n  |\n5 |     main: {{url: \"http://connect:8083\", password: <redacted>}}\n  |                                                  ^^^^^^^^^^\n"
        ),
    ] {
        assert!(
            run.stderr.contains(&expected),
            "missing:\n{expected}\nin:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_manifest_that_is_not_utf8_is_reported_at_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("topic.yaml");
    std::fs::write(&file, b"kind: Topic\nname: caf\xe9\npartitions: 1\n").expect("write");
    let run = kustoplan(&["validate", text(&file)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: not UTF-8: byte 0xE9 at line 2, column 10 is not valid UTF-8\n --> {}:2:10\n",
            text(&file)
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("help: save the file as UTF-8"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("error: 1 problem found; nothing was sent to any system\n"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_a_stack_directory_are_named() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::write(
        root.join("topic.yaml"),
        "kind: Topic\nname: t\npartitions: 1\n",
    )
    .expect("write");
    std::fs::create_dir(root.join("sub")).expect("mkdir");
    symlink(".", root.join("loop1")).expect("symlink");
    symlink("..", root.join("sub").join("loop2")).expect("symlink");
    let run = kustoplan(&["validate", text(&root)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = text(&root);
    assert_eq!(
        run.stderr,
        format!(
            "error: symlink loop: {r}/loop1 leads back to {r}, which contains it\n |\n = help: remove the link, or pass the directories to read one by one\n\n\
             error: symlink loop: {r}/sub/loop2 leads back to {r}, which contains it\n |\n = help: remove the link, or pass the directories to read one by one\n\n\
             error: 2 problems found; nothing was sent to any system\n"
        )
    );
}

#[cfg(unix)]
#[test]
fn a_directory_linked_twice_is_read_once() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("topics")).expect("mkdir");
    std::fs::write(
        root.join("topics").join("t.yaml"),
        "kind: Topic\nname: t\npartitions: 1\n",
    )
    .expect("write");
    symlink("topics", root.join("again")).expect("symlink");
    let run = kustoplan(&["validate", text(root)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "valid: 0 databases, 0 tables, 1 topic, 0 sinks, 0 routes in 1 file\n"
    );
}

/// A connector named with `|`, `<` and backticks (Connect accepts such names) that the stack owns
/// and prunes: the Markdown plan shows the name as text in its table row and `<summary>`.
#[test]
fn markdown_plans_show_hostile_live_names_as_text() {
    use kustoplan::sandbox::connect::ConnectSandbox;
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = common::cli::gameplay_copy();
    let stack_file = stack.path().join("stack.yaml");
    let text_of_stack = std::fs::read_to_string(&stack_file).expect("read");
    std::fs::write(&stack_file, text_of_stack + "safety:\n  prune: true\n").expect("write");
    let run_with_sandbox = |args: &[&str]| {
        let out = common::cli::command()
            .args(args)
            .env("KUSTOPLAN_SANDBOX_DIR", sandbox.path())
            .env_remove("KUSTOPLAN_ENV")
            .output()
            .expect("run kustoplan");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = text(stack.path());
    let (code, _, stderr) = run_with_sandbox(&["apply", dir, "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    let hostile = "evil|<img src=x onerror=alert(1)>`x`";
    let connect =
        ConnectSandbox::open(&sandbox.path().join("connect").join("main")).expect("open connect");
    let mut config = connect.state().connectors["gameplay-kusto-sink"]
        .config
        .clone();
    config.insert("name".into(), hostile.into());
    connect.put_config(hostile, config).expect("create by hand");
    drop(connect);
    let (code, md, stderr) = run_with_sandbox(&["plan", dir, "--format", "markdown"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        md.contains(
            "| `-` | `` connect.main.connector.evil\\|<img src=x onerror=alert(1)>`x` `` | data-loss | "
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "<details><summary><code>connect.main.connector.evil|&lt;img src=x onerror=alert(1)&gt;`x`</code> "
        ),
        "{md}"
    );
    assert!(
        !md.lines()
            .any(|l| l.starts_with("<details>") && l.contains("<img")),
        "{md}"
    );
}

#[cfg(unix)]
#[test]
fn a_link_round_a_loop_on_the_command_line_is_named_not_called_missing() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("self.yaml");
    symlink(&link, &link).expect("symlink");
    let run = kustoplan(&["validate", text(&link)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot read {}: Too many levels of symbolic links (os error 40)\n",
            text(&link)
        )),
        "{}",
        run.stderr
    );
}
