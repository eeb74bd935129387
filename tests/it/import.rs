//! `kustoplan import` as a user runs it: read what runs, write manifests, and a plan of the Stack
//! plus the imported files right after reports no changes. On the built-in sandbox, and on the
//! real Kafka broker and Kafka Connect worker of `scripts/test-env` (Kusto on the sandbox server
//! over HTTP).

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::cli::Run;
use common::real_env::{gameplay_copy_unique, real_env};
use common::sandbox::KustoServer;
use kustoplan::providers::connect::ConnectClient;
use kustoplan::sandbox::connect::ConnectSandbox;
use kustoplan::sandbox::kusto::{Caller, Faults, KustoSandbox};

/// A literal key written into live connector configs; it must never leave the live system.
const LITERAL_KEY: &str = "Lit3ral-Kusto-App-Key-0042";
/// The variable import names for the gameplay sink's `aad.auth.appkey`.
const APPKEY_VAR: &str = "GAMEPLAY_KUSTO_SINK_AAD_AUTH_APPKEY";

fn kustoplan(sandbox: Option<&Path>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = common::cli::command();
    cmd.args(args)
        .env_remove("KUSTOPLAN_ENV")
        .env_remove("KUSTOPLAN_SANDBOX_DIR")
        .env_remove(APPKEY_VAR)
        .env("NO_COLOR", "1");
    if let Some(dir) = sandbox {
        cmd.env("KUSTOPLAN_SANDBOX_DIR", dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kustoplan");
    Run::from(out)
}

fn text(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A directory with only the Stack document of an example.
fn stack_only(example: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        Path::new("examples").join(example).join("stack.yaml"),
        dir.path().join("stack.yaml"),
    )
    .expect("copy stack");
    dir
}

/// Every file under `dir` with its contents.
fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let body = std::fs::read_to_string(&path).expect("read file");
                out.insert(path.strip_prefix(dir).expect("prefix").to_path_buf(), body);
            }
        }
    }
    out
}

#[test]
fn telemetry_round_trip_on_the_sandbox() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let sb = Some(sandbox.path());
    let apply = kustoplan(sb, &[], &["apply", "examples/telemetry", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let stack = stack_only("telemetry");
    let out = tempfile::tempdir().expect("tempdir");
    let (stack_dir, out_dir) = (text(stack.path()), text(out.path()));

    let import = kustoplan(sb, &[], &["import", stack_dir, "--out", out_dir]);
    assert_eq!(import.code, 0, "{}", import.all());
    assert!(
        import
            .stdout
            .starts_with("Imported 1 database, 6 tables, 3 functions, 1 materialized view, 6 topics and 2 sinks into"),
        "{}",
        import.stdout
    );
    let written = files(out.path());
    let names: Vec<String> = written.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "connect/bulk/telemetry-bulk.yaml",
            "connect/ingest/telemetry-live.yaml",
            "kafka/topics.yaml",
            "kusto/telemetry/database.yaml",
            "kusto/telemetry/functions/Telemetry.yaml",
            "kusto/telemetry/materialized-views.yaml",
            "kusto/telemetry/tables/Reference.yaml",
            "kusto/telemetry/tables/Telemetry.yaml",
            "kusto/telemetry/tables/_no_folder.yaml",
            "kustoplan.schema.json",
        ]
    );
    let readings = &written[Path::new("kusto/telemetry/tables/Telemetry.yaml")];
    assert!(
        readings.starts_with("# yaml-language-server: $schema=../../../kustoplan.schema.json\nkind: Table\nname: DeviceAlerts\n"),
        "{readings}"
    );
    assert!(
        readings.contains(
            "      - {column: ReadingTime, path: $.ts, transform: DateTimeFromUnixMilliseconds}\n"
        ),
        "{readings}"
    );
    assert!(
        readings.contains(
            "update_policies:\n  - source: DeviceEventsRaw\n    query: ParseDeviceEvents()\n    transactional: true\n"
        ),
        "{readings}"
    );
    assert!(
        written[Path::new("connect/bulk/telemetry-bulk.yaml")]
            .contains("  app_key: ${file:/opt/kafka/secrets/kusto.properties:appkey}\n"),
        "placeholders are kept as they are"
    );
    let functions = &written[Path::new("kusto/telemetry/functions/Telemetry.yaml")];
    assert!(
        functions.starts_with(
            "# yaml-language-server: $schema=../../../kustoplan.schema.json\nkind: Function\nname: LatestReadings\ndatabase: telemetry\nfolder: Telemetry\ndocstring: The latest value of each sensor of each device since a point in time.\nparameters:\n  - {name: since, type: timespan}\nbody: |-\n  DeviceReadings\n  | where ReadingTime > ago(since)\n  | summarize arg_max(ReadingTime, Value) by DeviceId, Sensor\n---\n"
        ),
        "{functions}"
    );
    assert!(
        functions.contains(
            "body: |-\n  // Acknowledged alerts are handled; only open ones matter here.\n  DeviceAlerts\n"
        ),
        "{functions}"
    );

    let views = &written[Path::new("kusto/telemetry/materialized-views.yaml")];
    assert_eq!(
        views,
        "# yaml-language-server: $schema=../../kustoplan.schema.json\nkind: MaterializedView\nname: LatestReadingPerDevice\ndatabase: telemetry\nsource: DeviceReadings\nfolder: Telemetry\ndocstring: The latest reading of each sensor of each device.\nlookback: 6h\nquery: |-\n  DeviceReadings\n  | summarize arg_max(ReadingTime, *) by DeviceId, Sensor\n",
        "the view as declared, without `backfill` (a creation option the service does not keep)"
    );

    let validate = kustoplan(sb, &[], &["validate", stack_dir, out_dir]);
    assert_eq!(validate.code, 0, "{}", validate.all());
    let plan = kustoplan(
        sb,
        &[],
        &["plan", stack_dir, out_dir, "--detailed-exitcode"],
    );
    plan.assert_no_changes();

    let again = kustoplan(sb, &[], &["import", stack_dir, "--out", out_dir]);
    assert_eq!(again.code, 1, "{}", again.all());
    assert!(
        again.stderr.contains(
            "10 files would be overwritten; nothing was written (use --force to overwrite)"
        ),
        "{}",
        again.stderr
    );
    assert_eq!(files(out.path()), written, "nothing was touched");
    let forced = kustoplan(sb, &[], &["import", stack_dir, "--out", out_dir, "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(
        files(out.path()),
        written,
        "the same live state imports the same files"
    );
}

