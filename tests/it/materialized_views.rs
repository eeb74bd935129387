//! Materialized views through the CLI against the built-in sandbox: a view of the latest play
//! of each player over the gameplay example's `GamePlay`. The plan shows the view and its
//! async backfill command, apply creates it, a re-plan is empty, a query change that keeps
//! the group-by keys is altered in place, one that changes them is a data-loss re-creation
//! refused until allowed, a missing source refuses the plan, and import writes the view back.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::cli::{edit, kustoplan, kustoplan_at, write_stack};
use common::sandbox::{KustoServer, SCALE_STACK};

const VIEW: &str = "kind: MaterializedView
name: LatestPlay
database: gamedb
source: GamePlay
backfill: true
lookback: 6h
folder: Views
docstring: The latest game of each player.
query: |
  GamePlay
  | summarize arg_max(EventTime, *) by PlayerID
";

/// The gameplay example plus `views.yaml`, in a directory a test may edit.
fn stack() -> tempfile::TempDir {
    let dir = common::cli::gameplay_copy();
    std::fs::write(dir.path().join("views.yaml"), VIEW).expect("write");
    dir
}

fn assert_contains(out: &str, expected: &[&str]) {
    for e in expected {
        assert!(out.contains(e), "{e}\n---\n{out}");
    }
}

#[test]
fn create_with_backfill_alter_in_place_recreate_only_when_allowed() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = stack();
    let (s, dir) = (sandbox.path(), stack.path().to_str().expect("utf-8 path"));

    let plan = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert_contains(
        &plan.stdout,
        &[
            "  + kusto.gamedb.materialized_view.LatestPlay\n      create materialized view LatestPlay over GamePlay, backfilled from its existing records (async: the backfill runs in the background)",
            ".create async ifnotexists materialized-view with (backfill=true, lookback=6h, folder=\"Views\", docString=\"The latest game of each player. [kustoplan:gameplay]\")",
        ],
    );

    let apply = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let at = |what: &str| apply.stdout_position(what);
    assert!(
        at("ok kusto.gamedb.table.GamePlay") < at("ok kusto.gamedb.materialized_view.LatestPlay"),
        "the source table is created before the view:\n{}",
        apply.stdout
    );
    let again = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    again.assert_no_changes();

    // Whitespace and line endings are not drift.
    edit(
        stack.path(),
        "views.yaml",
        "  GamePlay\n  | summarize",
        "  GamePlay\r\n  |   summarize",
    );
    let same = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    same.assert_no_changes();

    // A filter keeps the source and the group-by keys: altered in place.
    edit(
        stack.path(),
        "views.yaml",
        "  GamePlay\r\n  |   summarize",
        "  GamePlay\n  | where Score >= 0\n  | summarize",
    );
    let filtered = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(filtered.code, 2, "{}", filtered.all());
    assert_contains(
        &filtered.stdout,
        &[
            "  ~ kusto.gamedb.materialized_view.LatestPlay [restart]\n      alter materialized view LatestPlay in place (query): records already materialized keep their old aggregation",
            ".alter materialized-view with (lookback=6h) LatestPlay on table GamePlay",
        ],
    );
    let apply = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "restart"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let again = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    again.assert_no_changes();

    // Other group-by keys cannot be altered: drop and create, data-loss, refused until allowed.
    edit(
        stack.path(),
        "views.yaml",
        "by PlayerID",
        "by PlayerID, GameID",
    );
    let keys = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(keys.code, 2, "{}", keys.all());
    assert_contains(
        &keys.stdout,
        &[
            "-/+ kusto.gamedb.materialized_view.LatestPlay",
            "re-create materialized view LatestPlay: its group-by keys change",
            "dropping it loses every materialized record",
            "data-loss",
            ".drop materialized-view LatestPlay\n",
        ],
    );
    let refused = kustoplan(s, &["apply", dir, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.all().contains("data-loss"), "{}", refused.all());
    let still = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(still.code, 2, "nothing ran: {}", still.all());
    let allowed = kustoplan(s, &["apply", dir, "--auto-approve", "--allow", "data-loss"]);
    assert_eq!(allowed.code, 0, "{}", allowed.all());
    let again = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    again.assert_no_changes();

    // Import writes the view back: planning the stack with the imported files is clean.
    let stack_only = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        stack.path().join("stack.yaml"),
        stack_only.path().join("stack.yaml"),
    )
    .expect("copy stack");
    let out = tempfile::tempdir().expect("tempdir");
    let (only, out_dir) = (
        stack_only.path().to_str().expect("utf-8 path"),
        out.path().to_str().expect("utf-8 path"),
    );
    let import = kustoplan(s, &["import", only, "--out", out_dir]);
    assert_eq!(import.code, 0, "{}", import.all());
    import.assert_stdout_contains("1 materialized view, ");
    let written = std::fs::read_to_string(out.path().join("kusto/gamedb/materialized-views.yaml"))
        .expect("the view's file");
    assert_contains(
        &written,
        &[
            "kind: MaterializedView\nname: LatestPlay\ndatabase: gamedb\nsource: GamePlay\nfolder: Views\ndocstring: The latest game of each player.\nlookback: 6h\nquery: |-\n  GamePlay\n  | where Score >= 0\n  | summarize arg_max(EventTime, *) by PlayerID, GameID\n",
        ],
    );
    let plan = kustoplan(s, &["plan", only, out_dir, "--detailed-exitcode"]);
    plan.assert_no_changes();

    // A source that is neither a table nor a view refuses the plan, naming the view.
    edit(
        stack.path(),
        "views.yaml",
        "source: GamePlay",
        "source: Nope",
    );
    edit(stack.path(), "views.yaml", "  GamePlay\n", "  Nope\n");
    let missing = kustoplan(s, &["plan", dir, "--detailed-exitcode"]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    assert!(
        missing.all().contains(
            "kusto.gamedb.materialized_view.LatestPlay: materialized view `LatestPlay` reads from `Nope`, which is neither a table nor a materialized view"
        ),
        "{}",
        missing.all()
    );
}

