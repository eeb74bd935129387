//! The CI examples in `examples/ci/` are run, not just read: each workflow is parsed, every
//! `kustoplan ...` command line of its run/script steps is extracted, checked against the real
//! command line parser, and run in pipeline order with the built binary against a fresh copy
//! of the gameplay stack on the built-in sandbox. Exit codes are the contract the workflows'
//! shell logic relies on: a pull-request plan exits 2 (changes), apply converges, the drift
//! check exits 0 afterwards and 2 after a change made by hand.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use clap::Parser;
use serde_json::Value;

/// A phase of a pipeline: the GitHub job or the Azure DevOps stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Pull request: validate and plan.
    Plan,
    /// Merge to main: plan and apply.
    Apply,
    /// Schedule: drift check.
    Drift,
}

fn phase(name: &str) -> Phase {
    match name.to_ascii_lowercase().as_str() {
        "plan" => Phase::Plan,
        "plan-merged" | "apply" => Phase::Apply,
        "drift" => Phase::Drift,
        other => panic!("unexpected job or stage `{other}`: the test knows plan, apply, drift"),
    }
}

fn load(name: &str) -> (String, Value) {
    let path = common::repo().join("examples/ci").join(name);
    let text = std::fs::read_to_string(&path).expect("read workflow");
    let value: Value = common::yaml_json(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
    (text, value)
}

/// `(phase, script)` of every `run:` step of a GitHub Actions workflow, in job order.
fn github_scripts(doc: &Value) -> Vec<(Phase, String)> {
    let jobs = doc["jobs"].as_object().expect("jobs");
    let mut out = Vec::new();
    for (job, spec) in jobs {
        for step in spec["steps"].as_array().expect("steps") {
            if let Some(run) = script_of(step) {
                out.push((phase(job), run.to_string()));
            }
        }
    }
    out
}

/// `(phase, script)` of every `script:` step and AzureCLI `inlineScript` of an Azure DevOps
/// pipeline, in stage order.
fn azure_scripts(doc: &Value) -> Vec<(Phase, String)> {
    let mut out = Vec::new();
    for stage in doc["stages"].as_array().expect("stages") {
        let p = phase(stage["stage"].as_str().expect("stage name"));
        for job in stage["jobs"].as_array().expect("jobs") {
            let steps = job["steps"]
                .as_array()
                .or_else(|| job["strategy"]["runOnce"]["deploy"]["steps"].as_array())
                .expect("steps");
            for step in steps {
                if let Some(script) = script_of(step) {
                    out.push((p, script.to_string()));
                }
            }
        }
    }
    out
}

/// The shell script of a step: GitHub's `run:`, Azure DevOps' `script:` or an AzureCLI task's
/// `inlineScript`.
fn script_of(step: &Value) -> Option<&str> {
    step["run"]
        .as_str()
        .or_else(|| step["script"].as_str())
        .or_else(|| step["inputs"]["inlineScript"].as_str())
}

/// The kustoplan invocations of a shell script: lines (with `\` continuations joined) that
/// start with `kustoplan`, up to a shell list operator; redirections are kept.
fn kustoplan_lines(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kustoplan "))
        .map(|l| {
            let end = [" || ", " && ", "; "]
                .iter()
                .filter_map(|op| l.find(op))
                .min()
                .unwrap_or(l.len());
            l[..end].trim().to_string()
        })
        .collect()
}

/// Splits a command line like the shell would for the simple forms the workflows use: words,
/// `"..."` with `$NAME` expanded from `vars`, `'...'`; stops at a redirection.
fn words(line: &str, vars: &BTreeMap<&str, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String| {
        let mut name = String::new();
        while let Some(c) = chars
            .peek()
            .copied()
            .filter(|c| c.is_alphanumeric() || *c == '_')
        {
            name.push(c);
            chars.next();
        }
        let value = vars
            .get(name.as_str())
            .unwrap_or_else(|| panic!("`{line}` uses ${name}, which the test does not set"));
        word.push_str(value);
    };
    while let Some(c) = chars.next() {
        match c {
            '>' | '<' | '|' if !in_word || word.is_empty() => break,
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '$' => expand(&mut chars, &mut word),
                        c => word.push(c),
                    }
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '$' => {
                in_word = true;
                expand(&mut chars, &mut word);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// A gameplay stack copy, a sandbox directory and a working directory for one pipeline.
struct Sandbox {
    _root: tempfile::TempDir,
    stack: PathBuf,
    sandbox_dir: PathBuf,
    work: PathBuf,
    bin_dir: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("tempdir");
        let stack = root.path().join("stack");
        std::fs::create_dir_all(&stack).expect("stack dir");
        for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
            std::fs::copy(
                common::repo().join("examples/gameplay").join(f),
                stack.join(f),
            )
            .expect("copy");
        }
        let work = root.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        // The workflows call `kustoplan` from PATH, as after `cargo install`.
        let bin_dir = root.path().join("bin");
        std::fs::create_dir_all(&bin_dir).expect("bin dir");
        // A link, not a copy: a copied executable still open for writing while another test
        // thread forks cannot be run ("Text file busy").
        std::os::unix::fs::symlink(common::kustoplan_bin(), bin_dir.join("kustoplan"))
            .expect("link binary");
        Sandbox {
            sandbox_dir: root.path().join("sandbox"),
            _root: root,
            stack,
            work,
            bin_dir,
        }
    }

    /// The variables the workflows document, pointed at this sandbox.
    fn vars(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("STACK", self.stack.display().to_string()),
            ("KUSTOPLAN_ENV", "local".to_string()),
            (
                "KUSTOPLAN_SANDBOX_DIR",
                self.sandbox_dir.display().to_string(),
            ),
            ("NO_COLOR", "1".to_string()),
        ])
    }

    /// Runs one command line with the shell, as the workflow step would.
    fn run(&self, line: &str) -> (i32, String, String) {
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(line)
            .current_dir(&self.work)
            .envs(self.vars())
            .env("PATH", path)
            .output()
            .expect("run bash");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Someone changes the live state by hand: drops the mapping the sink ingests with.
    fn drift(&self) {
        let sandbox =
            kustoplan::sandbox::kusto::KustoSandbox::open(&self.sandbox_dir, &["gamedb".into()])
                .expect("open sandbox");
        sandbox
            .execute(
                "gamedb",
                ".drop table GamePlay ingestion json mapping 'gameplay_json_mapping'",
                &kustoplan::sandbox::kusto::Caller::cluster_admin("aaduser=someone"),
            )
            .expect("drop by hand");
    }
}

/// Every kustoplan command of the workflow, checked with the CLI's own parser: a flag the CLI
/// rejects fails here with clap's message (its exit code 2 could pass for "changes").
fn commands(
    name: &str,
    scripts: &[(Phase, String)],
    vars: &BTreeMap<&str, String>,
) -> Vec<(Phase, String)> {
    let mut out = Vec::new();
    for (p, script) in scripts {
        for line in kustoplan_lines(script) {
            let argv = words(&line, vars);
            if let Err(e) = kustoplan::cli::Cli::try_parse_from(&argv) {
                panic!("{name}: `{line}` is not a valid kustoplan command line:\n{e}");
            }
            out.push((*p, line));
        }
    }
    out.sort_by_key(|(p, _)| *p);
    out
}

fn expected_code(line: &str, phase: Phase, drifted: bool) -> i32 {
    let detailed = line.contains("--detailed-exitcode");
    match phase {
        Phase::Plan | Phase::Apply if detailed => 2,
        Phase::Drift if detailed && drifted => 2,
        _ => 0,
    }
}

/// Runs the workflow's pipeline on a fresh sandbox: pull request, merge, drift check, a change
/// by hand, drift check again.
fn run_pipeline(name: &str, scripts: &[(Phase, String)]) {
    let sandbox = Sandbox::new();
    let commands = commands(name, scripts, &sandbox.vars());
    for p in [Phase::Plan, Phase::Apply, Phase::Drift] {
        assert!(
            commands.iter().any(|(q, _)| *q == p),
            "{name}: no kustoplan command in the {p:?} phase"
        );
    }
    let mut ran = Vec::new();
    let run_phase = |p: Phase, drifted: bool, ran: &mut Vec<String>| {
        for (_, line) in commands.iter().filter(|(q, _)| *q == p) {
            let (code, stdout, stderr) = sandbox.run(line);
            let want = expected_code(line, p, drifted);
            assert_eq!(
                code, want,
                "{name} ({p:?}, drifted: {drifted}): `{line}` exited {code}, expected {want}\n{stdout}{stderr}"
            );
            assert!(
                !stderr.contains("error: unexpected argument"),
                "{name}: `{line}`: {stderr}"
            );
            ran.push(format!("{p:?}: {line}"));
        }
    };
    run_phase(Phase::Plan, false, &mut ran);
    run_phase(Phase::Apply, false, &mut ran);
    run_phase(Phase::Drift, false, &mut ran);
    sandbox.drift();
    run_phase(Phase::Drift, true, &mut ran);
    assert!(
        ran.iter().any(|l| l.starts_with("Apply: kustoplan apply")),
        "{name}: the merge phase applies: {ran:#?}"
    );
}

fn assert_no_stored_secret(name: &str, text: &str) {
    for pattern in ["secrets.", "client-secret", "client_secret", "appkey"] {
        assert!(
            !text.contains(pattern),
            "{name}: CI uses workload identity federation, no stored secret (`{pattern}`)"
        );
    }
}

/// The `kustoplan` command lines of a list of steps (GitHub `run:`, Azure DevOps `script:` or
/// AzureCLI `inlineScript`).
fn step_commands(steps: &Value) -> Vec<String> {
    steps
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(script_of)
        .flat_map(kustoplan_lines)
        .collect()
}

/// The job that applies: it applies a saved plan file and never plans itself, so what runs is
/// exactly what was reviewed.
fn assert_applies_the_reviewed_file(name: &str, job: &str, commands: &[String]) {
    let applies: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("kustoplan apply"))
        .collect();
    assert_eq!(applies.len(), 1, "{name}: {job} applies once: {commands:?}");
    assert_eq!(
        applies[0], "kustoplan apply kustoplan.plan",
        "{name}: {job} applies the plan file, not the stack"
    );
    assert!(
        !commands.iter().any(|c| c.starts_with("kustoplan plan")),
        "{name}: {job} must not plan again: {commands:?}"
    );
}

