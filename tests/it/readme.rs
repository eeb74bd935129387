//! The README's first command is the product's main job; this runs it as written (with the built
//! binary in place of `cargo run -q --`, and a temporary sandbox directory).

#[test]
fn readme_main_job_plans_applies_and_converges() {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README starts with a sh block");
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "two commands: the main job and the test suite"
    );
    assert_eq!(lines[1], "scripts/dev-setup && cargo test");
    let steps: Vec<&str> = lines[0].split(" && ").collect();
    assert_eq!(steps[0], "scripts/dev-setup");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let mut outputs = Vec::new();
    for step in &steps[1..] {
        let args = step
            .strip_prefix("cargo run -q -- ")
            .unwrap_or_else(|| panic!("unexpected step {step}"));
        let out = crate::common::cli::command()
            .args(args.split_whitespace())
            .env("KUSTOPLAN_SANDBOX_DIR", sandbox.path())
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "`{step}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert!(
        outputs[0].ends_with("Plan: 6 to create, 0 to update, 0 to delete.\n"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[1].ends_with("Apply complete: 6 changes applied in 3 requests.\n"),
        "{}",
        outputs[1]
    );
    assert_eq!(
        outputs[2],
        "No changes. The live systems match the manifests.\n"
    );
}
