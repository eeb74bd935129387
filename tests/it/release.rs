//! Installing kustoplan without a Rust toolchain: the release artifact that
//! `scripts/package-release` makes from the built binary, installed by `scripts/install-release`
//! exactly as the GitHub Action (`action.yml`) runs it, with its checksum verified; the
//! self-containment check every release binary passes; and the container image's recipe.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "x86_64-unknown-linux-gnu";

fn script(name: &str) -> Command {
    Command::new(common::repo().join("scripts").join(name))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The artifact of the built binary in a fresh `dist` directory.
fn package(dist: &Path) -> PathBuf {
    let out = common::run_ok(
        script("package-release")
            .arg(common::kustoplan_bin())
            .args([VERSION, TARGET])
            .arg(dist),
    );
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(
        archive,
        dist.join(format!("kustoplan-{VERSION}-{TARGET}.tar.gz"))
    );
    archive
}

fn install(dist: &Path, dest: &Path) -> Output {
    common::run(script("install-release").args([VERSION]).arg(dest).env(
        "KUSTOPLAN_RELEASE_URL",
        format!("file://{}", dist.display()),
    ))
}

#[test]
fn the_release_artifact_installs_and_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dist = dir.path().join("dist");
    let archive = package(&dist);
    let checksum = std::fs::read_to_string(archive.with_extension("gz.sha256")).expect("sha256");
    assert!(
        checksum.ends_with(&format!("  kustoplan-{VERSION}-{TARGET}.tar.gz\n")),
        "sha256sum format: {checksum}"
    );
    let dest = dir.path().join("bin");
    let out = install(&dist, &dest);
    assert!(out.status.success(), "{}", text(&out));
    let version = common::run_ok(Command::new(dest.join("kustoplan")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("kustoplan {VERSION}")
    );
}

#[test]
fn the_same_binary_packages_to_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = std::fs::read(package(&dir.path().join("a"))).expect("read");
    // In another second: a timestamp anywhere in the archive (gzip's header) would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = std::fs::read(package(&dir.path().join("b"))).expect("read");
    assert!(first == second, "the archive is reproducible");
}

#[test]
fn an_artifact_that_does_not_match_its_checksum_is_not_installed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dist = dir.path().join("dist");
    let archive = package(&dist);
    let mut bytes = std::fs::read(&archive).expect("read");
    bytes.push(0);
    std::fs::write(&archive, bytes).expect("tamper");
    let dest = dir.path().join("bin");
    let out = install(&dist, &dest);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("does not match its published SHA-256 checksum"),
        "{}",
        text(&out)
    );
    assert!(!dest.join("kustoplan").exists(), "nothing installed");
}

#[test]
fn a_missing_release_is_an_error_and_installs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("bin");
    let out = install(&dir.path().join("no-such-release"), &dest);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!dest.join("kustoplan").exists(), "nothing installed");
}

#[test]
fn packaging_refuses_a_binary_of_another_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = common::run(
        script("package-release")
            .arg(common::kustoplan_bin())
            .args(["99.0.0", TARGET])
            .arg(dir.path().join("dist")),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!(
            "reports `kustoplan {VERSION}`, not `kustoplan 99.0.0`"
        )),
        "{}",
        text(&out)
    );
}

/// The binary needs nothing beyond glibc (librdkafka and OpenSSL are linked in): it runs on
/// any glibc Linux and in a distroless image.
#[test]
fn the_binary_needs_only_glibc() {
    let out = common::run(script("check-linkage").arg(common::kustoplan_bin()));
    assert!(out.status.success(), "{}", text(&out));
}

/// The check is not vacuous: curl needs libcurl (and more).
#[test]
fn the_linkage_check_refuses_a_binary_that_needs_other_libraries() {
    let curl = Path::new("/usr/bin/curl");
    if !curl.exists() {
        assert!(!common::in_ci(), "/usr/bin/curl is required in CI");
        common::skip_loudly("SKIPPED the_linkage_check_refuses_...: no /usr/bin/curl");
        return;
    }
    let out = common::run(script("check-linkage").arg(curl));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("libcurl"), "{}", text(&out));
}

