//! The data path end to end on real components: kustoplan applies the gameplay example to a
//! real Kafka-protocol broker (tansu), a real Kafka Connect worker running the Kusto sink
//! stand-in, and the Kusto sandbox server with queued ingestion on Azurite. Events produced to
//! the real topic are consumed by the sink task in the worker's JVM, uploaded as gzip blobs to
//! the Azurite container `.get ingestion resources` handed out, announced on its queue, and
//! ingested by the sandbox: the walk-through's last step, `GamePlay | count`, returns the number
//! of events produced. Streaming routes post to the engine instead. A buffer is shipped when it reaches `flush.size.bytes`, and only shipped
//! offsets are committed. `behavior.on.error` decides what a record the sink cannot write does.
//! With a sandbox that requires tokens, the sink signs in with its app key (a wrong one fails
//! its task with the sandbox's 401) and ingests as the app, which apply made a database admin.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::cli::Run;
use common::real_env::{RealEnv, gameplay_copy_unique_edited, real_env};
use common::sandbox::KustoServer;
use kustoplan::sandbox::azurite::Azurite;
use kustoplan::sandbox::kusto::AuthConfig;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};

const DB: &str = "gamedb";
/// Generous: the example flushes every 30 s (the sink's default) and the GamePlay batching
/// policy seals after 10 s; the machine may be busy with other builds.
const DATA_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs kustoplan on `stack` with `vars` and the environment variables `envs`.
async fn kustoplan(stack: &Path, vars: &[String], envs: &[(&str, String)], args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push(stack.display().to_string());
    for v in vars {
        all.extend(["--var".to_string(), v.clone()]);
    }
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut cmd = Command::new(common::kustoplan_bin());
    cmd.args(&all)
        .envs(envs)
        .env_remove("IDENTITY_SERVER_THUMBPRINT")
        .env_remove("IMDS_ENDPOINT");
    let out = common::cli::output_off_runtime(cmd).await;
    Run::from(out)
}

/// The Kusto sandbox over HTTP, with queued ingestion on `azurite` when given.
struct Kusto {
    server: KustoServer,
    http: reqwest::Client,
    /// The bearer token the test's own requests carry, when the sandbox requires one.
    token: Option<String>,
}

impl Kusto {
    async fn start(azurite: Option<&Azurite>) -> Kusto {
        Kusto::start_with_auth(azurite, None).await
    }

    /// A sandbox that requires bearer tokens: `auth`, and the token of its cluster admin.
    async fn start_with_auth(azurite: Option<&Azurite>, auth: Option<(AuthConfig, &str)>) -> Kusto {
        let token = auth.as_ref().map(|(_, token)| token.to_string());
        let server = KustoServer::start_configured(&[DB], |config| {
            config.queued = azurite.map(|a| a.account().clone());
            config.auth = auth.map(|(config, _)| config);
        })
        .await;
        Kusto {
            server,
            http: reqwest::Client::new(),
            token,
        }
    }