/// Turns the applied gameplay stack into a brownfield one: a table created by hand (no marker),
/// and the connector rewritten by hand with a literal key and without the ownership key.
async fn make_brownfield(sandbox: &Path) {
    let kusto = KustoSandbox::open(sandbox, &["gamedb".to_string()]).expect("kusto sandbox");
    kusto
        .execute(
            "gamedb",
            ".create table Legacy (Id:long, Payload:dynamic)",
            &Caller::cluster_admin("aaduser=ops@example.com"),
        )
        .expect("create Legacy");
    kusto
        .execute(
            "gamedb",
            ".create-or-alter function with (docstring = 'Written by hand') PlaysOf(player:int, since:timespan) {\r\n    GamePlay\r\n    | where PlayerID == player and EventTime > ago(since)\r\n}",
            &Caller::cluster_admin("aaduser=ops@example.com"),
        )
        .expect("create PlaysOf");
    drop(kusto);
    let connect = ConnectSandbox::open(&sandbox.join("connect").join("main")).expect("connect");
    let client = ConnectClient::local(Arc::new(connect)).expect("client");
    let live = client.list_expanded().await.expect("list");
    let mut config = live["gameplay-kusto-sink"].info.config.expose().clone();
    config.insert("aad.auth.appkey".into(), LITERAL_KEY.into());
    config.remove("kustoplan.stack");
    client
        .put_config("gameplay-kusto-sink", &config)
        .await
        .expect("put config");
}