/// Evaluates the few `${{ }}` expressions action.yml uses, from `known`.
fn expand(value: &str, known: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = known
            .get(expr)
            .unwrap_or_else(|| panic!("action.yml uses `{expr}`, which the test does not know"));
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs the action's shell steps the way the runner does (each `run:` with its `env:`, the
/// runner's files for outputs and PATH), with the cache missing, against a local release.
#[test]
fn the_action_installs_the_pinned_version_and_puts_it_on_path() {
    let action: Value = common::yaml_json(
        &std::fs::read_to_string(common::repo().join("action.yml")).expect("action.yml"),
    )
    .expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    assert_eq!(
        action["inputs"]["version"]["required"], true,
        "the version is pinned by the caller"
    );
    assert!(
        action["inputs"]["version"]["default"].is_null(),
        "no default version"
    );
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a cache step");
    assert!(
        cache["with"]["key"]
            .as_str()
            .is_some_and(|k| k.contains("inputs.version")),
        "the cache is keyed by version"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let dist = dir.path().join("dist");
    package(&dist);
    let tool_cache = dir.path().join("tool-cache");
    let github_output = dir.path().join("output");
    let github_path = dir.path().join("path");
    let mut known = BTreeMap::from([
        ("inputs.version", VERSION.to_string()),
        (
            "inputs.repository || github.action_repository || github.repository",
            "owner/kustoplan".to_string(),
        ),
        ("steps.cache.outputs.cache-hit", String::new()),
    ]);
    let mut ran = 0;
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        if let Some(condition) = step["if"].as_str() {
            assert_eq!(condition, "steps.cache.outputs.cache-hit != 'true'");
        }
        std::fs::write(&github_output, "").expect("output file");
        let mut cmd = Command::new("bash");
        cmd.args(["-e", "-c", run])
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", &tool_cache)
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_ACTION_PATH", common::repo())
            // The published release is this directory (install-release prefers it).
            .env(
                "KUSTOPLAN_RELEASE_URL",
                format!("file://{}", dist.display()),
            );
        if let Some(env) = step["env"].as_object() {
            for (key, value) in env {
                cmd.env(key, expand(value.as_str().expect("string env"), &known));
            }
        }
        let out = common::run(&mut cmd);
        assert!(
            out.status.success(),
            "step {:?}: {}",
            step["name"],
            text(&out)
        );
        ran += 1;
        if step["id"] == "dir" {
            let output = std::fs::read_to_string(&github_output).expect("output");
            let path = output
                .lines()
                .find_map(|l| l.strip_prefix("path="))
                .expect("the dir step sets `path`");
            known.insert("steps.dir.outputs.path", path.to_string());
        }
    }
    assert_eq!(ran, 3, "tool directory, download, PATH");
    let on_path = std::fs::read_to_string(&github_path).expect("GITHUB_PATH");
    let bin = PathBuf::from(on_path.trim()).join("kustoplan");
    assert!(bin.starts_with(&tool_cache), "{}", bin.display());
    let version = common::run_ok(Command::new(bin).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("kustoplan {VERSION}")
    );
}

/// The image recipe: a build stage that copies what the build needs (every path exists, and
/// every target Cargo.toml names is inside), checks self-containment, and a final stage that
/// runs the binary as a non-root user with `--version` as its health check.
#[test]
fn the_container_image_runs_the_binary_as_non_root() {
    let dockerfile =
        std::fs::read_to_string(common::repo().join("Dockerfile")).expect("Dockerfile");
    let instructions: Vec<(String, String)> = dockerfile
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, args) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_ascii_uppercase(), args.trim().to_string())
        })
        .collect();
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| op == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let (build, runtime) = instructions.split_at(stages[1]);
    assert!(
        runtime[0].1.starts_with("gcr.io/distroless/cc-"),
        "glibc and libgcc only: {}",
        runtime[0].1
    );
    let user = runtime
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .expect("USER");
    assert!(
        !user.1.starts_with("root") && !user.1.starts_with('0'),
        "non-root: {}",
        user.1
    );
    let health = runtime
        .iter()
        .find(|(op, _)| op == "HEALTHCHECK")
        .expect("HEALTHCHECK");
    let copy = runtime
        .iter()
        .find(|(op, _)| op == "COPY")
        .expect("COPY the binary");
    let installed = copy.1.split_whitespace().last().expect("destination");
    assert!(
        health
            .1
            .contains(&format!("[\"{installed}\", \"--version\"]")),
        "{}",
        health.1
    );
    let entrypoint = runtime
        .iter()
        .find(|(op, _)| op == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    assert_eq!(entrypoint.1, format!("[\"{installed}\"]"));

    let copied: Vec<&str> = build
        .iter()
        .filter(|(op, _)| op == "COPY")
        .flat_map(|(_, args)| {
            let words: Vec<&str> = args.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    for path in &copied {
        assert!(
            common::repo().join(path).exists(),
            "the Dockerfile copies `{path}`, which does not exist"
        );
    }
    for target in cargo_target_paths() {
        assert!(
            copied
                .iter()
                .any(|c| target == *c || target.starts_with(&format!("{c}/"))),
            "Cargo.toml needs `{target}`, which the build stage does not copy"
        );
    }
    assert!(
        build
            .iter()
            .any(|(op, args)| op == "RUN" && args.contains("scripts/check-linkage")),
        "the build stage checks that the binary needs only glibc"
    );
}

/// The files Cargo.toml's targets need, read without a TOML crate: `path = "..."` lines, and
/// `benches/NAME.rs` for each `[[bench]]` (cargo refuses a manifest whose bench is missing).
fn cargo_target_paths() -> Vec<String> {
    let text = std::fs::read_to_string(common::repo().join("Cargo.toml")).expect("Cargo.toml");
    let mut paths = vec!["Cargo.toml".to_string(), "Cargo.lock".to_string()];
    let mut section = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if let Some(path) = line
            .strip_prefix("path = \"")
            .and_then(|l| l.strip_suffix('"'))
        {
            paths.push(path.to_string());
        } else if let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|l| l.strip_suffix('"'))
            .filter(|_| section == "[[bench]]")
        {
            paths.push(format!("benches/{name}.rs"));
        }
    }
    paths
}