#[test]
fn github_actions_workflow_runs_against_the_sandbox() {
    let (text, doc) = load("github-actions.yml");
    assert_no_stored_secret("github-actions.yml", &text);
    assert!(
        doc["permissions"].as_object().is_some_and(|p| p.is_empty()),
        "no permission by default; each job asks for what it needs"
    );
    let on = &doc["on"];
    assert!(on["pull_request"].is_object(), "{on}");
    assert_eq!(on["push"]["branches"][0], "main", "{on}");
    assert!(
        on["schedule"][0]["cron"].is_string(),
        "a scheduled drift job: {on}"
    );
    assert!(
        doc["concurrency"].is_null(),
        "no workflow-wide concurrency group: a newer run would cancel a pending apply"
    );
    let jobs = doc["jobs"].as_object().expect("jobs");
    for (job, spec) in jobs {
        let steps = spec["steps"].as_array().expect("steps");
        let uses = |prefix: &str| {
            steps
                .iter()
                .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
                .count()
        };
        assert_eq!(
            uses("azure/login@"),
            0,
            "{job}: no login step kustoplan does not use"
        );
        assert_eq!(
            uses("./"),
            1,
            "{job}: installs the pinned release with the action"
        );
        let install = steps.iter().find(|s| s["uses"] == "./").expect("install");
        assert_eq!(install["with"]["version"], "${{ env.KUSTOPLAN_VERSION }}");
        let live = step_commands(&spec["steps"])
            .iter()
            .any(|c| !c.starts_with("kustoplan validate"));
        if live {
            assert_eq!(
                spec["permissions"]["id-token"], "write",
                "{job}: workload identity needs an OIDC token"
            );
            let token_steps = steps
                .iter()
                .filter(|s| {
                    s["with"]["script"]
                        .as_str()
                        .is_some_and(|t| t.contains("AZURE_FEDERATED_TOKEN_FILE"))
                })
                .count();
            assert_eq!(token_steps, 1, "{job}: one federated token step");
        }
    }
    assert!(
        !text.contains("cargo install"),
        "CI installs the release binary, it does not compile kustoplan"
    );
    assert_eq!(doc["env"]["KUSTOPLAN_VERSION"], "0.1.0", "a pinned version");

    let plan = &jobs["plan"];
    assert!(
        plan["concurrency"]["group"]
            .as_str()
            .is_some_and(|g| g.contains("pull_request.number") && g.contains("matrix.stack")),
        "plans are grouped per pull request and stack"
    );
    let plan_text = serde_json::to_string(&plan["steps"]).expect("json");
    for needle in [
        "<!-- kustoplan-plan: ${stack} -->",
        "updateComment",
        "plan.err",
        "github.event.pull_request.head.repo.full_name != github.repository",
    ] {
        assert!(
            plan_text.contains(needle)
                || serde_json::to_string(plan).expect("json").contains(needle),
            "plan job: `{needle}` (one comment per stack, updated in place, errors posted, forks)"
        );
    }
    assert!(
        !plan_text.contains("slice(0, 6") && !plan_text.contains("substring("),
        "the workflow does not truncate the plan again"
    );
    let comment = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "Post or update the plan comment")
        .expect("comment step");
    assert!(
        comment["if"]
            .as_str()
            .is_some_and(|c| c.starts_with("always()")),
        "the comment is posted when planning failed too"
    );

    let merged = &jobs["plan-merged"];
    let merged_steps = serde_json::to_string(&merged["steps"]).expect("json");
    assert!(
        merged_steps.contains("actions/upload-artifact@")
            && merged_steps.contains("kustoplan.plan"),
        "the merge plan is kept as an artifact"
    );
    let apply = &jobs["apply"];
    assert_eq!(apply["needs"], "plan-merged");
    assert_eq!(
        apply["environment"], "production",
        "apply waits for approval"
    );
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    assert!(
        apply["concurrency"]["group"]
            .as_str()
            .is_some_and(|g| g.contains("github.sha")),
        "each merge's apply has its own group, so none cancels a pending one"
    );
    assert!(
        serde_json::to_string(&apply["steps"])
            .expect("json")
            .contains("actions/download-artifact@"),
        "apply fetches the reviewed plan"
    );
    assert_applies_the_reviewed_file(
        "github-actions.yml",
        "apply",
        &step_commands(&apply["steps"]),
    );
    let drift = serde_json::to_string(&jobs["drift"]).expect("json");
    for needle in ["issues.create", "issues.update", "state: 'closed'"] {
        assert!(
            drift.contains(needle),
            "the drift job opens, updates and closes its issue: `{needle}`"
        );
    }
    run_pipeline("github-actions.yml", &github_scripts(&doc));
}

