//! `kustoplan import --out DIR` writes only inside DIR, and all of its files or none: never
//! through a symlink leading out of DIR (even with `--force`), and a failed import leaves DIR as
//! it found it.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::cli::kustoplan;
use kustoplan::sandbox::kusto::{Caller, KustoSandbox};

fn text(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A sandbox running the gameplay example, and a directory with only its Stack document.
fn live_gameplay() -> (tempfile::TempDir, tempfile::TempDir) {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let apply = kustoplan(
        sandbox.path(),
        &["apply", "examples/gameplay", "--auto-approve"],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let stack = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        "examples/gameplay/stack.yaml",
        stack.path().join("stack.yaml"),
    )
    .expect("copy stack");
    (sandbox, stack)
}

/// Every entry under `dir` (links not followed), with file contents.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(dir).expect("prefix").to_path_buf();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                out.insert(rel, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, "<dir>".into());
                todo.push(path);
            } else {
                out.insert(rel, std::fs::read_to_string(&path).expect("read"));
            }
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn force_never_writes_through_a_symlink_leading_out() {
    use std::os::unix::fs::symlink;
    let (sandbox, stack) = live_gameplay();
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim.yaml");
    std::fs::write(&victim, "precious\n").expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path();
    std::fs::create_dir(o.join("kafka")).expect("mkdir");
    symlink(&victim, o.join("kafka").join("topics.yaml")).expect("symlink");
    symlink(outside.path(), o.join("connect")).expect("symlink");
    let before = tree(o);
    let run = kustoplan(
        sandbox.path(),
        &["import", text(stack.path()), "--out", text(o), "--force"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let real_outside = std::fs::canonicalize(outside.path()).expect("canonical");
    let expected = format!(
        "error: {o}/connect is a symlink leading out of {o} (to {out}); refusing to write through it\n\
         error: {o}/kafka/topics.yaml is a symlink leading out of {o} (to {out}/victim.yaml); refusing to write through it\n\
         error: nothing was written to {o}\n",
        o = text(o),
        out = text(&real_outside)
    );
    assert_eq!(run.stderr, expected);
    assert_eq!(run.stdout, "");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "precious\n"
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("dir").count(),
        1,
        "nothing was created outside --out"
    );
    assert_eq!(tree(o), before, "--out is as it was");
}

#[test]
fn a_failed_import_leaves_nothing_behind() {
    let (sandbox, stack) = live_gameplay();
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path();
    // A file where the import needs a directory: the Kusto files come before it in the
    // import's order, and must not be left behind.
    std::fs::write(o.join("kafka"), "not a directory\n").expect("write");
    let before = tree(o);
    let run = kustoplan(
        sandbox.path(),
        &["import", text(stack.path()), "--out", text(o), "--force"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "error: {o}/kafka is not a directory (a file of the import goes inside it)\nerror: nothing was written to {o}\n",
            o = text(o)
        )
    );
    assert_eq!(tree(o), before, "--out is as it was");
}

#[test]
fn a_write_that_fails_midway_leaves_no_directory() {
    let (sandbox, stack) = live_gameplay();
    // A table folder too long for a file name: its file fails after others were written.
    let kusto = KustoSandbox::open(sandbox.path(), &["gamedb".into()]).expect("open sandbox");
    let folder = "f".repeat(300);
    kusto
        .execute(
            "gamedb",
            &format!(".create table Legacy (Id: long) with (folder = '{folder}')"),
            &Caller::cluster_admin("aaduser=someone"),
        )
        .expect("create by hand");
    let parent = tempfile::tempdir().expect("tempdir");
    let target = parent.path().join("imported");
    let run = kustoplan(
        sandbox.path(),
        &["import", text(stack.path()), "--out", text(&target)],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot write kusto/gamedb/tables/{folder}.yaml: File name too long"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "error: nothing was written to {}\n",
            text(&target)
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        tree(parent.path()),
        BTreeMap::new(),
        "neither --out nor a staging directory is left"
    );
}