#[test]
fn validate_reports_bad_views_with_their_location() {
    let stack = stack();
    std::fs::write(
        stack.path().join("views.yaml"),
        "kind: MaterializedView
name: GamePlay
database: gamedb
source: GamePlay
lookback: soon
query: ''
",
    )
    .expect("write");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let run = kustoplan(
        sandbox.path(),
        &["validate", stack.path().to_str().expect("utf-8 path")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let mut found = BTreeMap::new();
    for (message, at) in [
        (
            "error: materialized view `GamePlay` has the name of a table",
            "views.yaml:2:7",
        ),
        (
            "error: materialized view `GamePlay` reads from itself",
            "views.yaml:4:9",
        ),
        (
            "error: invalid lookback `soon` of materialized view `GamePlay`",
            "views.yaml:5:11",
        ),
        (
            "error: invalid query of materialized view `GamePlay`: the body is empty",
            "views.yaml:6:8",
        ),
    ] {
        let all = run.all();
        let located = all
            .find(message)
            .is_some_and(|i| all[i..].lines().nth(1).is_some_and(|l| l.ends_with(at)));
        found.insert(message, located);
    }
    assert!(found.values().all(|f| *f), "{found:?}\n{}", run.all());
}

/// `views` tables in `scaledb`, each with a materialized view over it.
fn viewed_stack(dir: &Path, views: usize) {
    let mut docs = vec![
        SCALE_STACK.to_string(),
        "kind: Database\nname: scaledb\n".to_string(),
    ];
    for i in 0..views {
        docs.push(format!(
            "kind: Table\nname: T{i}\ndatabase: scaledb\ncolumns:\n  - {{name: Id, type: string}}\n  - {{name: Ts, type: datetime}}\n"
        ));
        docs.push(format!(
            "kind: MaterializedView\nname: V{i}\ndatabase: scaledb\nsource: T{i}\nbackfill: {}\nquery: T{i} | summarize arg_max(Ts, *) by Id\n",
            i % 2 == 0
        ));
    }
    write_stack(dir, &docs);
}

/// Views cost observe no request of their own: they come with the schema JSON, so a plan
/// reads four times per database whether it declares 2 views or 20, and after apply too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_stays_at_four_reads_whatever_the_number_of_views() {
    let mut costs = Vec::new();
    for views in [2usize, 20] {
        let server = KustoServer::start(&["scaledb"]).await;
        let url = server.url();
        let local = tempfile::tempdir().expect("tempdir");
        let stack = tempfile::tempdir().expect("tempdir");
        viewed_stack(stack.path(), views);
        let path = stack.path().to_str().expect("utf-8 path");
        let before = server.stats().mgmt;
        let plan = kustoplan_at(&url, local.path(), &["plan", path, "--detailed-exitcode"]).await;
        assert_eq!(plan.code, 2, "{}", plan.all());
        costs.push((views, "plan from empty", server.stats().mgmt - before));
        let apply = kustoplan_at(&url, local.path(), &["apply", path, "--auto-approve"]).await;
        assert_eq!(apply.code, 0, "{}", apply.all());
        let before = server.stats().mgmt;
        let again = kustoplan_at(&url, local.path(), &["plan", path, "--detailed-exitcode"]).await;
        again.assert_no_changes();
        costs.push((views, "plan after apply", server.stats().mgmt - before));
        server.shutdown().await;
    }
    assert_eq!(
        costs,
        vec![
            (2, "plan from empty", 4),
            (2, "plan after apply", 4),
            (20, "plan from empty", 4),
            (20, "plan after apply", 4),
        ]
    );
}