#[test]
fn azure_devops_pipeline_runs_against_the_sandbox() {
    let (text, doc) = load("azure-pipelines.yml");
    assert_no_stored_secret("azure-pipelines.yml", &text);
    assert_eq!(doc["trigger"]["branches"]["include"][0], "main");
    assert_eq!(doc["pr"]["branches"]["include"][0], "main");
    assert_eq!(
        doc["schedules"][0]["always"], true,
        "a scheduled drift check"
    );
    assert!(
        !text.contains("cargo install"),
        "CI installs the release binary, it does not compile kustoplan"
    );
    let mut azure_cli = 0;
    let mut visit = |steps: &Value| {
        for step in steps.as_array().expect("steps") {
            if step["task"] == "AzureCLI@2" {
                azure_cli += 1;
                assert_eq!(step["inputs"]["azureSubscription"], "$(serviceConnection)");
                assert_eq!(step["inputs"]["addSpnToEnvironment"], true);
                let script = step["inputs"]["inlineScript"].as_str().expect("script");
                assert!(script.contains("AZURE_FEDERATED_TOKEN_FILE"), "{script}");
            }
        }
    };
    let mut deployment = None;
    for stage in doc["stages"].as_array().expect("stages") {
        for job in stage["jobs"].as_array().expect("jobs") {
            if job["steps"].is_array() {
                visit(&job["steps"]);
            } else {
                visit(&job["strategy"]["runOnce"]["deploy"]["steps"]);
                deployment = Some((stage, job));
            }
        }
    }
    assert_eq!(
        azure_cli, 4,
        "pull-request plan, merge plan, apply and drift sign in through the service connection"
    );
    let (stage, apply) = deployment.expect("an apply deployment job");
    assert_eq!(
        stage["lockBehavior"], "sequential",
        "a waiting apply is never cancelled"
    );
    assert_eq!(
        apply["environment"], "kustoplan-prod",
        "apply waits for approval"
    );
    assert_eq!(apply["dependsOn"], "plan");
    let steps = &apply["strategy"]["runOnce"]["deploy"]["steps"];
    assert!(
        steps
            .as_array()
            .expect("steps")
            .iter()
            .any(|s| s["download"] == "current" && s["artifact"] == "kustoplan-plan"),
        "apply fetches the reviewed plan"
    );
    assert_applies_the_reviewed_file("azure-pipelines.yml", "apply", &step_commands(steps));
    let plan_stage = serde_json::to_string(&doc["stages"][0]).expect("json");
    for needle in [
        "<!-- kustoplan-plan: {stack} -->",
        "PATCH",
        "plan.err",
        "System.PullRequest.IsFork",
    ] {
        assert!(
            plan_stage.contains(needle),
            "plan stage: `{needle}` (one comment per stack, updated in place, errors posted, forks)"
        );
    }
    run_pipeline("azure-pipelines.yml", &azure_scripts(&doc));
}

