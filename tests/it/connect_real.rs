//! Proves the test environment is real: a Kafka Connect 3.9 worker (with the Kusto sink stand-in
//! plugin) and a Kafka-protocol broker, started by `scripts/test-env up`. Skipped outside CI when
//! the environment is not up; fails in CI.
//!
//! Set `KUSTOPLAN_CONNECT_RECORD_DIR` to save every response (NN-name.json / NN-name.status, like
//! ../shared/fixtures/connect-4.3).

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::real_env::{RealEnv, real_env};
use common::sandbox::KustoServer;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KUSTO_SINK: &str = "com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkConnector";
const MAPPING_PATTERN: &str = "^[A-Za-z0-9_.-]+$";
/// How long a connector may take to reach a state (rebalances on a 2-core machine are slow).
const STATE_TIMEOUT: Duration = Duration::from_secs(90);

struct Connect {
    http: reqwest::Client,
    base: String,
    record_dir: Option<std::path::PathBuf>,
    seq: AtomicUsize,
}

impl Connect {
    fn new(env: &RealEnv, record_prefix: &str) -> Self {
        let record_dir = std::env::var_os("KUSTOPLAN_CONNECT_RECORD_DIR")
            .filter(|d| !d.is_empty())
            .map(|d| std::path::PathBuf::from(d).join(record_prefix));
        if let Some(dir) = &record_dir {
            std::fs::create_dir_all(dir).expect("create record dir");
        }
        Connect {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            base: env.connect_url.clone(),
            record_dir,
            seq: AtomicUsize::new(1),
        }
    }

    /// Sends one request; returns status and body (JSON, or `Value::Null` when empty).
    /// Retries 409 (rebalance in progress) for up to a minute.
    async fn call(
        &self,
        label: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{}", self.base, path);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: request failed: {e}"));
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            if status == StatusCode::CONFLICT && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            let value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or_else(|e| {
                    panic!("{method} {path}: {status} with a non-JSON body ({e}): {text}")
                })
            };
            self.record(label, status, &text);
            return (status, value);
        }
    }

    fn record(&self, label: &str, status: StatusCode, text: &str) {
        let Some(dir) = &self.record_dir else { return };
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let stem = dir.join(format!("{n:02}-{label}"));
        std::fs::write(stem.with_extension("json"), text).expect("record body");
        std::fs::write(
            stem.with_extension("status"),
            format!("{}\n", status.as_u16()),
        )
        .expect("record status");
    }

    async fn expect(
        &self,
        label: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        want: StatusCode,
    ) -> Value {
        let (status, value) = self.call(label, method.clone(), path, body).await;
        assert_eq!(
            status, want,
            "{method} {path}: unexpected status; body: {value}"
        );
        value
    }

    /// Polls `GET /connectors/{name}/status` until `done` holds; panics with the last status after
    /// STATE_TIMEOUT.
    async fn wait_status(&self, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STATE_TIMEOUT;
        let path = format!("/connectors/{name}/status");
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let (status, value) = self.call_quiet(&path).await;
            if status == StatusCode::OK && done(&value) {
                self.record(&format!("status-{what}"), status, &value.to_string());
                return value;
            }
            last = value;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "connector {name} did not reach {what} within {STATE_TIMEOUT:?}; last status: {last}"
        );
    }

    async fn call_quiet(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: request failed: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn delete_if_present(&self, name: &str) {
        let (status, body) = self
            .call(
                "cleanup-delete",
                Method::DELETE,
                &format!("/connectors/{name}"),
                None,
            )
            .await;
        assert!(
            status == StatusCode::NO_CONTENT || status == StatusCode::NOT_FOUND,
            "DELETE /connectors/{name}: {status} {body}"
        );
    }
}

fn connector_state(status: &Value) -> &str {
    status["connector"]["state"].as_str().unwrap_or("")
}

