//! `kustoplan fmt`: the shipped examples are canonical; `--check` names what is not and changes
//! nothing; `fmt` rewrites files so they load to the same documents with every comment kept,
//! and formatting again changes nothing; a file that does not parse is reported and untouched.

use crate::common;

use std::path::Path;

use common::cli::{Run, kustoplan_in};
use kustoplan::manifest::fmt::{Formatter, same_node};
use kustoplan::manifest::node::parse_documents;
use proptest::prelude::*;

fn fmt(cwd: &Path, args: &[&str]) -> Run {
    let mut all = vec!["fmt"];
    all.extend_from_slice(args);
    kustoplan_in(cwd, None, &all)
}

/// The comments of a text: what follows `#` at a line start or after a blank, outside quotes
/// (the test inputs quote no `#`).
fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let at = if l.trim_start().starts_with('#') {
                l.find('#')
            } else {
                l.find(" #").map(|i| i + 1)
            }?;
            Some(l[at..].trim_end().to_string())
        })
        .collect()
}

/// Formats `text` and checks the safety properties: idempotent, same documents, every comment
/// kept.
fn assert_safe(name: &str, text: &str) -> String {
    let formatter = Formatter::new();
    let once = formatter
        .format(text, 0)
        .unwrap_or_else(|d| panic!("{name}: {d:?}\n{text}"));
    let twice = formatter
        .format(&once, 0)
        .unwrap_or_else(|d| panic!("{name}, second pass: {d:?}\n{once}"));
    assert_eq!(twice, once, "{name}: formatting again changed it");
    let before = parse_documents(text, 0).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let after = parse_documents(&once, 0).unwrap_or_else(|e| panic!("{name}: {e:?}\n{once}"));
    assert_eq!(before.len(), after.len(), "{name}: documents\n{once}");
    for (a, b) in before.iter().zip(&after) {
        assert!(same_node(a, b), "{name}: a value changed\n{once}");
        assert_eq!(a.to_json(), b.to_json(), "{name}\n{once}");
    }
    let mut kept = comments(&once);
    kept.sort();
    let mut written = comments(text);
    written.sort();
    assert_eq!(kept, written, "{name}: comments\n{once}");
    once
}