    fn post(&self, path: &str, csl: &str) -> reqwest::RequestBuilder {
        let req = self
            .http
            .post(format!("{}{path}", self.server.url()))
            .json(&json!({"db": DB, "csl": csl}));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// The `--var`s that point the gameplay stack at this sandbox and the real components.
    fn vars(&self, env: &RealEnv) -> Vec<String> {
        vec![
            format!("kusto_cluster={}", self.server.url()),
            format!("kafka_bootstrap={}", env.bootstrap),
            format!("connect_url={}", env.connect_url),
        ]
    }

    /// Rows of a query on gamedb.
    async fn query(&self, csl: &str) -> Vec<Value> {
        let resp = self
            .post("/v1/rest/query", csl)
            .send()
            .await
            .expect("query");
        let status = resp.status();
        let body: Value = resp.json().await.expect("query json");
        assert_eq!(status.as_u16(), 200, "{csl}: {body}");
        body["Tables"][0]["Rows"].as_array().expect("rows").clone()
    }

    async fn count(&self, csl: &str) -> i64 {
        self.query(csl).await[0][0].as_i64().expect("a count")
    }

    /// Waits until `csl` (a count query) answers `want`; more than `want` fails at once.
    async fn wait_for_count(&self, csl: &str, want: i64) {
        let deadline = Instant::now() + DATA_TIMEOUT;
        loop {
            let got = self.count(csl).await;
            assert!(
                got <= want,
                "`{csl}` is {got}, more than the {want} produced"
            );
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{csl}` is {got} after {DATA_TIMEOUT:?}, want {want}; ingestion failures: {:?}",
                self.mgmt(".show ingestion failures").await
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn mgmt(&self, csl: &str) -> Value {
        self.post("/v1/rest/mgmt", csl)
            .send()
            .await
            .expect("mgmt")
            .json()
            .await
            .expect("mgmt json")
    }
}

/// The gameplay example with names unique to this run (the broker and worker are shared by
/// all tests), the connector's key file written where its `${file:...}` placeholder points,
/// and `edit` applied to kafka.yaml.
fn gameplay_copy(dir: &Path, suffix: &str, edit: impl Fn(String) -> String) {
    gameplay_copy_unique_edited(dir, suffix, "not-a-real-key", edit);
}

/// A gameplay event as the walk-through's producer sends it.
fn event(player: usize, game: usize) -> String {
    json!({
        "playerId": player,
        "gameId": game,
        "win": player % 2,
        "score": player * 10,
        "eventTime": format!("2026-12-05T10:00:{:02}Z", player % 60),
    })
    .to_string()
}

/// Produces `values` to `topic`, value `i` to partition `i % partitions`, with JSON string
/// keys, all sent before any delivery is awaited (so they reach the sink close together);
/// returns how many went to each partition.
async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    values: &[String],
) -> BTreeMap<i32, i64> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    let keys: Vec<String> = (0..values.len())
        .map(|i| format!("\"player-{i}\""))
        .collect();
    let mut per_partition = BTreeMap::new();
    let mut deliveries = Vec::new();
    for (i, (value, key)) in values.iter().zip(&keys).enumerate() {
        let partition = i32::try_from(i).expect("index") % partitions;
        let record = FutureRecord::to(topic)
            .partition(partition)
            .key(key)
            .payload(value);
        deliveries.push(producer.send(record, Duration::from_secs(30)));
        *per_partition.entry(partition).or_insert(0) += 1;
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery.unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
    }
    per_partition
}

async fn connector_status(env: &RealEnv, name: &str) -> Value {
    reqwest::get(format!("{}/connectors/{name}/status", env.connect_url))
        .await
        .expect("status")
        .json()
        .await
        .unwrap_or_default()
}

/// The committed offsets of a connector, by partition.
async fn committed(env: &RealEnv, name: &str) -> BTreeMap<i32, i64> {
    let body: Value = reqwest::get(format!("{}/connectors/{name}/offsets", env.connect_url))
        .await
        .expect("GET offsets")
        .json()
        .await
        .unwrap_or_default();
    body["offsets"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|o| {
                    Some((
                        i32::try_from(o["partition"]["kafka_partition"].as_i64()?).ok()?,
                        o["offset"]["kafka_offset"].as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the connector has committed `want` (the sink commits only what it shipped).
/// Partitions `want` does not name may show offset 0: Connect commits the start position of
/// every assigned partition along with the task's offsets.
async fn wait_for_offsets(env: &RealEnv, name: &str, want: &BTreeMap<i32, i64>) {
    let deadline = Instant::now() + DATA_TIMEOUT;
    loop {
        let got: BTreeMap<i32, i64> = committed(env, name)
            .await
            .into_iter()
            .filter(|(p, o)| *o != 0 || want.contains_key(p))
            .collect();
        if &got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} committed {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn delete_connector(env: &RealEnv, name: &str) {
    reqwest::Client::new()
        .delete(format!("{}/connectors/{name}", env.connect_url))
        .send()
        .await
        .expect("cleanup");
}

/// Applies a gameplay copy; panics with kustoplan's output unless it succeeded.
async fn apply(stack: &Path, vars: &[String]) {
    apply_with_env(stack, vars, &[]).await;
}

async fn apply_with_env(stack: &Path, vars: &[String], envs: &[(&str, String)]) {
    let run = kustoplan(stack, vars, envs, &["apply", "--auto-approve"]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gameplay_events_reach_kusto_through_the_real_connect_worker() {
    const TEST: &str = "gameplay_events_reach_kusto_through_the_real_connect_worker";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let kusto = Kusto::start(Some(&azurite)).await;
    let suffix = format!("flow{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy(stack.path(), &suffix, |t| t);
    let vars = kusto.vars(&env);
    let sink = format!("gameplay-sink-{suffix}");
    let topic = format!("gameplay-{suffix}");

    apply(stack.path(), &vars).await;
    assert_eq!(
        kusto.count("GamePlay | count").await,
        0,
        "nothing before events"
    );

    let events: Vec<String> = (0..23).map(|i| event(i, 1 + i % 3)).collect();
    let per_partition = produce(&env.bootstrap, &topic, 4, &events).await;
    assert_eq!(per_partition.len(), 4, "every partition gets events");

    // The walk-through's last step.
    kusto.wait_for_count("GamePlay | count", 23).await;
    assert_eq!(
        kusto.query("GamePlay | where PlayerID == 7").await,
        vec![json!([7, 2, 1, 70, "2026-12-05T10:00:07Z"])],
        "the JSON mapping put each field in its column"
    );
    // Offsets are committed once their data is shipped, not when consumed.
    wait_for_offsets(&env, &sink, &per_partition).await;
    let status = connector_status(&env, &sink).await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let failures = kusto.mgmt(".show ingestion failures").await;
    assert_eq!(
        failures["Tables"][0]["Rows"],
        json!([]),
        "no ingestion failed: {failures}"
    );

    // `status` reports the flow: the route caught up, the table's last ingestion, no failures.
    let run = kustoplan(stack.path(), &vars, &[], &["status", "--format", "json"]).await;
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("status JSON: {e}\n{}{}", run.stdout, run.stderr));
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(report["health"], "healthy", "{report:#}");
    let route = &report["connectors"][0]["routes"][0];
    assert_eq!(route["topic"], topic.as_str(), "{report:#}");
    assert_eq!(route["table"], "GamePlay", "{report:#}");
    assert_eq!(
        route["lag"]["total"], 0,
        "every event is shipped: {report:#}"
    );
    assert!(
        route["last_ingestion"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "the table's last ingestion time is shown: {report:#}"
    );
    assert_eq!(route["failures"]["available"], true, "{report:#}");
    assert_eq!(route["failures"]["count"], 0, "{report:#}");

    delete_connector(&env, &sink).await;
    kusto.server.shutdown().await;
}

/// The offset up to which a sink with `flush.size.bytes` `limit` (and no flush by time) has
/// shipped `values` of one partition: each value is a line of the blob, and a buffer is
/// shipped as soon as it holds `limit` bytes.
fn shipped_by_size(values: &[String], limit: usize) -> i64 {
    let (mut buffered, mut shipped) = (0, 0);
    for (i, v) in values.iter().enumerate() {
        buffered += v.len() + 1;
        if buffered >= limit {
            buffered = 0;
            shipped = i64::try_from(i + 1).expect("offset");
        }
    }
    shipped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_is_shipped_at_flush_size_bytes_and_the_rest_waits() {
    const TEST: &str = "a_full_buffer_is_shipped_at_flush_size_bytes_and_the_rest_waits";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let kusto = Kusto::start(Some(&azurite)).await;
    let suffix = format!("size{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy(stack.path(), &suffix, |t| {
        t.replace(
            "tasks_max: 1\n",
            "tasks_max: 1\nflush:\n  size_bytes: 1000\n  interval_ms: 3600000\n",
        )
    });
    let vars = kusto.vars(&env);
    let sink = format!("gameplay-sink-{suffix}");
    apply(stack.path(), &vars).await;

    let events: Vec<String> = (0..30).map(|i| event(i, 3)).collect();
    let shipped = shipped_by_size(&events, 1000);
    assert!(
        0 < shipped && shipped < 30,
        "the test needs a remainder: {shipped}"
    );
    produce(&env.bootstrap, &format!("gameplay-{suffix}"), 1, &events).await;
    // Exactly the full buffers arrive and are committed; the rest waits for the hour-long
    // interval (or more data), buffered and uncommitted.
    wait_for_offsets(&env, &sink, &BTreeMap::from([(0, shipped)])).await;
    kusto.wait_for_count("GamePlay | count", shipped).await;
    let status = connector_status(&env, &sink).await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert_eq!(
        committed(&env, &sink).await.get(&0),
        Some(&shipped),
        "the buffered rest is not committed"
    );

    delete_connector(&env, &sink).await;
    kusto.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_route_posts_its_blobs_to_the_engine() {
    const TEST: &str = "a_streaming_route_posts_its_blobs_to_the_engine";
    let Some(env) = real_env(TEST) else {
        return;
    };
    // No queued ingestion at all: rows can only come through streaming ingestion.
    let kusto = Kusto::start(None).await;
    let suffix = format!("stream{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy(stack.path(), &suffix, |t| {
        t.replace("streaming: false\n", "streaming: true\n")
            .replace(
                "tasks_max: 1\n",
                "tasks_max: 1\nflush:\n  interval_ms: 1000\n",
            )
    });
    let kusto_yaml = stack.path().join("kusto.yaml");
    let text = std::fs::read_to_string(&kusto_yaml).expect("read");
    assert!(text.contains("database: gamedb\n"), "{text}");
    std::fs::write(
        &kusto_yaml,
        text.replace(
            "database: gamedb\n",
            "database: gamedb\nstreaming_ingestion: true\n",
        ),
    )
    .expect("write");
    let vars = kusto.vars(&env);
    let sink = format!("gameplay-sink-{suffix}");
    apply(stack.path(), &vars).await;

    let events: Vec<String> = (0..9).map(|i| event(i, 4)).collect();
    let produced = produce(&env.bootstrap, &format!("gameplay-{suffix}"), 4, &events).await;
    kusto.wait_for_count("GamePlay | count", 9).await;
    wait_for_offsets(&env, &sink, &produced).await;
    assert_eq!(
        kusto.query("GamePlay | where PlayerID == 5").await,
        vec![json!([5, 4, 1, 50, "2026-12-05T10:00:05Z"])]
    );

    delete_connector(&env, &sink).await;
    kusto.server.shutdown().await;
}

/// kafka.yaml of a sink whose values reach it as strings (so a malformed one reaches the sink,
/// not the converter), flushed every `interval_ms`, with `behavior.on.error: BEHAVIOR`.
fn with_behavior(behavior: &'static str, interval_ms: u32) -> impl Fn(String) -> String {
    move |text: String| {
        assert!(text.contains("value: {class: json, schemas_enable: false}"));
        text.replace(
            "value: {class: json, schemas_enable: false}",
            "value: {class: string, schemas_enable: false}",
        )
        .replace(
            "tasks_max: 1\n",
            &format!(
                "tasks_max: 1\nerrors:\n  behavior: {behavior}\nflush:\n  interval_ms: {interval_ms}\n"
            ),
        )
    }
}

/// Good events of game `game` around one malformed value: `(values, good count)`.
fn events_with_a_bad_one(game: usize) -> (Vec<String>, i64) {
    let mut values: Vec<String> = (0..6).map(|i| event(i, game)).collect();
    values.insert(3, "{\"playerId\": 99, not json".to_string());
    (values, 6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behavior_on_error_fail_stops_the_task_at_a_record_it_cannot_write() {
    const TEST: &str = "behavior_on_error_fail_stops_the_task_at_a_record_it_cannot_write";
    let Some(env) = real_env(TEST) else {
        return;
    };
    // The bad record stops the task before anything is shipped: no storage needed.
    let kusto = Kusto::start(None).await;
    let suffix = format!("onerrfail{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    // No flush before the bad record arrives: the failure is the record's, not the storage's.
    gameplay_copy(stack.path(), &suffix, with_behavior("fail", 600_000));
    let vars = kusto.vars(&env);
    let sink = format!("gameplay-sink-{suffix}");
    apply(stack.path(), &vars).await;

    let (values, _) = events_with_a_bad_one(1);
    produce(&env.bootstrap, &format!("gameplay-{suffix}"), 1, &values).await;
    let deadline = Instant::now() + DATA_TIMEOUT;
    let status = loop {
        let status = connector_status(&env, &sink).await;
        if status["tasks"][0]["state"] == "FAILED" {
            break status;
        }
        assert!(Instant::now() < deadline, "the task did not fail: {status}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&format!(
            "Failed to write record gameplay-{suffix}-0@3 into file for ingestion"
        )) && trace.contains("not valid JSON"),
        "the trace names the record and why: {trace}"
    );
    let offsets = committed(&env, &sink).await;
    assert!(
        offsets.values().all(|o| *o == 0),
        "nothing was shipped, so nothing past the start is committed: {offsets:?}"
    );
    assert_eq!(kusto.count("GamePlay | count").await, 0);

    delete_connector(&env, &sink).await;
    kusto.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behavior_on_error_log_and_ignore_skip_the_bad_record_and_ingest_the_rest() {
    const TEST: &str = "behavior_on_error_log_and_ignore_skip_the_bad_record_and_ingest_the_rest";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let kusto = Kusto::start(Some(&azurite)).await;
    let vars = kusto.vars(&env);
    let mut cases = Vec::new();
    for (game, behavior) in [(1usize, "log"), (2, "ignore")] {
        let suffix = format!("onerr{behavior}{}", std::process::id());
        let stack = tempfile::tempdir().expect("tempdir");
        gameplay_copy(stack.path(), &suffix, with_behavior(behavior, 1000));
        apply(stack.path(), &vars).await;
        let (values, good) = events_with_a_bad_one(game);
        let produced = produce(&env.bootstrap, &format!("gameplay-{suffix}"), 1, &values).await;
        cases.push((
            game,
            behavior,
            format!("gameplay-sink-{suffix}"),
            produced,
            good,
            stack,
        ));
    }
    for (game, behavior, sink, produced, good, _stack) in &cases {
        kusto
            .wait_for_count(&format!("GamePlay | where GameID == {game} | count"), *good)
            .await;
        assert_eq!(
            kusto.count("GamePlay | where PlayerID == 99 | count").await,
            0,
            "{behavior}: the malformed record is skipped"
        );
        // Every record is done with, the skipped one included.
        wait_for_offsets(&env, sink, produced).await;
        let status = connector_status(&env, sink).await;
        assert_eq!(
            status["tasks"][0]["state"], "RUNNING",
            "{behavior} keeps the task running: {status}"
        );
    }
    for (_, _, sink, _, _, _) in &cases {
        delete_connector(&env, sink).await;
    }
    kusto.server.shutdown().await;
}

/// The principal of the example's AAD app (`aadapp=${var.app_id};${var.tenant_id}`).
const APP: &str =
    "aadapp=00000000-0000-0000-0000-00000000a11d;00000000-0000-0000-0000-0000000007e2";
const APP_KEY: &str = "app-key-7d1f0c";
const DEPLOYER: &str =
    "aadapp=11111111-2222-3333-4444-555555555555;00000000-0000-0000-0000-0000000007e2";
const DEPLOYER_TOKEN: &str = "deployer-token-42b9";

/// A loopback managed-identity endpoint (App Service protocol, plain http) handing kustoplan
/// the deployer's token; the environment that points kustoplan's credential at it.
async fn identity_endpoint() -> Vec<(&'static str, String)> {
    use axum::Router;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route(
        "/msi/token",
        get(|| async {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs();
            axum::Json(json!({
                "access_token": DEPLOYER_TOKEN,
                "expires_on": (now + 3600).to_string(),
                "resource": "https://kusto.kusto.windows.net",
                "token_type": "Bearer",
            }))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    vec![
        ("IDENTITY_ENDPOINT", format!("http://{addr}/msi/token")),
        ("IDENTITY_HEADER", "identity-header".to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_signs_in_with_its_app_key_and_a_wrong_key_fails_its_task() {
    const TEST: &str = "the_sink_signs_in_with_its_app_key_and_a_wrong_key_fails_its_task";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let auth = AuthConfig {
        tokens: BTreeMap::from([
            (DEPLOYER_TOKEN.to_string(), DEPLOYER.to_string()),
            (APP_KEY.to_string(), APP.to_string()),
        ]),
        cluster_admins: vec![DEPLOYER.to_string()],
    };
    let kusto = Kusto::start_with_auth(Some(&azurite), Some((auth, DEPLOYER_TOKEN))).await;
    let identity = identity_endpoint().await;
    let mut vars = kusto.vars(&env);
    vars.push("kusto_auth=managed_identity".to_string());
    let flush_every_second = |t: String| {
        t.replace(
            "tasks_max: 1\n",
            "tasks_max: 1\nflush:\n  interval_ms: 1000\n",
        )
    };

    // A key the sandbox does not know: the first flush is refused with 401 and the task fails.
    let bad = format!("authbad{}", std::process::id());
    let bad_stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique_edited(
        bad_stack.path(),
        &bad,
        "not-the-app-key",
        flush_every_second,
    );
    apply_with_env(bad_stack.path(), &vars, &identity).await;
    let bad_sink = format!("gameplay-sink-{bad}");
    produce(
        &env.bootstrap,
        &format!("gameplay-{bad}"),
        4,
        &[event(1, 1)],
    )
    .await;
    let deadline = Instant::now() + DATA_TIMEOUT;
    let status = loop {
        let status = connector_status(&env, &bad_sink).await;
        if status["tasks"][0]["state"] == "FAILED" {
            break status;
        }
        assert!(Instant::now() < deadline, "the task did not fail: {status}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("'.get ingestion resources' to ") && trace.contains("answered HTTP 401"),
        "{trace}"
    );
    assert!(
        !trace.contains("not-the-app-key"),
        "the key stays out of the trace"
    );

    // The app's key: the sandbox knows it as the app, which apply made a database admin (the
    // walk-through's `.add database gamedb admins ('aadapp=APPID;TENANT')`), so its blobs
    // become rows.
    let good = format!("authok{}", std::process::id());
    let good_stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy_unique_edited(good_stack.path(), &good, APP_KEY, flush_every_second);
    apply_with_env(good_stack.path(), &vars, &identity).await;
    let good_sink = format!("gameplay-sink-{good}");
    let events: Vec<String> = (10..15).map(|i| event(i, 2)).collect();
    let produced = produce(&env.bootstrap, &format!("gameplay-{good}"), 4, &events).await;
    kusto.wait_for_count("GamePlay | count", 5).await;
    wait_for_offsets(&env, &good_sink, &produced).await;
    let status = connector_status(&env, &good_sink).await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");

    delete_connector(&env, &bad_sink).await;
    delete_connector(&env, &good_sink).await;
    kusto.server.shutdown().await;
}

/// kafka.yaml of a sink that flushes every `interval_ms`.
fn flush_every(interval_ms: u32) -> impl Fn(String) -> String {
    move |t: String| {
        t.replace(
            "tasks_max: 1\n",
            &format!("tasks_max: 1\nflush:\n  interval_ms: {interval_ms}\n"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_verify_sends_a_canary_through_the_changed_route_and_removes_it() {
    const TEST: &str = "apply_verify_sends_a_canary_through_the_changed_route_and_removes_it";
    let Some(env) = real_env(TEST) else {
        return;
    };
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let kusto = Kusto::start(Some(&azurite)).await;
    let suffix = format!("verify{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy(stack.path(), &suffix, flush_every(1000));
    let vars = kusto.vars(&env);
    let sink = format!("gameplay-sink-{suffix}");
    let topic = format!("gameplay-{suffix}");
    apply(stack.path(), &vars).await;
    let events: Vec<String> = (0..5).map(|i| event(i, 6)).collect();
    produce(&env.bootstrap, &topic, 4, &events).await;
    kusto.wait_for_count("GamePlay | count", 5).await;

    // Change the connector, so the plan touches the route, and verify what it applied.
    let kafka_yaml = stack.path().join("kafka.yaml");
    let text = std::fs::read_to_string(&kafka_yaml).expect("read");
    std::fs::write(
        &kafka_yaml,
        text.replace("interval_ms: 1000\n", "interval_ms: 2000\n"),
    )
    .expect("write");
    let run = kustoplan(
        stack.path(),
        &vars,
        &[],
        &[
            "apply",
            "--auto-approve",
            "--allow",
            "restart",
            "--verify",
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("apply document");
    assert_eq!(doc["outcome"], "applied", "{doc}");
    assert_eq!(doc["canaries"]["ok"], true, "{doc}");
    let checks = doc["canaries"]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 1, "one route: {doc}");
    let check = &checks[0];
    assert_eq!(check["via"], "route", "{check}");
    assert_eq!(check["connector"], sink.as_str(), "{check}");
    assert_eq!(check["topic"], topic.as_str(), "{check}");
    assert_eq!(check["table"], "GamePlay", "{check}");
    assert_eq!(check["format"], "json", "{check}");
    assert_eq!(check["mapping"], "gameplay_json_mapping", "{check}");
    assert_eq!(
        check["expected_wait"], 12.0,
        "flush 2s + the table's 10s batching: {check}"
    );
    assert_eq!(check["result"], "verified", "{check}");
    assert!(
        check["latency_seconds"].as_f64().expect("latency") > 0.0,
        "{check}"
    );
    // The route's JSON mapping put the marker in a long column (GamePlay has no string one),
    // a value no event carries; the row is found, and removed, by it.
    let marker = check["marker"].as_str().expect("marker");
    assert!(marker.starts_with("Win == -"), "{marker}");
    assert_eq!(check["cleanup"], "removed", "{check}");
    assert_eq!(
        check["cleanup_command"].as_str().expect("command"),
        format!(".delete table GamePlay records <| GamePlay | where {marker}"),
        "{check}"
    );
    assert!(
        run.stderr.contains("canary queryable after"),
        "progress on stderr: {}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("not-a-real-key") && !run.stderr.contains("not-a-real-key"),
        "the connector's key stays out of the output"
    );

    // The verification left the table as it was.
    assert_eq!(kusto.count("GamePlay | count").await, 5);
    assert_eq!(kusto.count("GamePlay | where Win < 0 | count").await, 0);
    let failures = kusto.mgmt(".show ingestion failures").await;
    assert_eq!(failures["Tables"][0]["Rows"], json!([]), "{failures}");

    delete_connector(&env, &sink).await;
    kusto.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_a_route_whose_connector_cannot_ingest_as_failed() {
    const TEST: &str = "verify_reports_a_route_whose_connector_cannot_ingest_as_failed";
    let Some(env) = real_env(TEST) else {
        return;
    };
    // No queued ingestion: the sink's first flush cannot get ingestion resources.
    let kusto = Kusto::start(None).await;
    let suffix = format!("verifyfail{}", std::process::id());
    let stack = tempfile::tempdir().expect("tempdir");
    gameplay_copy(stack.path(), &suffix, flush_every(1000));
    let vars = kusto.vars(&env);
    let sink = format!("gameplay-sink-{suffix}");
    apply(stack.path(), &vars).await;

    let run = kustoplan(
        stack.path(),
        &vars,
        &[],
        &["verify", "--format", "json", "--timeout", "150s"],
    )
    .await;
    assert_eq!(run.code, 5, "{}{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("verify document");
    assert_eq!(doc["ok"], false, "{doc}");
    let check = &doc["checks"][0];
    assert_eq!(check["connector"], sink.as_str(), "{doc}");
    assert_eq!(check["result"], "failed", "{doc}");
    let reason = check["reason"].as_str().expect("reason");
    assert!(
        reason.contains(&format!("connector {sink} task 0 FAILED"))
            && reason.contains("ingestion resources"),
        "the reason names the failed task and its error: {reason}"
    );
    // Nothing arrived, so nothing was removed; the report says how to remove a late canary.
    assert_eq!(check["cleanup"], "left", "{doc}");
    assert!(
        check["cleanup_command"]
            .as_str()
            .expect("command")
            .starts_with(".delete table GamePlay records <| GamePlay | where Win == -"),
        "{doc}"
    );
    assert_eq!(kusto.count("GamePlay | count").await, 0);

    delete_connector(&env, &sink).await;
    kusto.server.shutdown().await;
}