fn task_states(status: &Value) -> Vec<&str> {
    status["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| t["state"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default()
}

fn all_running(status: &Value) -> bool {
    connector_state(status) == "RUNNING" && {
        let tasks = task_states(status);
        !tasks.is_empty() && tasks.iter().all(|s| *s == "RUNNING")
    }
}

/// Errors reported by a validate response, per config key (keys without errors left out).
fn validate_errors(resp: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    for c in resp["configs"].as_array().expect("configs array") {
        let errors: Vec<String> = c["value"]["errors"]
            .as_array()
            .map(|es| {
                es.iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if !errors.is_empty() {
            out.insert(
                c["value"]["name"].as_str().unwrap_or("").to_string(),
                errors,
            );
        }
    }
    out
}

/// `config` with a valid gameplay mapping and query URL.
fn good_base(config: &Value) -> Value {
    let mut c = config.clone();
    c["kusto.tables.topics.mapping"] = json!(gameplay_mapping());
    c["kusto.query.url"] = json!("https://kustoplan-test.westeurope.kusto.windows.net");
    c
}

fn gameplay_mapping() -> String {
    json!([{
        "topic": "gameplay", "db": "gamedb", "table": "GamePlay",
        "format": "json", "mapping": "gameplay_json_mapping"
    }])
    .to_string()
}

/// A good gameplay sink config; the app key is a `${file:...}` reference to `secret_file`.
fn gameplay_config(ingestion_url: &str, secret_file: &std::path::Path) -> Value {
    json!({
        "connector.class": KUSTO_SINK,
        "tasks.max": "1",
        "topics": "gameplay",
        "kusto.ingestion.url": ingestion_url,
        "kusto.query.url": "https://kustoplan-test.westeurope.kusto.windows.net",
        "aad.auth.strategy": "application",
        "aad.auth.authority": "00000000-0000-0000-0000-00000000000a",
        "aad.auth.appid": "00000000-0000-0000-0000-00000000000b",
        "aad.auth.appkey": format!("${{file:{}:appkey}}", secret_file.display()),
        "kusto.tables.topics.mapping": gameplay_mapping(),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "behavior.on.error": "fail",
        "flush.size.bytes": "1048576",
        "flush.interval.ms": "1000",
    })
}

/// Produces `n` JSON records to partition 0 of `topic`; returns the offset after the last one.
async fn produce(bootstrap: &str, topic: &str, n: usize) -> i64 {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "15000")
        .create()
        .expect("producer");
    let mut next = -1;
    for i in 0..n {
        let payload =
            json!({"PlayerId": i, "Event": "kill", "Ts": "2026-01-01T00:00:00Z"}).to_string();
        let delivery = producer
            .send(
                FutureRecord::to(topic)
                    .partition(0)
                    .key("k")
                    .payload(&payload),
                Duration::from_secs(15),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce to {topic} on {bootstrap}: {e}"));
        next = delivery.offset + 1;
    }
    next
}

/// Creates the topic with rdkafka's AdminClient (an existing topic is fine).
async fn ensure_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("socket.timeout.ms", "10000")
        .create()
        .expect("admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let new_topics = [NewTopic::new(topic, partitions, TopicReplication::Fixed(1))];
    let fut = admin.create_topics(&new_topics, &opts);
    let results = tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("CreateTopics {topic} on {bootstrap}: no answer within 30 s"))
        .unwrap_or_else(|e| panic!("CreateTopics {topic} on {bootstrap}: {e}"));
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => panic!("CreateTopics {t}: {code:?}"),
        }
    }
}