/// actionlint (with the workflow's own `uses: ./` action resolved from this repository) finds
/// no problem in the example workflow nor in the release workflow.
#[test]
fn the_workflows_pass_actionlint() {
    const TEST: &str = "the_workflows_pass_actionlint";
    let requirements = common::repo().join("tests/actionlint/requirements.txt");
    let Some(venv) = common::venv::with_requirements("actionlint", &requirements, TEST) else {
        return;
    };
    let out = common::run(
        Command::new(venv.join("bin").join("actionlint"))
            .args([
                "-no-color",
                "examples/ci/github-actions.yml",
                ".github/workflows/release.yml",
            ])
            .current_dir(common::repo()),
    );
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_flag_the_cli_rejects_is_caught() {
    let scripts = vec![(
        Phase::Plan,
        "kustoplan plan \"$STACK\" --detailed-exit-code\n".to_string(),
    )];
    let vars = BTreeMap::from([("STACK", "s".to_string())]);
    let caught = std::panic::catch_unwind(|| commands("bad.yml", &scripts, &vars));
    assert!(caught.is_err(), "a misspelt flag must fail the test");
}

#[test]
fn command_lines_are_cut_at_shell_operators_and_split_like_the_shell() {
    let script = "set +e\nkustoplan plan \"$STACK\" --out p.plan \\\n  --detailed-exitcode > plan.md || code=$?\necho kustoplan\n";
    let lines = kustoplan_lines(script);
    assert_eq!(
        lines,
        ["kustoplan plan \"$STACK\" --out p.plan    --detailed-exitcode > plan.md"]
    );
    let vars = BTreeMap::from([("STACK", "/tmp/a b".to_string())]);
    assert_eq!(
        words(&lines[0], &vars),
        [
            "kustoplan",
            "plan",
            "/tmp/a b",
            "--out",
            "p.plan",
            "--detailed-exitcode"
        ]
    );
}