/// `cargo install kustoplan` works from the packaged crate: the crate `cargo package` would
/// publish compiles from exactly its own files and lock file.
///
/// Not `cargo package` with its own verification: that builds the packaged crate into the
/// shared target directory and replaces `target/debug/kustoplan`, the binary the other tests
/// of this file package and run while it builds (a different build of it, so the
/// reproducibility check saw two different archives). `cargo check` of the unpacked crate in the
/// same target directory compiles the same sources and writes no binary.
#[test]
fn the_crate_packages_and_builds_from_its_package() {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("cargo's test scratch directory lies in TARGET/tmp")
        .to_path_buf();
    let out = common::run(
        Command::new(env!("CARGO"))
            .args([
                "package",
                "--locked",
                "--allow-dirty",
                "--no-verify",
                "--quiet",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(common::repo()),
    );
    assert!(out.status.success(), "cargo package:\n{}", text(&out));
    let krate = target_dir
        .join("package")
        .join(format!("kustoplan-{VERSION}.crate"));
    let unpacked = tempfile::tempdir().expect("tempdir");
    common::run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(&krate)
            .arg("-C")
            .arg(unpacked.path()),
    );
    let manifest = unpacked
        .path()
        .join(format!("kustoplan-{VERSION}"))
        .join("Cargo.toml");
    let out = common::run(
        Command::new(env!("CARGO"))
            .args(["check", "--locked", "--quiet"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir),
    );
    assert!(
        out.status.success(),
        "cargo check of the packaged crate:\n{}",
        text(&out)
    );
}