#[tokio::test]
async fn connect_lists_the_kusto_sink_and_validates_with_its_rules() {
    let Some(env) = real_env("connect_lists_the_kusto_sink_and_validates_with_its_rules") else {
        return;
    };
    let connect = Connect::new(&env, "validate");

    let plugins = connect
        .expect(
            "connector-plugins",
            Method::GET,
            "/connector-plugins",
            None,
            StatusCode::OK,
        )
        .await;
    let kusto = plugins
        .as_array()
        .expect("plugin list")
        .iter()
        .find(|p| p["class"] == KUSTO_SINK)
        .unwrap_or_else(|| panic!("{KUSTO_SINK} not in GET /connector-plugins: {plugins}"));
    assert_eq!(kusto["type"], "sink", "{kusto}");

    let validate = format!("/connector-plugins/{KUSTO_SINK}/config/validate");

    // No ingestion URL, malformed mapping JSON, application auth without an app key.
    let bad_json_mapping = "[{'topic': 'gameplay', 'db': 'gamedb'";
    let bad = json!({
        "connector.class": KUSTO_SINK,
        "name": "t-bad",
        "topics": "gameplay",
        "aad.auth.appid": "00000000-0000-0000-0000-00000000000b",
        "aad.auth.authority": "00000000-0000-0000-0000-00000000000a",
        "kusto.tables.topics.mapping": bad_json_mapping,
    });
    let resp = connect
        .expect(
            "validate-bad-json",
            Method::PUT,
            &validate,
            Some(&bad),
            StatusCode::OK,
        )
        .await;
    let errors = validate_errors(&resp);
    assert_eq!(resp["error_count"], json!(3), "validate: {errors:#?}");
    assert_eq!(
        errors["kusto.ingestion.url"],
        vec![r#"Missing required configuration "kusto.ingestion.url" which has no default value."#]
    );
    let mapping_errors = &errors["kusto.tables.topics.mapping"];
    assert_eq!(mapping_errors.len(), 1, "{mapping_errors:?}");
    let prefix = format!(
        "Invalid value {bad_json_mapping} for configuration kusto.tables.topics.mapping: \
         Error parsing kusto.tables.topics.mapping as JSON: "
    );
    assert!(mapping_errors[0].starts_with(&prefix), "{mapping_errors:?}");
    assert_eq!(
        errors["aad.auth.appkey"],
        vec!["aad.auth.appkey must be set when aad.auth.strategy is 'application'"]
    );

    // A db name outside the allowed characters (the sink's KQL-injection rule).
    let bad_db_mapping =
        r#"[{"topic":"gameplay","db":"game db;","table":"GamePlay","format":"json"}]"#;
    let mut bad_db = bad.clone();
    bad_db["kusto.ingestion.url"] =
        json!("https://ingest-kustoplan-test.westeurope.kusto.windows.net");
    bad_db["aad.auth.appkey"] = json!("not-a-real-secret");
    bad_db["kusto.tables.topics.mapping"] = json!(bad_db_mapping);
    let resp = connect
        .expect(
            "validate-bad-db",
            Method::PUT,
            &validate,
            Some(&bad_db),
            StatusCode::OK,
        )
        .await;
    let errors = validate_errors(&resp);
    assert_eq!(resp["error_count"], json!(1), "validate: {errors:#?}");
    assert_eq!(
        errors["kusto.tables.topics.mapping"],
        vec![format!(
            "Invalid value {bad_db_mapping} for configuration kusto.tables.topics.mapping: \
             Invalid 'db' value 'game db;': must match {MAPPING_PATTERN}"
        )]
    );
    // PASSWORD keys come back hidden from validate.
    let appkey = resp["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "aad.auth.appkey")
        .expect("aad.auth.appkey in validate response");
    assert_eq!(appkey["definition"]["type"], "PASSWORD");
    assert_eq!(appkey["value"]["value"], "[hidden]");

    // Enumerations, ranges, types and the format allow-list; table validation needs the query URL.
    let mut out_of_range = good_base(&bad_db);
    for (key, value) in [
        ("aad.auth.strategy", "bogus"),
        ("behavior.on.error", "explode"),
        ("flush.size.bytes", "10"),
        ("flush.interval.ms", "abc"),
        ("kusto.validation.table.enable", "true"),
        (
            "kusto.tables.topics.mapping",
            r#"[{"topic":"gameplay","db":"gamedb","table":"GamePlay","format":"js-on"}]"#,
        ),
    ] {
        out_of_range[key] = json!(value);
    }
    out_of_range
        .as_object_mut()
        .unwrap()
        .remove("kusto.query.url");
    let resp = connect
        .expect(
            "validate-rules",
            Method::PUT,
            &validate,
            Some(&out_of_range),
            StatusCode::OK,
        )
        .await;
    let errors = validate_errors(&resp);
    let one_of = |key: &str, value: &str, allowed: &[&str]| {
        let e = &errors[key];
        assert_eq!(e.len(), 1, "{key}: {e:?}");
        let prefix = format!(
            "Invalid value {value} for configuration {key}: String must be one of (case insensitive): "
        );
        let listed = e[0]
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{key}: {e:?}"));
        let mut listed: Vec<&str> = listed.split(", ").collect();
        listed.sort_unstable();
        assert_eq!(listed, allowed, "{key}");
    };
    one_of(
        "aad.auth.strategy",
        "bogus",
        &[
            "APPLICATION",
            "AZ_DEV_TOKEN",
            "MANAGED_IDENTITY",
            "WORKLOAD_IDENTITY",
        ],
    );
    one_of("behavior.on.error", "explode", &["FAIL", "IGNORE", "LOG"]);
    assert_eq!(
        errors["flush.size.bytes"],
        vec!["Invalid value 10 for configuration flush.size.bytes: Value must be at least 100"]
    );
    assert_eq!(
        errors["flush.interval.ms"][0],
        "Invalid value abc for configuration flush.interval.ms: Not a number of type LONG"
    );
    assert_eq!(
        errors["kusto.tables.topics.mapping"],
        vec![format!(
            "Invalid value {} for configuration kusto.tables.topics.mapping: \
             Invalid 'format' value 'js-on': must match ^[A-Za-z0-9]+$",
            out_of_range["kusto.tables.topics.mapping"]
                .as_str()
                .unwrap()
        )]
    );
    // The cross-field rule runs only when aad.auth.strategy itself is valid: check it alone.
    let mut needs_query_url = good_base(&bad_db);
    needs_query_url["kusto.validation.table.enable"] = json!("true");
    needs_query_url
        .as_object_mut()
        .unwrap()
        .remove("kusto.query.url");
    let resp = connect
        .expect(
            "validate-needs-query-url",
            Method::PUT,
            &validate,
            Some(&needs_query_url),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        resp["error_count"],
        json!(1),
        "{:#?}",
        validate_errors(&resp)
    );
    assert_eq!(
        validate_errors(&resp)["kusto.query.url"],
        vec!["kusto.query.url must be set when kusto.validation.table.enable is true"]
    );

    // Single quotes are accepted, as by the real sink; defaults are the documented ones.
    let mut good = good_base(&bad_db);
    good["kusto.tables.topics.mapping"] = json!(
        "[{'topic': 'gameplay','db': 'gamedb', 'table': 'GamePlay','format': 'json', 'mapping':'gameplay_json_mapping', 'streaming': 'false'}]"
    );
    let resp = connect
        .expect(
            "validate-ok",
            Method::PUT,
            &validate,
            Some(&good),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        resp["error_count"],
        json!(0),
        "validate: {:#?}",
        validate_errors(&resp)
    );
    let default_of = |key: &str| -> Value {
        resp["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == key)
            .unwrap_or_else(|| panic!("{key} not declared"))["definition"]["default_value"]
            .clone()
    };
    assert_eq!(default_of("aad.auth.strategy"), "application");
    assert_eq!(default_of("flush.size.bytes"), "1048576");
    assert_eq!(default_of("flush.interval.ms"), "30000");
    assert_eq!(default_of("behavior.on.error"), "fail");
    assert_eq!(default_of("kusto.validation.table.enable"), "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kusto_sink_connector_lifecycle_on_real_connect() {
    const TEST: &str = "kusto_sink_connector_lifecycle_on_real_connect";
    let Some(env) = real_env(TEST) else {
        return;
    };
    // The sink commits offsets once it has shipped their records: it needs a Kusto with queued
    // ingestion (the sandbox on Azurite) to ship to.
    let Some(azurite) = common::azurite::start(TEST).await else {
        return;
    };
    let kusto = KustoServer::start_configured(&["gamedb"], |config| {
        config.queued = Some(azurite.account().clone());
    })
    .await;
    let connect = Connect::new(&env, "lifecycle");
    ensure_topic(&env.bootstrap, "gameplay", 4).await;

    // The app key is referenced, never inlined: Connect resolves ${file:...} when it starts the task.
    let secrets = tempfile::tempdir().expect("tempdir");
    let secret_file = secrets.path().join("kusto.properties");
    let secret = format!("appkey-{}", uuid::Uuid::new_v4());
    std::fs::write(&secret_file, format!("appkey={secret}\n")).expect("write secret file");

    let (t1, failing) = ("t1", "t1-failing");
    connect.delete_if_present(t1).await;
    connect.delete_if_present(failing).await;

    let config = gameplay_config(&kusto.url(), &secret_file);
    let created = connect
        .expect(
            "put-config-create",
            Method::PUT,
            &format!("/connectors/{t1}/config"),
            Some(&config),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["name"], t1);
    assert_eq!(created["type"], "sink");
    let status = connect.wait_status(t1, "RUNNING", all_running).await;
    assert_eq!(task_states(&status), vec!["RUNNING"], "{status}");

    // The sink really consumes from the broker and ships to Kusto: its committed offset reaches
    // the end of what we produced (GET /offsets works while RUNNING; the sink flushes and the
    // worker commits every second).
    let end = produce(&env.bootstrap, "gameplay", 3).await;
    let deadline = Instant::now() + STATE_TIMEOUT;
    loop {
        let (status, offsets) = connect
            .call_quiet(&format!("/connectors/{t1}/offsets"))
            .await;
        let committed = offsets["offsets"].as_array().and_then(|os| {
            os.iter()
                .find(|o| {
                    o["partition"]["kafka_topic"] == "gameplay"
                        && o["partition"]["kafka_partition"] == 0
                })
                .and_then(|o| o["offset"]["kafka_offset"].as_i64())
        });
        if status == StatusCode::OK && committed == Some(end) {
            connect.record("offsets-running", status, &offsets.to_string());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sink did not commit offset {end} of gameplay/0 within {STATE_TIMEOUT:?}; last: {status} {offsets}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The stored config keeps the reference; the secret itself is nowhere in the REST answers.
    let stored = connect
        .expect(
            "get-config",
            Method::GET,
            &format!("/connectors/{t1}/config"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(stored["aad.auth.appkey"], config["aad.auth.appkey"]);
    let expanded = connect
        .expect(
            "connectors-expand",
            Method::GET,
            "/connectors?expand=status&expand=info",
            None,
            StatusCode::OK,
        )
        .await;
    assert!(
        expanded[t1]["status"]["connector"]["state"].is_string(),
        "{expanded}"
    );
    for body in [&stored, &expanded, &status] {
        assert!(
            !body.to_string().contains(&secret),
            "the secret leaked into a REST answer"
        );
    }

    connect
        .expect(
            "pause",
            Method::PUT,
            &format!("/connectors/{t1}/pause"),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    connect
        .wait_status(t1, "PAUSED", |s| {
            connector_state(s) == "PAUSED" && task_states(s).iter().all(|t| *t == "PAUSED")
        })
        .await;

    connect
        .expect(
            "stop",
            Method::PUT,
            &format!("/connectors/{t1}/stop"),
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    connect
        .wait_status(t1, "STOPPED", |s| {
            connector_state(s) == "STOPPED" && task_states(s).is_empty()
        })
        .await;
    let offsets = connect
        .expect(
            "offsets-stopped",
            Method::GET,
            &format!("/connectors/{t1}/offsets"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(offsets["offsets"].is_array(), "{offsets}");

    connect
        .expect(
            "resume",
            Method::PUT,
            &format!("/connectors/{t1}/resume"),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    connect
        .wait_status(t1, "RUNNING-after-resume", all_running)
        .await;

    // A sink whose ingestion URL host is fail.invalid: the stand-in's task fails on purpose.
    let failing_config = gameplay_config("https://fail.invalid", &secret_file);
    connect
        .expect(
            "put-failing",
            Method::PUT,
            &format!("/connectors/{failing}/config"),
            Some(&failing_config),
            StatusCode::CREATED,
        )
        .await;
    let status = connect
        .wait_status(failing, "task-FAILED", |s| task_states(s) == vec!["FAILED"])
        .await;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(
        trace.contains("failing on purpose"),
        "FAILED task without the expected trace: {status}"
    );
    assert!(
        !trace.contains(&secret),
        "the secret leaked into a task trace"
    );

    let restarted = connect
        .expect(
            "restart-onlyfailed",
            Method::POST,
            &format!("/connectors/{failing}/restart?includeTasks=true&onlyFailed=true"),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(restarted["name"], failing, "{restarted}");
    assert_eq!(restarted["tasks"][0]["state"], "RESTARTING", "{restarted}");
    connect
        .wait_status(failing, "task-FAILED-again", |s| {
            task_states(s) == vec!["FAILED"]
        })
        .await;

    for name in [failing, t1] {
        connect
            .expect(
                "delete",
                Method::DELETE,
                &format!("/connectors/{name}"),
                None,
                StatusCode::NO_CONTENT,
            )
            .await;
        let deadline = Instant::now() + STATE_TIMEOUT;
        loop {
            let (status, _) = connect.call_quiet(&format!("/connectors/{name}")).await;
            if status == StatusCode::NOT_FOUND {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "connector {name} still there {STATE_TIMEOUT:?} after DELETE"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    kusto.shutdown().await;
}

/// KIP-980 on the real worker: our client creates a connector with `initial_state` PAUSED and
/// STOPPED; it reaches that state and no task is ever seen RUNNING.
#[tokio::test]
async fn connectors_created_with_an_initial_state_never_run_on_real_connect() {
    use kustoplan::model::connect::RunState;
    use kustoplan::providers::connect::{ConnectClient, ConnectClientOptions};

    let Some(env) = real_env("connectors_created_with_an_initial_state_never_run_on_real_connect")
    else {
        return;
    };
    let connect = Connect::new(&env, "initial-state");
    ensure_topic(&env.bootstrap, "gameplay", 4).await;
    let secrets = tempfile::tempdir().expect("tempdir");
    let secret_file = secrets.path().join("kusto.properties");
    std::fs::write(&secret_file, "appkey=not-a-real-key\n").expect("write secret file");
    let config: std::collections::BTreeMap<String, String> = gameplay_config(
        "https://ingest-kustoplan-test.westeurope.kusto.windows.net",
        &secret_file,
    )
    .as_object()
    .expect("config object")
    .iter()
    .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
    .collect();
    let client = ConnectClient::new(&env.connect_url, None, ConnectClientOptions::default())
        .expect("client");
    for (name, state, wire) in [
        ("initial-paused", RunState::Paused, "PAUSED"),
        ("initial-stopped", RunState::Stopped, "STOPPED"),
    ] {
        connect.delete_if_present(name).await;
        client
            .create(name, &config, state)
            .await
            .unwrap_or_else(|e| panic!("POST /connectors {name}: {e}"));
        let deadline = Instant::now() + STATE_TIMEOUT;
        loop {
            let (_, status) = connect
                .call_quiet(&format!("/connectors/{name}/status"))
                .await;
            assert!(
                !task_states(&status).contains(&"RUNNING") && connector_state(&status) != "RUNNING",
                "{name} ran: {status}"
            );
            if connector_state(&status) == wire {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not reach {wire} within {STATE_TIMEOUT:?}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        connect.delete_if_present(name).await;
    }
}