#[test]
fn every_example_is_canonical_and_formats_safely() {
    let run = fmt(&common::repo(), &["--check", "examples"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.all());
    for dir in ["examples/gameplay", "examples/telemetry", "examples/ci"] {
        for file in common::manifest_files(common::repo().join(dir)) {
            let text = std::fs::read_to_string(&file).expect("read example");
            let out = assert_safe(&file.display().to_string(), &text);
            assert_eq!(out, text, "{} is not canonical", file.display());
        }
    }
}

/// A copy of the gameplay example with its Table document written carelessly.
fn unformatted_stack() -> tempfile::TempDir {
    let stack = common::cli::gameplay_copy();
    let path = stack.path().join("kusto.yaml");
    let text = std::fs::read_to_string(&path).expect("read");
    let messy = text
        .replace(
            "kind: Table\nname: GamePlay\n",
            "name: GamePlay   \nkind: Table\n",
        )
        .replace(
            "  - {name: PlayerID, type: int}",
            "  -  { type: int ,name: PlayerID }",
        );
    assert_ne!(messy, text, "the example changed; update the test");
    std::fs::write(&path, messy).expect("write");
    stack
}

#[test]
fn check_names_unformatted_files_and_changes_nothing() {
    let stack = unformatted_stack();
    let before = std::fs::read(stack.path().join("kusto.yaml")).expect("read");
    let run = fmt(stack.path(), &["--check", "."]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(run.stdout.trim_end(), "./kusto.yaml", "{}", run.all());
    assert!(
        run.stderr.contains("1 file is not formatted"),
        "{}",
        run.all()
    );
    assert_eq!(
        std::fs::read(stack.path().join("kusto.yaml")).expect("read"),
        before
    );

    let run = fmt(stack.path(), &["-check", "-diff", "kusto.yaml"]);
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stdout_contains("-name: GamePlay   \n");
    run.assert_stdout_contains("+  - {name: PlayerID, type: int}\n");
    assert_eq!(
        std::fs::read(stack.path().join("kusto.yaml")).expect("read"),
        before
    );
}

#[test]
fn fmt_rewrites_only_what_needs_it_and_then_checks_clean() {
    let stack = unformatted_stack();
    let untouched = std::fs::metadata(stack.path().join("stack.yaml"))
        .and_then(|m| m.modified())
        .expect("mtime");
    let run = fmt(stack.path(), &[]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "./kusto.yaml\n"),
        "{}",
        run.all()
    );
    let text = std::fs::read_to_string(stack.path().join("kusto.yaml")).expect("read");
    let example =
        std::fs::read_to_string(common::repo().join("examples/gameplay/kusto.yaml")).expect("read");
    assert_eq!(
        text, example,
        "the careless copy formats back to the example"
    );
    assert_eq!(
        std::fs::metadata(stack.path().join("stack.yaml"))
            .and_then(|m| m.modified())
            .expect("mtime"),
        untouched,
        "a formatted file is not rewritten"
    );
    let run = fmt(stack.path(), &["--check"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.all());
    let run = kustoplan_in(stack.path(), None, &["validate", "."]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_left_alone() {
    let stack = unformatted_stack();
    let broken = "kind: Topic\nname: t\npartitions: [1\n";
    std::fs::write(stack.path().join("broken.yaml"), broken).expect("write");
    for args in [&["--check"][..], &[][..]] {
        let run = fmt(stack.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains("broken.yaml:3:13"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("invalid YAML"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(stack.path().join("broken.yaml")).expect("read"),
            broken
        );
    }
    let fixed = std::fs::read_to_string(stack.path().join("kusto.yaml")).expect("read");
    assert!(
        fixed.starts_with("# yaml-language-server"),
        "the other files are still formatted: {fixed}"
    );
}

#[test]
fn a_symlinked_manifest_is_rewritten_where_it_lives_and_stays_a_link() {
    let real = tempfile::tempdir().expect("tempdir");
    let stack = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        real.path().join("t.yaml"),
        "name: t\nkind: Topic\npartitions: 1\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(real.path().join("t.yaml"), stack.path().join("t.yaml"))
        .expect("link");
    let run = fmt(stack.path(), &[]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "./t.yaml\n"),
        "{}",
        run.all()
    );
    assert!(
        std::fs::symlink_metadata(stack.path().join("t.yaml"))
            .expect("stat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(real.path().join("t.yaml")).expect("read"),
        "kind: Topic\nname: t\npartitions: 1\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(real.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left: {leftovers:?}"
    );
}

/// Runs `kustoplan fmt ARGS` with `input` on standard input.
fn fmt_stdin(args: &[&str], input: &str) -> Run {
    let mut child = common::cli::command()
        .arg("fmt")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kustoplan");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait"))
}

#[test]
fn a_dash_formats_standard_input_to_standard_output() {
    let messy = "name: t   # the topic\nkind: Topic\npartitions: 1\n";
    let tidy = "kind: Topic\nname: t # the topic\npartitions: 1\n";
    let run = fmt_stdin(&["-"], messy);
    assert_eq!((run.code, run.stdout.as_str()), (0, tidy), "{}", run.all());
    let run = fmt_stdin(&["-", "--check"], messy);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{}", run.all());
    let run = fmt_stdin(&["-", "--check"], tidy);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.all());
    let run = fmt_stdin(&["-", "--diff"], messy);
    assert!(
        run.stdout.contains("+name: t # the topic\n"),
        "{}",
        run.all()
    );
    let run = fmt_stdin(&["-"], "kind: [Topic\n");
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{}", run.all());
    assert!(run.stderr.contains("<stdin>:1:7"), "{}", run.stderr);
}

#[test]
fn tricky_inputs_format_safely() {
    for (name, text) in [
        (
            "comments everywhere",
            "# head\n\n# more head\nkind: Sink # kind\n# above name\nname: s\nroutes: # routes\n  # first route\n  - topic: t # topic\n    table: T\n    format: json\n  # second route\n  - {table: U, topic: u, format: csv}\n# before auth\nauth:\n  strategy: application # strategy\n# the end\n\n# really\n",
        ),
        (
            "yaml 1.1 words and numbers",
            "kind: Stack\nname: s\nvars: {a: on, b: yes, c: 1.0, d: 0x1F, e: 1_000, f: \"${var.X}\", g: 'a: b', h: \"# no\"}\n",
        ),
        (
            "block scalars",
            "kind: Function\nname: F\nbody: |+\n    keep\n\n\nfolder: |-\n  strip\ndocstring: >\n  folded\n  text\n\n  para\n",
        ),
        (
            "empty documents",
            "---\n---\nkind: Topic\nname: t\npartitions: 1\n---\n\n...\n",
        ),
        (
            "crlf",
            "kind: Topic\r\nname: t\r\npartitions: 1 # one\r\nconfig:\r\n    a.b: \"x\ty\"\r\n",
        ),
        (
            "tabs in strings",
            "kind: Table\nname: T\ndocstring: \"a\tb\"\nfolder: 'c\td'\ncolumns: [{name: A, type: int}]\n",
        ),
        (
            "merge keys",
            "a: {<<: {x: 1}, y: 2}\nb:\n  <<: {x: 3}\n  z: 4\n",
        ),
        (
            "quoted keys",
            "\"kind\": Topic\n'name': t\n\"partitions\": 1\n",
        ),
        (
            "deep nesting",
            "a:\n    - - - b: 1\n          c:\n            - d\n",
        ),
    ] {
        assert_safe(name, text);
    }
}

#[test]
fn anchors_are_refused_with_their_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "kind: Table\nname: T\ncolumns: &c [{name: A, type: int}]\n";
    std::fs::write(dir.path().join("t.yaml"), text).expect("write");
    let run = fmt(dir.path(), &["t.yaml"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("t.yaml:3:10"), "{}", run.stderr);
    assert!(run.stderr.contains("anchors"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("t.yaml")).expect("read"),
        text
    );
}

/// A value: a scalar spelled as manifests spell them, a flow collection, or (with room left)
/// a block collection.
fn scalar() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "x",
        "on",
        "yes",
        "1.0",
        "007",
        "${var.X}",
        "\"a: b\"",
        "'# c'",
        "~",
        "\"\"",
        "12",
        "true",
        "\"t\\tu\"",
        "a b c",
        "Table",
        "Sink",
    ])
    .prop_map(str::to_string)
}