#[tokio::test]
async fn brownfield_gameplay_with_a_literal_secret_on_the_sandbox() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let sb = Some(sandbox.path());
    let apply = kustoplan(sb, &[], &["apply", "examples/gameplay", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    make_brownfield(sandbox.path()).await;
    let stack = stack_only("gameplay");
    let out = tempfile::tempdir().expect("tempdir");
    let (stack_dir, out_dir) = (text(stack.path()), text(out.path()));

    let import = kustoplan(sb, &[], &["import", stack_dir, "--out", out_dir]);
    assert_eq!(import.code, 0, "{}", import.all());
    assert!(
        import.stderr.contains(&format!(
            "secret: connect.main.connector.gameplay-kusto-sink `aad.auth.appkey` held a literal secret; the manifest references the environment variable {APPKEY_VAR} instead"
        )),
        "{}",
        import.stderr
    );
    let written = files(out.path());
    let sink = &written[Path::new("connect/main/gameplay-kusto-sink.yaml")];
    assert!(
        sink.contains(&format!("  app_key: {{env: {APPKEY_VAR}}}\n")),
        "{sink}"
    );
    let tables = &written[Path::new("kusto/gamedb/tables/_no_folder.yaml")];
    assert!(
        tables.contains("name: Legacy\n") && tables.contains("name: GamePlay\n"),
        "{tables}"
    );
    assert_eq!(
        written[Path::new("kusto/gamedb/functions/_no_folder.yaml")],
        "# yaml-language-server: $schema=../../../kustoplan.schema.json\nkind: Function\nname: PlaysOf\ndatabase: gamedb\ndocstring: Written by hand\nparameters:\n  - {name: player, type: int}\n  - {name: since, type: timespan}\nbody: |-\n  GamePlay\n  | where PlayerID == player and EventTime > ago(since)\n",
        "a function made by hand imports as a Function document, its body dedented"
    );
    for (path, body) in &written {
        assert!(
            !body.contains(LITERAL_KEY),
            "the secret is in {}",
            path.display()
        );
    }
    assert!(!import.all().contains(LITERAL_KEY), "the secret is printed");

    let validate = kustoplan(sb, &[], &["validate", stack_dir, out_dir]);
    assert_eq!(validate.code, 0, "{}", validate.all());

    let unset = kustoplan(
        sb,
        &[],
        &["plan", stack_dir, out_dir, "--detailed-exitcode"],
    );
    assert_eq!(unset.code, 2, "{}", unset.all());
    assert!(
        unset
            .stdout
            .contains("~ connect.main.connector.gameplay-kusto-sink")
            && unset
                .stdout
                .contains("update aad.auth.appkey (gameplay-kusto-sink)"),
        "without the variable the plan shows the switch to the reference: {}",
        unset.stdout
    );
    assert!(unset.stdout.contains("****"), "{}", unset.stdout);
    assert!(!unset.all().contains(LITERAL_KEY), "the secret is printed");

    let set = kustoplan(
        sb,
        &[(APPKEY_VAR, LITERAL_KEY)],
        &["plan", stack_dir, out_dir, "--detailed-exitcode"],
    );
    set.assert_no_changes();
    let wrong = kustoplan(
        sb,
        &[(APPKEY_VAR, "another-value")],
        &["plan", stack_dir, out_dir, "--detailed-exitcode"],
    );
    assert_eq!(
        wrong.code,
        2,
        "a different value is a change: {}",
        wrong.all()
    );
}

#[test]
fn objects_the_stack_already_declares_are_skipped() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let sb = Some(sandbox.path());
    let apply = kustoplan(sb, &[], &["apply", "examples/gameplay", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = text(out.path());
    let import = kustoplan(sb, &[], &["import", "examples/gameplay", "--out", out_dir]);
    assert_eq!(import.code, 0, "{}", import.all());
    assert!(
        import
            .stdout
            .starts_with("Imported 0 databases, 0 tables, 0 topics and 0 sinks"),
        "{}",
        import.stdout
    );
    for note in [
        "note: kusto.gamedb.table.GamePlay: already declared; skipped",
        "note: kafka.topic.gameplay: already declared; skipped",
        "note: connect.main.connector.gameplay-kusto-sink: already declared; skipped",
    ] {
        assert!(import.stderr.contains(note), "{note}: {}", import.stderr);
    }
    let plan = kustoplan(
        sb,
        &[],
        &["plan", "examples/gameplay", out_dir, "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 0, "{}", plan.all());
}

#[test]
fn bad_input_writes_nothing() {
    let sandbox = tempfile::tempdir().expect("tempdir");
    let sb = Some(sandbox.path());
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("imported");
    let stack = stack_only("gameplay");
    let bad = kustoplan(
        sb,
        &[],
        &[
            "import",
            text(stack.path()),
            "--out",
            text(&target),
            "--connect",
            "nope",
            "--topics",
            "(",
        ],
    );
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(
        bad.stderr
            .contains("`--topics` is not a valid regular expression"),
        "{}",
        bad.stderr
    );
    let unknown = kustoplan(
        sb,
        &[],
        &[
            "import",
            text(stack.path()),
            "--out",
            text(&target),
            "--connect",
            "nope",
        ],
    );
    assert_eq!(unknown.code, 1, "{}", unknown.all());
    assert!(
        unknown.stderr.contains(
            "`--connect nope`: the Stack declares no Connect cluster `nope` (declared: main)"
        ),
        "{}",
        unknown.stderr
    );
    let topic_only = out.path().join("topic.yaml");
    std::fs::write(&topic_only, "kind: Topic\nname: t\npartitions: 1\n").expect("write");
    let no_stack = kustoplan(
        sb,
        &[],
        &["import", text(&topic_only), "--out", text(&target)],
    );
    assert_eq!(no_stack.code, 1, "{}", no_stack.all());
    assert!(
        no_stack.stderr.contains("no Stack document"),
        "{}",
        no_stack.stderr
    );
    assert!(!target.exists(), "nothing was written");
}

/// Runs kustoplan off the test's runtime, which serves the sandboxes it talks to.
async fn kustoplan_off_runtime(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kustoplan(None, &[], &args)
    })
    .await
    .expect("kustoplan")
}

/// Without `--database`, the bulk reads of the databases the stack declares go out while
/// `.show databases` is answered: the listed one is read once, not again after the list, and
/// one the cluster does not list is not imported (its early reads are dropped). The files are
/// those of an import that names the listed database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_databases_are_read_while_the_databases_are_listed() {
    let server = KustoServer::start(&["listed"]).await;
    server
        .sandbox()
        .execute(
            "listed",
            ".create table Events (Id:long, Body:dynamic)",
            &Caller::cluster_admin("aaduser=ops@example.com"),
        )
        .expect("create table");
    let stack = tempfile::tempdir().expect("tempdir");
    let stack_file = stack.path().join("stack.yaml");
    std::fs::write(
        &stack_file,
        common::sandbox::stack_head("early", &server.url(), "{method: none}", "", "listed")
            + "---\nkind: Database\nname: unlisted\n",
    )
    .expect("write stack");
    let out = tempfile::tempdir().expect("tempdir");
    let (listing, naming) = (out.path().join("listing"), out.path().join("naming"));
    let import = |target: &Path, extra: &[&str]| {
        let mut args = vec!["import", text(&stack_file), "--out", text(target)];
        args.extend(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    server.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });

    let before = server.stats();
    let listed = kustoplan_off_runtime(import(&listing, &[])).await;
    let stats = server.stats();

    assert_eq!(listed.code, 0, "{}", listed.all());
    assert_eq!(
        stats.mgmt - before.mgmt,
        1 + 4 + 4,
        "`.show databases`, the four reads of each declared database, none sent twice: {stats:?}"
    );
    assert!(
        stats.max_in_flight > 4,
        "the reads went out while `.show databases` was answered: {stats:?}"
    );
    let named = kustoplan_off_runtime(import(&naming, &["--database", "listed"])).await;
    assert_eq!(named.code, 0, "{}", named.all());
    assert_eq!(files(&listing), files(&naming));
    assert!(
        files(&listing).contains_key(Path::new("kusto/listed/tables/_no_folder.yaml")),
        "{:?}",
        files(&listing).keys()
    );
    assert_eq!(listed.stderr, named.stderr);
}

/// Kusto is read while Connect is: a failure of either still fails the import, names its
/// system, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_of_either_system_writes_nothing() {
    let server = KustoServer::start(&["db"]).await;
    let connect = common::sandbox::connect_server().await;
    let stack = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("imported");
    let stack_to = |connect_url: &str| {
        let path = stack.path().join("stack.yaml");
        std::fs::write(
            &path,
            common::sandbox::stack_head(
                "both",
                &server.url(),
                "{method: none}",
                &format!("  connect:\n    main:\n      url: {connect_url}\n"),
                "db",
            ),
        )
        .expect("write stack");
        path
    };

    let stack_file = stack_to(&connect.url());
    let kusto_fails = kustoplan_off_runtime(
        [
            "import",
            text(&stack_file),
            "--out",
            text(&target),
            "--database",
            "missing",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(kusto_fails.code, 1, "{}", kusto_fails.all());
    assert!(
        kusto_fails
            .stderr
            .contains("cannot read database `missing`"),
        "{}",
        kusto_fails.stderr
    );
    assert!(!target.exists(), "nothing was written");

    // The Kusto sandbox serves no Connect REST API: listing the connectors fails.
    let stack_file = stack_to(&server.url());
    let connect_fails = kustoplan_off_runtime(
        ["import", text(&stack_file), "--out", text(&target)]
            .map(String::from)
            .to_vec(),
    )
    .await;
    assert_eq!(connect_fails.code, 1, "{}", connect_fails.all());
    assert!(
        connect_fails
            .stderr
            .contains("cannot read Connect cluster `main`"),
        "{}",
        connect_fails.stderr
    );
    assert!(!target.exists(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_on_real_kafka_and_connect() {
    let Some(env) = real_env("round_trip_on_real_kafka_and_connect") else {
        return;
    };
    let suffix = format!("imp{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique(stack.path(), &suffix, "not-a-real-key");
    let only = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        stack.path().join("stack.yaml"),
        only.path().join("stack.yaml"),
    )
    .expect("copy");
    let kusto = KustoServer::start(&["gamedb"]).await;
    let vars = [
        format!("kusto_cluster={}", kusto.url()),
        format!("kafka_bootstrap={}", env.bootstrap),
        format!("connect_url={}", env.connect_url),
    ];
    let sink = format!("gameplay-sink-{suffix}");
    let var = format!("GAMEPLAY_SINK_{}_AAD_AUTH_APPKEY", suffix.to_uppercase());
    let with_vars = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for v in &vars {
            all.extend(["--var".to_string(), v.clone()]);
        }
        all
    };
    let run = |args: Vec<String>, env: Vec<(String, String)>| async move {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            kustoplan(None, &env, &args)
        })
        .await
        .expect("join")
    };

    let apply = run(
        with_vars(&["apply", text(stack.path()), "--auto-approve"]),
        vec![],
    )
    .await;
    assert_eq!(apply.code, 0, "{}", apply.all());

    // The connector as someone changed it by hand: a literal key, no ownership key.
    let http = reqwest::Client::new();
    let live: BTreeMap<String, String> = http
        .get(format!("{}/connectors/{sink}/config", env.connect_url))
        .send()
        .await
        .expect("get config")
        .json()
        .await
        .expect("json");
    let mut config = live.clone();
    config.insert("aad.auth.appkey".into(), LITERAL_KEY.into());
    config.remove("kustoplan.stack");
    let put = http
        .put(format!("{}/connectors/{sink}/config", env.connect_url))
        .json(&config)
        .send()
        .await
        .expect("put config");
    assert!(put.status().is_success(), "{}", put.status());

    let out = tempfile::tempdir().expect("tempdir");
    let import = run(
        with_vars(&[
            "import",
            text(only.path()),
            "--out",
            text(out.path()),
            "--sinks",
            &format!("^{sink}$"),
        ]),
        vec![],
    )
    .await;
    assert_eq!(import.code, 0, "{}", import.all());
    assert!(
        import
            .stdout
            .starts_with("Imported 1 database, 1 table, 1 topic and 1 sink into"),
        "{}",
        import.stdout
    );
    assert!(import.stderr.contains(&var), "{}", import.stderr);
    assert!(!import.all().contains(LITERAL_KEY));
    for (path, body) in files(out.path()) {
        assert!(
            !body.contains(LITERAL_KEY),
            "the secret is in {}",
            path.display()
        );
    }

    let validate = run(
        with_vars(&["validate", text(only.path()), text(out.path())]),
        vec![],
    )
    .await;
    assert_eq!(validate.code, 0, "{}", validate.all());
    let plan_args = with_vars(&[
        "plan",
        text(only.path()),
        text(out.path()),
        "--detailed-exitcode",
    ]);
    let unset = run(plan_args.clone(), vec![]).await;
    assert_eq!(unset.code, 2, "{}", unset.all());
    assert!(unset.stdout.contains("aad.auth.appkey"), "{}", unset.stdout);
    assert!(!unset.all().contains(LITERAL_KEY));
    let set = run(plan_args, vec![(var.clone(), LITERAL_KEY.to_string())]).await;
    set.assert_no_changes();

    let deleted = http
        .delete(format!("{}/connectors/{sink}", env.connect_url))
        .send()
        .await
        .expect("cleanup");
    assert_eq!(deleted.status().as_u16(), 204);
    kusto.shutdown().await;
}
