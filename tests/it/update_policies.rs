//! Update policies through the CLI against the built-in sandbox: a table fed from the gameplay
//! example's `GamePlay` by a stored function. The plan shows the policy and the route it
//! extends, apply creates the function before the policy that calls it, a re-plan is empty,
//! and a query whose columns differ from its table, or a cycle of policies, refuse the plan.

use crate::common;

use std::path::Path;

use common::cli::{edit, kustoplan, kustoplan_at, write_stack};
use common::sandbox::{KustoServer, SCALE_STACK};

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
    let dir = common::cli::gameplay_copy();
    std::fs::write(dir.path().join("wins.yaml"), WINS).expect("write");
    dir
}

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
    let at = |what: &str| apply.stdout_position(what);
    assert!(
        at("ok kusto.gamedb.function.WinsOf") < at("ok kusto.gamedb.table.Wins.policy.update"),
        "the function is created before the policy that calls it:\n{}",
        apply.stdout
    );
    let again = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    again.assert_no_changes();

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
    change.assert_stdout_contains("  ~ kusto.gamedb.table.Wins.policy.update [data-loss]\n");
    let allowed = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(allowed.code, 0, "{}", allowed.all());
    kustoplan(s, &["plan", dir, "--detailed-exitcode"]).assert_no_changes();

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

/// `tables` tables in `scaledb`, every odd one fed from the one before by an update policy
/// (`transactional` as given).
fn chained_stack(dir: &Path, tables: usize, transactional: bool) {
    let mut docs = vec![
        SCALE_STACK.to_string(),
        "kind: Database\nname: scaledb\n".to_string(),
    ];
    for i in 0..tables {
        let policy = if i % 2 == 1 {
            format!(
                "update_policies:\n  - {{source: T{}, query: T{}, transactional: {transactional}}}\n",
                i - 1,
                i - 1
            )
        } else {
            String::new()
        };
        docs.push(format!(
            "kind: Table\nname: T{i}\ndatabase: scaledb\ncolumns:\n  - {{name: A, type: int}}\n{policy}"
        ));
    }
    write_stack(dir, &docs);
}

/// Update policies cost observe no request of their own: they come with the schema script.
/// The `getschema` probes go out only for the entries a plan sets whose source is live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_stays_at_four_reads_and_probes_only_what_the_plan_sets() {
    let mut costs = Vec::new();
    for tables in [4usize, 40] {
        let server = KustoServer::start(&["scaledb"]).await;
        let url = server.url();
        let local = tempfile::tempdir().expect("tempdir");
        let stack = tempfile::tempdir().expect("tempdir");
        chained_stack(stack.path(), tables, false);
        let path = stack.path().to_str().expect("utf-8 path");
        let mut measure = async |what: &'static str, args: &[&str], code: i32| {
            let before = server.stats();
            let run = kustoplan_at(&url, local.path(), args).await;
            assert_eq!(run.code, code, "{what}: {}", run.all());
            let after = server.stats();
            costs.push((
                tables,
                what,
                after.mgmt - before.mgmt,
                after.query - before.query,
            ));
        };
        measure("plan from empty", &["plan", path, "--detailed-exitcode"], 2).await;
        let apply = kustoplan_at(&url, local.path(), &["apply", path, "--auto-approve"]).await;
        assert_eq!(apply.code, 0, "{}", apply.all());
        measure(
            "plan after apply",
            &["plan", path, "--detailed-exitcode"],
            0,
        )
        .await;
        // Every policy changes (now transactional): one probe per entry the plan sets.
        chained_stack(stack.path(), tables, true);
        measure(
            "plan of changed policies",
            &["plan", path, "--detailed-exitcode"],
            2,
        )
        .await;
        server.shutdown().await;
    }
    assert_eq!(
        costs,
        vec![
            (4, "plan from empty", 4, 0),
            (4, "plan after apply", 4, 0),
            (4, "plan of changed policies", 4, 2),
            (40, "plan from empty", 4, 0),
            (40, "plan after apply", 4, 0),
            (40, "plan of changed policies", 4, 20),
        ]
    );
}

/// A plan whose update policy query the cluster cannot type (here, outside what the sandbox
/// types) says so in the change, and its saved plan applies: the probe's error answer, which
/// over HTTP names its request id, is neither part of the fingerprint nor, with its request
/// id, of the change (a saved plan applies only if re-planning gives the same changes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchecked_policy_is_said_and_its_saved_plan_is_not_stale() {
    let server = KustoServer::start(&["scaledb"]).await;
    let url = server.url();
    let local = tempfile::tempdir().expect("tempdir");
    let stack = tempfile::tempdir().expect("tempdir");
    chained_stack(stack.path(), 2, false);
    let path = stack.path().to_str().expect("utf-8 path");
    let apply = kustoplan_at(&url, local.path(), &["apply", path, "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}", apply.all());
    edit(
        stack.path(),
        "stack.yaml",
        "{source: T0, query: T0, transactional: false}",
        "{source: T0, query: \"T0 | summarize A = max(A)\", transactional: false}",
    );
    // A plan file applies with the variables it was made with: the cluster goes in the stack.
    edit(
        stack.path(),
        "stack.yaml",
        "kusto_cluster: sandbox",
        &format!("kusto_cluster: {url}"),
    );
    let saved = stack.path().join("change.plan");
    let saved = saved.to_str().expect("utf-8 path").to_string();
    let cli = |args: Vec<String>| {
        let local = local.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            kustoplan(&local, &args.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let plan = cli(vec![
        "plan".into(),
        path.into(),
        "--out".into(),
        saved.clone(),
    ])
    .await
    .expect("join");
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.all().contains(
            "output schema of the query from T0 not checked: the cluster could not type it ("
        ) && !plan.all().contains("request id"),
        "{}",
        plan.all()
    );
    let apply = cli(vec![
        "apply".into(),
        saved,
        "--auto-approve".into(),
        "--allow".into(),
        "data-loss".into(),
    ])
    .await
    .expect("join");
    assert_eq!(apply.code, 0, "{}", apply.all());
    server.shutdown().await;
}
