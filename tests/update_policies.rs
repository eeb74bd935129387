//! Update policies through the CLI against the built-in sandbox: a table fed from the gameplay
//! example's `GamePlay` by a stored function. The plan shows the policy and the route it
//! extends, apply creates the function before the policy that calls it, a re-plan is empty,
//! and a query whose columns differ from its table, or a cycle of policies, refuse the plan.

use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn kustoplan(sandbox: &Path, args: &[&str]) -> Run {
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

const WINS: &str = "kind: Table
name: Wins
database: gamedb
columns:
  - {name: PlayerID, type: int}
  - {name: Score, type: int}
  - {name: EventTime, type: datetime}
update_policies:
  - source: GamePlay
    query: WinsOf()
    transactional: true
---
kind: Function
name: WinsOf
database: gamedb
body: |
  GamePlay
  | where Win == 1
  | project PlayerID, Score, EventTime
";

/// The gameplay example plus `wins.yaml`, in a directory a test may edit.
fn stack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
        std::fs::copy(Path::new("examples/gameplay").join(f), dir.path().join(f)).expect("copy");
    }
    std::fs::write(dir.path().join("wins.yaml"), WINS).expect("write");
    dir
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

const NO_CHANGES: &str = "No changes. The live systems match the manifests.\n";

#[test]
fn plan_apply_replan_then_a_mismatch_and_a_cycle_are_refused() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));

    let plan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    for expected in [
        "  + kusto.gamedb.table.Wins.policy.update\n      set update policy: rows ingested into GamePlay also land in Wins (1 entry); output schema of the query from GamePlay not checked: the source table does not exist yet",
        r#"      .alter table Wins policy update "[{\"IsEnabled\":true,\"Source\":\"GamePlay\",\"Query\":\"WinsOf()\",\"IsTransactional\":true,"#,
        "route gameplay -> gamedb.GamePlay also feeds Wins through update policies",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected}\n{}",
            plan.stdout
        );
    }

    let apply = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let at = |what: &str| {
        apply
            .stdout
            .find(what)
            .unwrap_or_else(|| panic!("{what} not in {}", apply.stdout))
    };
    assert!(
        at("ok kusto.gamedb.function.WinsOf") < at("ok kusto.gamedb.table.Wins.policy.update"),
        "the function is created before the policy that calls it:\n{}",
        apply.stdout
    );
    let again = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, NO_CHANGES),
        "{}",
        again.stderr
    );

    // The function now returns Score as long: the cluster types the declared body (the
    // function changes in the same plan) and the plan is refused before anything runs.
    edit(
        stack.path(),
        "wins.yaml",
        "  | project PlayerID, Score, EventTime",
        "  | project PlayerID, Score = tolong(Score), EventTime",
    );
    edit(
        stack.path(),
        "wins.yaml",
        "transactional: true",
        "transactional: false",
    );
    let mismatch = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(mismatch.code, 1, "{}", mismatch.all());
    assert!(
        mismatch.all().contains(
            "kusto.gamedb.table.Wins.policy.update: the query `WinsOf()` returns (PlayerID:int, Score:long, EventTime:datetime) but table `Wins` has (PlayerID:int, Score:int, EventTime:datetime)"
        ),
        "{}",
        mismatch.all()
    );
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    edit(stack.path(), "wins.yaml", "Score = tolong(Score)", "Score");

    // A policy change is data-loss: rows land differently from then on.
    let change = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(change.code, 1, "{}", change.all());
    assert!(
        change
            .stdout
            .contains("  ~ kusto.gamedb.table.Wins.policy.update [data-loss]\n"),
        "{}",
        change.stdout
    );
    let allowed = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(allowed.code, 0, "{}", allowed.all());
    assert_eq!(
        kustoplan(s, &["plan", dir, "--detailed-exitcode"]).stdout,
        NO_CHANGES
    );

    // GamePlay fed back from Wins closes a cycle.
    edit(
        stack.path(),
        "kusto.yaml",
        "ingestion_batching:\n",
        "update_policies:\n  - {source: Wins, query: \"Wins | project PlayerID, GameID = PlayerID, Win = tolong(1), Score, EventTime\"}\ningestion_batching:\n",
    );
    let cycle = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(cycle.code, 1, "{}", cycle.all());
    assert!(
        cycle.all().contains(
            "kusto.gamedb.table.GamePlay.policy.update: update policies form a cycle: GamePlay -> Wins -> GamePlay"
        ),
        "{}",
        cycle.all()
    );
}

#[test]
fn validate_points_at_bad_entries() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = stack();
    edit(
        stack.path(),
        "wins.yaml",
        "  - source: GamePlay\n    query: WinsOf()\n",
        "  - source: Wins\n    query: \" \"\n    managed_identity: me\n",
    );
    let dir = stack.path().to_str().expect("utf-8 path");
    let run = kustoplan(sandbox.path(), &["validate", dir]);
    assert_eq!(run.code, 1, "{}", run.all());
    let file = stack.path().join("wins.yaml");
    let file = file.display();
    for (message, at) in [
        (
            "error: the update policy of `Wins` has the table itself as its source\n",
            "9:13",
        ),
        ("error: the update policy's `query` is empty\n", "10:12"),
        (
            "error: `managed_identity` `me` is neither `system` nor an object id\n",
            "11:23",
        ),
    ] {
        let all = run.all();
        let after = all
            .split(message)
            .nth(1)
            .unwrap_or_else(|| panic!("{message} not in {all}"));
        let location = format!("--> {file}:{at}\n");
        assert!(
            after
                .lines()
                .next()
                .is_some_and(|l| l.trim_start().starts_with(location.trim_end())),
            "{message} is not located at {at}: {all}"
        );
    }
}
