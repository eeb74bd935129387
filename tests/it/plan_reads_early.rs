//! The reads a plan sends while its manifests are still being checked: the list of each live
//! Connect cluster goes out as soon as the documents are read, the plan uses that answer (the
//! cluster is not listed twice), a stack refused by validation afterwards reports only its
//! problem, and the commands that do not plan (`status`) send no such early read.

use crate::common;

use common::cli::{arg, gameplay_copy, kustoplan_at, kustoplan_beside, write_stack};
use common::sandbox::{KustoServer, SCALE_STACK};

/// The Connect request that lists every connector with its config and status.
const LIST: &str = "GET /connectors";

/// `count` Table documents `T0`, `T1`, ... of one int column in `database`: a stack large
/// enough that checking it takes far longer than sending a read (a refused plan does not wait
/// for its early reads; with a few tables it could end before a read was sent).
fn many_tables(database: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| table(database, &format!("T{i}")))
        .collect()
}

fn table(database: &str, name: &str) -> String {
    format!(
        "kind: Table\nname: {name}\ndatabase: {database}\ncolumns:\n  - {{name: A, type: int}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_lists_a_live_connect_cluster_once_and_before_validation_ends() {
    let connect = common::sandbox::connect_server().await;
    let var = format!("connect_url={}", connect.url());
    let sandbox = tempfile::tempdir().expect("tempdir");
    let stack = gameplay_copy();

    let plan = kustoplan_beside(sandbox.path(), &["plan", arg(stack.path()), "--var", &var]).await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.stdout.contains("gameplay-kusto-sink"),
        "the connector is planned: {}",
        plan.stdout
    );
    assert_eq!(
        connect.stats().route(LIST),
        1,
        "the early list is the plan's: {}",
        plan.all()
    );

    // A table declared twice is refused by validation, after the documents were read: the
    // list went out already, and only the problem is reported.
    let mut docs = many_tables("gamedb", 2000);
    docs.extend([table("gamedb", "Extra"), table("gamedb", "Extra")]);
    std::fs::write(stack.path().join("again.yaml"), docs.join("---\n")).expect("write");
    let refused =
        kustoplan_beside(sandbox.path(), &["plan", arg(stack.path()), "--var", &var]).await;
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .starts_with("error: duplicate table `gamedb.Extra`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .ends_with("\n\nerror: 1 problem found; nothing was changed in any system\n"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        connect.stats().route(LIST),
        2,
        "the refused plan had sent its list: {}",
        refused.all()
    );
    assert!(connect.sandbox().state().connectors.is_empty());
}

/// `status` reads routes' health, not a plan's state: on a live Kusto target it sends none of
/// the plan's bulk reads (it did, and dropped their answers, schema and all), and it lists a
/// Connect cluster once, itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_sends_only_its_own_reads() {
    let kusto = KustoServer::start(&["scaledb"]).await;
    let local = tempfile::tempdir().expect("tempdir");
    let stack = tempfile::tempdir().expect("tempdir");
    // An early read would certainly have gone out before status ends.
    let mut docs = vec![
        SCALE_STACK.to_string(),
        "kind: Database\nname: scaledb\n".to_string(),
    ];
    docs.extend(many_tables("scaledb", 2000));
    write_stack(stack.path(), &docs);
    let status = kustoplan_at(&kusto.url(), local.path(), &["status", arg(stack.path())]).await;
    assert_eq!(status.code, 0, "{}", status.all());
    assert_eq!(
        kusto.stats().mgmt,
        0,
        "no Kusto read for a stack without routes: {}",
        status.all()
    );

    let connect = common::sandbox::connect_server().await;
    let var = format!("connect_url={}", connect.url());
    let sandbox = tempfile::tempdir().expect("tempdir");
    let gameplay = gameplay_copy();
    let status = kustoplan_beside(
        sandbox.path(),
        &["status", arg(gameplay.path()), "--var", &var],
    )
    .await;
    assert!(
        status.stdout.contains("gameplay-kusto-sink"),
        "{}",
        status.all()
    );
    assert_eq!(connect.stats().route(LIST), 1, "{}", status.all());
}

/// A plan sends its Kusto reads as soon as the documents naming the target and the databases
/// are read, before the tables are: a stack refused for a table's shape (found while the
/// tables are typed) has sent them, and reports only that problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_reads_kusto_before_its_tables_are_typed() {
    let kusto = KustoServer::start(&["scaledb"]).await;
    let local = tempfile::tempdir().expect("tempdir");
    let stack = tempfile::tempdir().expect("tempdir");
    let mut docs = vec![
        SCALE_STACK.to_string(),
        "kind: Database\nname: scaledb\n".to_string(),
        "kind: Table\nname: Broken\ndatabase: scaledb\ncolumns: 3\n".to_string(),
    ];
    docs.extend(many_tables("scaledb", 2000));
    write_stack(stack.path(), &docs);
    let refused = kustoplan_at(&kusto.url(), local.path(), &["plan", arg(stack.path())]).await;
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert!(refused.stderr.contains("`columns`"), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .ends_with("\n\nerror: 1 problem found; nothing was changed in any system\n"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        kusto.stats().mgmt,
        4,
        "the four bulk reads of the database went out: {}",
        refused.all()
    );
}
