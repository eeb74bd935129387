//! No input makes validation panic: random bytes, random YAML-ish text, and mutations of the
//! real examples all end in Ok or in diagnostics. `kustoplan fmt` on the same mutations either
//! refuses the file or rewrites it safely: same documents, and formatting again changes nothing.

use std::path::PathBuf;

use crate::common;

use kustoplan::manifest::{self, LoadOptions};
use proptest::prelude::*;

fn validate_text(text: &str) -> Result<(), usize> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("stack.yaml");
    std::fs::write(&path, text).expect("write");
    match manifest::load(&[path], &LoadOptions::default()) {
        Ok(_) => Ok(()),
        Err(f) => {
            // Rendering must not panic either, whatever the positions are.
            let _ = kustoplan::diagnostics::render(&f.diagnostics, &f.sources, true);
            Err(f.diagnostics.len())
        }
    }
}

fn seeds() -> Vec<String> {
    [
        "examples/gameplay",
        "examples/telemetry",
        "tests/fixtures/invalid",
    ]
    .iter()
    .flat_map(common::manifest_files)
    .map(|p| std::fs::read_to_string(p).expect("read"))
    .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Swap(usize, usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        Just(":".to_string()),
        Just("- ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("<<: *a\n".to_string()),
        Just("---\n".to_string()),
        Just("${var.x}".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("~".to_string()),
        Just("kind: Sink\n".to_string()),
        Just("é😀\u{0}".to_string()),
        "[a-z_]{1,8}: [0-9a-z]{0,5}\n",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), token).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = chars.len().max(1);
        match m {
            Mutation::Delete(at, n) => {
                let start = at % len;
                let end = (start + n).min(chars.len());
                if start < end {
                    chars.drain(start..end);
                }
            }
            Mutation::Insert(at, token) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, token.chars());
            }
            Mutation::Swap(a, b) if !chars.is_empty() => {
                let n = chars.len();
                chars.swap(a % n, b % n);
            }
            Mutation::Swap(..) => {}
            Mutation::DuplicateLine(n) => {
                let text: String = chars.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let i = n % lines.len();
                    lines.insert(i, lines[i]);
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn mutated_manifests_never_panic(seed in 0usize..1000, mutations in proptest::collection::vec(mutation(), 1..6)) {
        let seeds = seeds();
        let text = apply(&seeds[seed % seeds.len()], &mutations);
        let _ = validate_text(&text);
    }

    #[test]
    fn mutated_manifests_are_formatted_safely_or_refused(seed in 0usize..1000, mutations in proptest::collection::vec(mutation(), 1..6)) {
        let seeds = seeds();
        let text = apply(&seeds[seed % seeds.len()], &mutations);
        let formatter = kustoplan::manifest::fmt::Formatter::new();
        if let Ok(once) = formatter.format(&text, 0) {
            prop_assert_eq!(formatter.format(&once, 0).ok(), Some(once.clone()), "not idempotent:\n{}", text);
            let parse = |t: &str| manifest::node::parse_documents(t, 0).unwrap_or_default();
            let (before, after) = (parse(&text), parse(&once));
            prop_assert_eq!(before.len(), after.len());
            for (a, b) in before.iter().zip(&after) {
                prop_assert!(kustoplan::manifest::fmt::same_node(a, b), "changed:\n{}\n---\n{}", text, once);
            }
        }
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = validate_text(&text);
    }

    #[test]
    fn random_yaml_shaped_text_never_panics(text in "(kind: (Table|Topic|Sink|Stack|Database)\n)?([a-z_]{1,10}: ([0-9]{1,4}|[a-zA-Z$.{}:]{0,12}|\\[[a-z0-9, ]{0,10}\\])\n){0,8}") {
        let _ = validate_text(&text);
    }
}

/// Inputs that once made validation panic (found by the property tests above).
#[test]
fn known_panics_stay_fixed() {
    for text in ["\u{2000}]", "a: \u{3000}\u{3000}]", "\u{2000}"] {
        let _ = validate_text(text);
    }
}

#[test]
fn the_invalid_fixtures_fail_and_the_examples_pass_through_the_same_path() {
    assert!(
        validate_text(
            &std::fs::read_to_string("tests/fixtures/invalid/wrong-type.yaml").expect("read")
        )
        .is_err()
    );
    let gameplay: String = ["stack.yaml", "kusto.yaml", "kafka.yaml"]
        .iter()
        .map(|f| std::fs::read_to_string(format!("examples/gameplay/{f}")).expect("read"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    assert_eq!(validate_text(&gameplay), Ok(()));
}
