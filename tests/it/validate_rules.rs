//! Every validation rule has a failing fixture in tests/fixtures/invalid; each fixture lists the
//! exact diagnostics it must produce as `# expect: LINE:COL MESSAGE` (and optionally
//! `# hint: TEXT` right after) at its end. Nothing else may be reported.

use std::path::{Path, PathBuf};

use kustoplan::manifest::{self, LoadOptions};

fn expected(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("# expect: ") {
            out.push(e.to_string());
        } else if let Some(h) = line.strip_prefix("# hint: ") {
            let last = out.last_mut().expect("# hint: follows an # expect: line");
            last.push_str(" | ");
            last.push_str(h);
        }
    }
    out
}

fn actual(path: &Path, with_hints: &[bool]) -> Vec<String> {
    let failure = manifest::load(&[path.to_path_buf()], &LoadOptions::default())
        .expect_err("fixture must be invalid");
    failure
        .diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let loc = d.loc.expect("every fixture diagnostic has a location");
            let mut s = format!("{}:{} {}", loc.line, loc.column, d.message);
            if with_hints.get(i).copied().unwrap_or(false) {
                s.push_str(" | ");
                s.push_str(d.hint.as_deref().unwrap_or("<no hint>"));
            }
            assert!(d.hint.is_some(), "every diagnostic carries a fix hint: {s}");
            s
        })
        .collect()
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/invalid")
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_fixture_reports_exactly_its_expected_diagnostics() {
    let files = fixtures();
    assert!(
        files.len() >= 18,
        "one fixture per rule, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read fixture");
        let want = expected(&text);
        assert!(
            !want.is_empty(),
            "{} has no # expect: lines",
            file.display()
        );
        let hints: Vec<bool> = want.iter().map(|w| w.contains(" | ")).collect();
        let got = actual(&file, &hints);
        if got != want {
            failures.push(format!(
                "{}\n  expected:\n    {}\n  actual:\n    {}",
                file.display(),
                want.join("\n    "),
                got.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn examples_are_valid_in_every_environment() {
    for (dir, envs) in [
        ("examples/gameplay", &["local", "prod"][..]),
        ("examples/telemetry", &["dev", "prod"][..]),
    ] {
        for env in envs {
            let options = LoadOptions {
                environment: Some(env.to_string()),
                vars: Vec::new(),
            };
            if let Err(f) = manifest::load(&[PathBuf::from(dir)], &options) {
                panic!(
                    "{dir} ({env}) is invalid:\n{}",
                    kustoplan::diagnostics::render(&f.diagnostics, &f.sources, false)
                );
            }
        }
    }
}