#[derive(Debug, Clone)]
enum Gen {
    Scalar(String),
    Flow(Vec<(String, String)>),
    Map(Vec<(String, Gen, Option<String>)>),
    Seq(Vec<Gen>),
}

fn keys() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "kind", "name", "columns", "type", "zeta", "alpha", "routes", "topic", "table", "vars",
    ])
    .prop_map(str::to_string)
}

fn gen_value() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        scalar().prop_map(Gen::Scalar),
        prop::collection::vec((keys(), scalar()), 0..3).prop_map(Gen::Flow),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(
                (
                    keys(),
                    inner.clone(),
                    prop::option::of(Just("# note".to_string()))
                ),
                1..4
            )
            .prop_map(Gen::Map),
            prop::collection::vec(inner, 1..3).prop_map(Gen::Seq),
        ]
    })
}

/// Writes a generated value as YAML with `step` spaces per level (and sequences at their
/// key's column when `flush` is set), keys made unique.
fn write(value: &Gen, indent: usize, step: usize, flush: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Gen::Scalar(s) => out.push_str(&format!(" {s}\n")),
        Gen::Flow(entries) => {
            let mut seen = std::collections::BTreeSet::new();
            let parts: Vec<String> = entries
                .iter()
                .filter(|(k, _)| seen.insert(k.clone()))
                .map(|(k, v)| format!("{k}:   {v}"))
                .collect();
            out.push_str(&format!(" {{ {} }}\n", parts.join(" ,")));
        }
        Gen::Map(entries) => {
            out.push('\n');
            let mut seen = std::collections::BTreeSet::new();
            for (k, v, comment) in entries.iter().filter(|(k, _, _)| seen.insert(k.clone())) {
                if let Some(c) = comment {
                    out.push_str(&format!("{pad}{c} {k}\n"));
                }
                out.push_str(&format!("{pad}{k}:"));
                let child = if matches!(v, Gen::Seq(_)) && flush {
                    indent
                } else {
                    indent + step
                };
                write(v, child, step, flush, out);
            }
        }
        Gen::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&format!("{pad}-"));
                match item {
                    Gen::Map(_) | Gen::Seq(_) => write(item, indent + step, step, flush, out),
                    _ => write(item, indent, step, flush, out),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_manifests_format_safely(
        entries in prop::collection::vec((keys(), gen_value()), 1..5),
        step in 2usize..5,
        flush in any::<bool>(),
    ) {
        let mut text = String::from("# header\n");
        let mut seen = std::collections::BTreeSet::new();
        for (k, v) in entries.iter().filter(|(k, _)| seen.insert(k.clone())) {
            text.push_str(&format!("{k}:"));
            let child = if matches!(v, Gen::Seq(_)) && flush { 0 } else { step };
            write(v, child, step, flush, &mut text);
        }
        prop_assume!(parse_documents(&text, 0).is_ok());
        assert_safe("generated", &text);
    }
}
