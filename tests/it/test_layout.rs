//! The test suite's own layout, which nothing else would check: a test file left out of this
//! binary is silently never compiled, and a test that starts the binary by cargo's path
//! bypasses `KUSTOPLAN_TEST_BIN`.

use crate::common;

use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_file_in_tests_it_is_a_module_of_the_binary() {
    let it = common::repo().join("tests/it");
    let main = std::fs::read_to_string(it.join("main.rs")).expect("read tests/it/main.rs");
    let declared: Vec<&str> = main
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    let missing: Vec<String> = rust_files(&it)
        .iter()
        .filter(|p| p.parent() == Some(it.as_path()))
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .filter(|stem| stem != "main" && !declared.contains(&stem.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/it files that main.rs does not declare, so they never run: {missing:?}"
    );
}

#[test]
fn every_test_starts_kustoplan_through_the_one_override() {
    let cargo_path = concat!("CARGO_BIN_EXE", "_kustoplan");
    let tests = common::repo().join("tests");
    let allowed = tests.join("common/mod.rs");
    let offenders: Vec<String> = rust_files(&tests)
        .into_iter()
        .filter(|p| *p != allowed)
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
                .contains(cargo_path)
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "start kustoplan with common::cli::command() or common::kustoplan_bin(), which honour \
         KUSTOPLAN_TEST_BIN, not with cargo's {cargo_path}: {offenders:?}"
    );
}

#[test]
fn the_only_other_test_binaries_are_the_ones_that_own_the_process_environment() {
    let tests = common::repo().join("tests");
    let mut binaries: Vec<String> = std::fs::read_dir(&tests)
        .expect("read tests/")
        .map(|e| e.expect("read tests/").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs") || (p.is_dir() && p.join("main.rs").is_file())
        })
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .collect();
    binaries.sort();
    assert_eq!(
        binaries,
        ["it", "kafka_oauth", "kusto_client_msi"],
        "cargo builds every tests/*.rs and tests/*/main.rs as a binary of its own; a test that \
         does not set process-wide environment belongs in tests/it"
    );
}
