//! The Kafka Connect client against the built-in Connect sandbox over real HTTP on loopback:
//! the full connector lifecycle, validation errors, retries of 409 (rebalance), 500 and lost
//! connections with exact request counts, one bulk request for any number of connectors (also
//! each round of waiting for their state), and
//! secrets masked in errors, traces, logs and `Debug` output.
//!
//! The sandbox is a protocol fake checked against recorded responses of a real Connect 4.3
//! worker (`src/sandbox/connect/tests.rs`), independent of the client.

use crate::common;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::sandbox::connect_server;
use kustoplan::providers::connect::converge;
use kustoplan::providers::connect::{
    BasicAuth, ConnectClient, ConnectClientError, ConnectClientOptions, PutAction, RestartOutcome,
    State,
};
use kustoplan::providers::retry::RetryPolicy;
use kustoplan::sandbox::connect::{ConnectFaults, ConnectServerHandle, KUSTO_SINK_CLASS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const APPKEY: &str = "Sup3r~Secret.Value-42";
const JAAS_PASSWORD: &str = "hunter2-dlq-password";

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Short timeouts and backoff so retry tests run in milliseconds.
fn fast() -> ConnectClientOptions {
    ConnectClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_elapsed: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(2),
        },
    }
}

fn client(server: &ConnectServerHandle) -> ConnectClient {
    ConnectClient::new(&server.url(), None, fast()).expect("client")
}

fn sink_config(topic: &str, appkey: &str) -> BTreeMap<String, String> {
    [
        ("connector.class", KUSTO_SINK_CLASS),
        ("tasks.max", "2"),
        ("topics", topic),
        ("kusto.ingestion.url", "https://ingest-cluster.westeurope.kusto.windows.net"),
        ("kusto.query.url", "https://cluster.westeurope.kusto.windows.net"),
        ("aad.auth.strategy", "application"),
        ("aad.auth.authority", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("aad.auth.appid", "11111111-2222-3333-4444-555555555555"),
        ("aad.auth.appkey", appkey),
        (
            "kusto.tables.topics.mapping",
            "[{'topic':'gameplay','db':'db','table':'GamePlay','format':'json','mapping':'gameplay_json_mapping'}]",
        ),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("value.converter.schemas.enable", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Everything logged through `tracing` while the guard lives (current-thread runtime).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).to_string()
    }

    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // Other tests' threads (without this subscriber) may have hit a callsite while this
        // one was being installed and cached "not interested" for it: ask again.
        tracing::callsite::rebuild_interest_cache();
        guard
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn full_lifecycle() {
    let server = connect_server().await;
    let c = client(&server);
    let info = c.server_info().await.expect("root");
    assert_eq!(info.version, "4.3.0");
    let plugins = c.plugins().await.expect("plugins");
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0].class, KUSTO_SINK_CLASS);
    assert_eq!(plugins[0].kind, "sink");

    let config = sink_config("gameplay", "${env:KUSTO_APPKEY}");
    let mut with_name = config.clone();
    with_name.insert("name".into(), "kusto-sink".into());
    let report = c
        .validate(KUSTO_SINK_CLASS, &with_name)
        .await
        .expect("validate");
    assert!(report.is_valid(), "{:?}", report.errors());
    assert_eq!(report.class, KUSTO_SINK_CLASS);

    let created = c.put_config("kusto-sink", &config).await.expect("create");
    assert_eq!(created.action, PutAction::Created);
    assert_eq!(created.info.config.get("name"), Some("kusto-sink"));
    assert!(created.info.tasks.is_empty());

    let list = c.list_expanded().await.expect("list");
    let entry = &list["kusto-sink"];
    assert_eq!(entry.status.connector.state, State::Running);
    assert_eq!(
        entry
            .status
            .tasks
            .iter()
            .map(|t| (t.id, t.state.clone()))
            .collect::<Vec<_>>(),
        [(0, State::Running), (1, State::Running)]
    );
    assert_eq!(entry.info.config.get("topics"), Some("gameplay"));
    assert_eq!(entry.info.kind.as_deref(), Some("sink"));
    assert_eq!(entry.status.connector.worker_id, server.addr().to_string());

    let mut changed = config.clone();
    changed.insert("flush.interval.ms".into(), "10000".into());
    let updated = c.put_config("kusto-sink", &changed).await.expect("update");
    assert_eq!(updated.action, PutAction::Updated);
    assert_eq!(updated.info.tasks.len(), 2);
    assert_eq!(
        c.connector("kusto-sink")
            .await
            .expect("get")
            .config
            .get("flush.interval.ms"),
        Some("10000")
    );

    c.pause("kusto-sink").await.expect("pause");
    let s = c.status("kusto-sink").await.expect("status");
    assert_eq!(s.connector.state, State::Paused);
    assert!(s.tasks.iter().all(|t| t.state == State::Paused));
    c.resume("kusto-sink").await.expect("resume");
    assert_eq!(
        c.status("kusto-sink")
            .await
            .expect("status")
            .connector
            .state,
        State::Running
    );
    c.stop("kusto-sink").await.expect("stop");
    let s = c.status("kusto-sink").await.expect("status");
    assert_eq!(s.connector.state, State::Stopped);
    assert!(s.tasks.is_empty());
    c.resume("kusto-sink").await.expect("resume from stop");
    assert_eq!(c.status("kusto-sink").await.expect("status").tasks.len(), 2);

    match c.restart("kusto-sink", true, false).await.expect("restart") {
        RestartOutcome::Accepted(s) => {
            assert_eq!(s.connector.state, State::Restarting);
            assert!(s.tasks.iter().all(|t| t.state == State::Restarting));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.restart("kusto-sink", false, false).await.expect("plain"),
        RestartOutcome::Restarted
    );

    c.delete("kusto-sink").await.expect("delete");
    let e = c.status("kusto-sink").await.expect_err("gone");
    assert!(e.is_not_found(), "{e}");
    assert_eq!(
        e.to_string().split(" [request id").next(),
        Some(
            "Kafka Connect answered HTTP 404 to `GET /connectors/kusto-sink/status`: No status found for connector kusto-sink"
        )
    );
    let e = c
        .delete("kusto-sink")
        .await
        .expect_err("first-attempt 404 is an error");
    assert!(e.is_not_found());
    assert!(c.list_expanded().await.expect("list").is_empty());

    let stats = server.stats();
    assert_eq!(stats.route("GET /connectors"), 2);
    assert_eq!(stats.route("PUT /connectors/{name}/config"), 2);
    assert_eq!(
        stats.route("PUT /connector-plugins/{class}/config/validate"),
        1
    );
    assert_eq!(stats.route("PUT /connectors/{name}/resume"), 2);
    assert_eq!(stats.route("POST /connectors/{name}/restart"), 2);
    assert_eq!(stats.route("DELETE /connectors/{name}"), 2);
    assert_eq!(stats.total, 21);
}

#[tokio::test]
async fn validation_errors_are_reported_per_key_and_nothing_is_written() {
    let server = connect_server().await;
    let c = client(&server);
    let mut bad = sink_config("gameplay", "${env:KUSTO_APPKEY}");
    bad.insert("name".into(), "kusto-sink".into());
    bad.insert(
        "kusto.tables.topics.mapping".into(),
        "[{'topic':'gameplay','db':'db','table':'Game;Play','format':'json'}]".into(),
    );
    bad.insert("behavior.on.error".into(), "explode".into());
    bad.insert("flush.size.bytes".into(), "10".into());
    let report = c.validate(KUSTO_SINK_CLASS, &bad).await.expect("validate");
    assert_eq!(report.error_count, 3);
    let errors: Vec<(&str, Vec<String>)> = report
        .errors()
        .into_iter()
        .map(|(k, e)| (k, e.to_vec()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "kusto.tables.topics.mapping",
                vec!["Invalid value [{'topic':'gameplay','db':'db','table':'Game;Play','format':'json'}] for configuration kusto.tables.topics.mapping: Invalid 'table' value 'Game;Play': must match ^[A-Za-z0-9_.-]+$".to_string()]
            ),
            ("flush.size.bytes", vec!["Invalid value 10 for configuration flush.size.bytes: Value must be at least 100".to_string()]),
            ("behavior.on.error", vec!["Invalid value explode for configuration behavior.on.error: String must be one of (case insensitive): fail, log, ignore".to_string()]),
        ]
    );
    assert_eq!(
        report.password_keys().collect::<Vec<_>>(),
        [
            "aad.auth.appkey",
            "aad.auth.accesstoken",
            "misc.deadletterqueue.sasl.jaas.config"
        ]
    );

    let e = c.put_config("kusto-sink", &bad).await.expect_err("invalid");
    assert_eq!(e.status(), Some(400));
    let text = e.to_string();
    assert!(
        text.contains("Connector configuration is invalid and contains the following 3 error(s)"),
        "{text}"
    );
    assert!(
        text.contains("run `kustoplan plan` to see the validation errors"),
        "{text}"
    );
    assert!(c.list_expanded().await.expect("list").is_empty());
    assert_eq!(
        server.stats().route("PUT /connectors/{name}/config"),
        1,
        "400 is not retried"
    );

    let e = c
        .validate("org.example.NotInstalled", &bad)
        .await
        .expect_err("missing plugin");
    assert_eq!(e.status(), Some(500));
    assert!(e.to_string().contains("install the Kusto sink"), "{e}");
    assert_eq!(
        server
            .stats()
            .route("PUT /connector-plugins/{class}/config/validate"),
        2,
        "a missing plugin is not retried"
    );
}

#[tokio::test]
async fn conflicts_during_a_rebalance_are_retried_then_succeed() {
    let server = connect_server().await;
    let c = client(&server);
    server.set_faults(ConnectFaults {
        conflict_next: 2,
        ..ConnectFaults::default()
    });
    let created = c
        .put_config("kusto-sink", &sink_config("gameplay", "${env:K}"))
        .await
        .expect("created after two 409s");
    assert_eq!(created.action, PutAction::Created);
    assert_eq!(server.stats().route("PUT /connectors/{name}/config"), 3);
    assert_eq!(server.faults().conflict_next, 0);

    server.set_faults(ConnectFaults {
        error_next: 1,
        ..ConnectFaults::default()
    });
    c.pause("kusto-sink").await.expect("paused after a 500");
    assert_eq!(server.stats().route("PUT /connectors/{name}/pause"), 2);

    server.set_faults(ConnectFaults {
        drop_next: 1,
        ..ConnectFaults::default()
    });
    c.resume("kusto-sink")
        .await
        .expect("resumed after a dropped connection");
    assert_eq!(server.stats().route("PUT /connectors/{name}/resume"), 2);

    server.set_faults(ConnectFaults {
        drop_next: 1,
        ..ConnectFaults::default()
    });
    c.delete("kusto-sink")
        .await
        .expect("a retried delete is not retried into a 404");
    assert_eq!(server.stats().route("DELETE /connectors/{name}"), 2);

    server.set_faults(ConnectFaults {
        conflict_next: 100,
        ..ConnectFaults::default()
    });
    let e = c.stop("kusto-sink").await.expect_err("still rebalancing");
    match &e {
        ConnectClientError::Http {
            status,
            error_code,
            attempts,
            message,
            request_id,
            ..
        } => {
            assert_eq!((*status, *error_code, *attempts), (409, Some(409), 3));
            assert!(
                message
                    .starts_with("Cannot complete request momentarily due to stale configuration")
            );
            assert!(
                request_id.starts_with("kustoplan-") && request_id.ends_with(".3"),
                "{request_id}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("still rebalancing after all retries"),
        "{e}"
    );
    assert_eq!(
        server.stats().route("PUT /connectors/{name}/stop"),
        3,
        "bounded attempts"
    );
}

#[tokio::test]
async fn one_expanded_list_request_whatever_the_number_of_connectors() {
    let server = connect_server().await;
    let c = client(&server);
    c.put_config("sink-0", &sink_config("t0", "${env:K}"))
        .await
        .expect("create");
    assert_eq!(c.list_expanded().await.expect("list").len(), 1);
    assert_eq!(server.stats().route("GET /connectors"), 1);
    for i in 1..25 {
        c.put_config(
            &format!("sink-{i}"),
            &sink_config(&format!("t{i}"), "${env:K}"),
        )
        .await
        .expect("create");
    }
    let before = server.stats().total;
    let list = c.list_expanded().await.expect("list");
    assert_eq!(list.len(), 25);
    assert!(
        list.values()
            .all(|e| e.status.tasks.len() == 2 && e.info.tasks.len() == 2)
    );
    assert_eq!(
        server.stats().total - before,
        1,
        "one request for 25 connectors"
    );
    assert_eq!(server.stats().route("GET /connectors"), 2);
}

/// Waiting for many connectors reads all their states in one `GET /connectors?expand=status`
/// per round, not one status request each; a failed task is still reported with its masked
/// trace, and a connector the list lacks is still waited for (and named when time is up).
#[tokio::test]
async fn waiting_for_many_connectors_reads_their_states_in_one_request_per_round() {
    let server = connect_server().await;
    let c = client(&server);
    for i in 0..25 {
        c.put_config(&format!("sink-{i}"), &sink_config(&format!("t{i}"), APPKEY))
            .await
            .expect("create");
    }
    let trace = format!("java.lang.RuntimeException: login as {APPKEY} refused\n\tat Sink.put");
    assert!(
        server
            .sandbox()
            .fail_task("sink-3", 1, &trace)
            .expect("hook")
    );
    let wanted: BTreeMap<String, State> = (0..25)
        .map(|i| (format!("sink-{i}"), State::Running))
        .collect();
    let before = server.stats();
    let missed = converge::wait_for(&c, &wanted, Duration::from_secs(60)).await;
    let after = server.stats();
    assert_eq!(
        after.route("GET /connectors") - before.route("GET /connectors"),
        1
    );
    assert_eq!(
        after.total - before.total,
        1,
        "one request for 25 connectors"
    );
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0].connector, "sink-3");
    assert_eq!(
        missed[0].detail,
        "connector is RUNNING; task 1 FAILED: java.lang.RuntimeException: login as **** refused | \tat Sink.put"
    );

    let wanted: BTreeMap<String, State> = [
        ("sink-0".to_string(), State::Running),
        ("sink-missing".to_string(), State::Running),
    ]
    .into();
    let missed = converge::wait_for(&c, &wanted, Duration::ZERO).await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0].connector, "sink-missing");
    assert_eq!(
        missed[0].detail,
        "not RUNNING after 0s (connector sink-missing is not in GET /connectors yet)"
    );
    assert_eq!(server.stats().route("GET /connectors/{name}/status"), 0);
}

#[tokio::test]
async fn secrets_are_masked_in_debug_errors_traces_and_logs() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = connect_server().await;
    let c = client(&server);
    let mut config = sink_config("gameplay", APPKEY);
    config.insert("misc.deadletterqueue.sasl.jaas.config".into(), format!("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"dlq\" password=\"{JAAS_PASSWORD}\";"));
    c.put_config("kusto-sink", &config).await.expect("create");

    let list = c.list_expanded().await.expect("list");
    let entry = &list["kusto-sink"];
    assert_eq!(
        entry.info.config.get("aad.auth.appkey"),
        Some(APPKEY),
        "raw values stay comparable"
    );
    let debug = format!("{list:?}");
    assert!(
        !debug.contains(APPKEY) && !debug.contains(JAAS_PASSWORD),
        "{debug}"
    );
    assert!(debug.contains("\"aad.auth.appkey\": \"****\""), "{debug}");
    assert!(
        debug.contains("username=\\\"dlq\\\" password=\\\"****\\\""),
        "{debug}"
    );
    assert_eq!(entry.info.config.masked()["aad.auth.appkey"], "****");

    // A task trace quoting the secret (as an AAD error would) comes back masked.
    let trace = format!(
        "org.apache.kafka.connect.errors.ConnectException: AADSTS7000215: Invalid client secret provided: '{APPKEY}'\n\tat com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkTask.start(KustoSinkTask.java:1)\nCaused by: SASL authentication failed for dlq with {JAAS_PASSWORD}"
    );
    assert!(
        server
            .sandbox()
            .fail_task("kusto-sink", 1, &trace)
            .expect("hook")
    );
    let status = c.status("kusto-sink").await.expect("status");
    let failed: Vec<_> = status.failed_tasks().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].trace.as_deref(),
        Some(
            "org.apache.kafka.connect.errors.ConnectException: AADSTS7000215: Invalid client secret provided: '****'\n\tat com.microsoft.azure.kusto.kafka.connect.sink.KustoSinkTask.start(KustoSinkTask.java:1)\nCaused by: SASL authentication failed for dlq with ****"
        )
    );
    match c.restart("kusto-sink", true, true).await.expect("restart") {
        RestartOutcome::Accepted(s) => {
            assert_eq!(s.tasks[1].state, State::Restarting);
            assert!(!format!("{s:?}").contains(APPKEY));
        }
        other => panic!("{other:?}"),
    }

    // Connect quotes the config in some errors; the client masks what it sent.
    let mut no_class = config.clone();
    no_class.remove("connector.class");
    let e = c
        .put_config("kusto-sink", &no_class)
        .await
        .expect_err("no class");
    let (text, debug) = (e.to_string(), format!("{e:?}"));
    assert!(text.contains("contains no connector type"), "{text}");
    assert!(text.contains("aad.auth.appkey=****"), "{text}");
    for shown in [&text, &debug] {
        assert!(
            !shown.contains(APPKEY) && !shown.contains(JAAS_PASSWORD),
            "{shown}"
        );
    }
    // Even a fresh client that never saw the config masks secret-looking pairs.
    let fresh = client(&server);
    let e = fresh
        .put_config("other", &no_class)
        .await
        .expect_err("no class");
    assert!(
        !e.to_string().contains(APPKEY) && !e.to_string().contains(JAAS_PASSWORD),
        "{e}"
    );

    let report = c
        .validate(KUSTO_SINK_CLASS, &config)
        .await
        .expect("validate");
    let appkey = report
        .keys
        .iter()
        .find(|k| k.name == "aad.auth.appkey")
        .expect("key");
    assert_eq!(appkey.value.as_deref(), Some("[hidden]"));
    assert!(!format!("{report:?}").contains(APPKEY));

    let logs = captured.text();
    assert!(
        logs.contains("kustoplan-"),
        "request ids are logged: {logs}"
    );
    assert!(
        !logs.contains(APPKEY) && !logs.contains(JAAS_PASSWORD),
        "{logs}"
    );
}

/// A one-shot raw HTTP server that records the request head and answers 404.
async fn record_one_request() -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind(loopback()).await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"error_code":404,"message":"Connector x not found"}"#;
        let answer = format!(
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await.expect("write");
        String::from_utf8_lossy(&head).to_string()
    });
    (url, task)
}

#[tokio::test]
async fn every_request_carries_a_request_id_and_basic_auth() {
    let (url, task) = record_one_request().await;
    let auth = BasicAuth::new("kustoplan", "s3cret-pw");
    let c = ConnectClient::new(&url, Some(auth), fast()).expect("client");
    assert!(!format!("{c:?}").contains("s3cret-pw"));
    let e = c.connector("x").await.expect_err("404");
    let head = task.await.expect("server").to_ascii_lowercase();
    assert!(head.starts_with("get /connectors/x http/1.1\r\n"), "{head}");
    let id = e.request_id().expect("id").to_ascii_lowercase();
    assert!(head.contains(&format!("x-request-id: {id}\r\n")), "{head}");
    // base64("kustoplan:s3cret-pw")
    assert!(
        head.contains("authorization: basic a3vzdg9wbgfuonmzy3jldc1wdw=="),
        "{head}"
    );
    assert!(!e.to_string().contains("s3cret-pw"));
}

#[tokio::test]
async fn an_unreachable_worker_is_retried_within_bounds() {
    let listener = TcpListener::bind(loopback()).await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let c = ConnectClient::new(&url, None, fast()).expect("client");
    let e = c.list_expanded().await.expect_err("refused");
    match &e {
        ConnectClientError::Transport {
            attempts, request, ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(request, "GET /connectors?expand=status&expand=info");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("Check the Connect URL, that the workers are up"),
        "{e}"
    );
    assert!(
        e.to_string().contains("connection refused"),
        "the error says which network failure: {e}"
    );
}

/// A host name that does not resolve cannot start resolving on a retry: one attempt, and the
/// error says DNS.
#[tokio::test]
async fn an_unresolvable_host_fails_at_once_and_says_dns() {
    let mut options = fast();
    options.retry.max_attempts = 5;
    let c = ConnectClient::new("http://connect.no-such-host.invalid:8083", None, options)
        .expect("client");
    let e = c.list_expanded().await.expect_err("unresolvable");
    match &e {
        ConnectClientError::Transport { attempts, .. } => assert_eq!(*attempts, 1, "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("DNS lookup failed"), "{e}");
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried_within_bounds() {
    let server = connect_server().await;
    let mut options = fast();
    options.request_timeout = Duration::from_millis(150);
    options.retry.max_attempts = 2;
    let c = ConnectClient::new(&server.url(), None, options).expect("client");
    server.set_faults(ConnectFaults {
        latency_ms: 600,
        ..ConnectFaults::default()
    });
    let e = c.list_expanded().await.expect_err("too slow");
    match &e {
        ConnectClientError::Timeout {
            attempts, timeout, ..
        } => {
            assert_eq!((*attempts, *timeout), (2, Duration::from_millis(150)));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert_eq!(server.stats().route("GET /connectors"), 2);
}

#[tokio::test]
async fn faults_and_stats_are_reachable_over_http() {
    let server = connect_server().await;
    let http = reqwest::Client::new();
    let set = http
        .post(format!("{}/sandbox/faults", server.url()))
        .body(r#"{"conflict_next": 1}"#)
        .send()
        .await
        .expect("set faults");
    assert_eq!(set.status().as_u16(), 200);
    let conflict = http
        .get(format!("{}/connectors", server.url()))
        .send()
        .await
        .expect("list");
    assert_eq!(conflict.status().as_u16(), 409);
    let body: serde_json::Value = conflict.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "error_code": 409,
            "message": "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"
        })
    );
    let bad = http
        .post(format!("{}/sandbox/faults", server.url()))
        .body(r#"{"conflicts": 1}"#)
        .send()
        .await
        .expect("bad faults");
    assert_eq!(
        bad.status().as_u16(),
        400,
        "unknown fault names are refused"
    );
    let stats: serde_json::Value = http
        .get(format!("{}/sandbox/stats", server.url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stats,
        serde_json::json!({
            "total": 1,
            "routes": { "GET /connectors": 1 },
            "in_flight": 0,
            "max_in_flight": 1
        })
    );
}

/// The same calls through the in-process sandbox and over HTTP give the same typed answers
/// (apart from the worker id), so observe/apply written against the client work on both.
#[tokio::test]
async fn the_in_process_sandbox_answers_like_its_http_face() {
    let server = connect_server().await;
    let remote = client(&server);
    let local = ConnectClient::local(std::sync::Arc::new(
        kustoplan::sandbox::connect::ConnectSandbox::in_memory(),
    ))
    .expect("local client");
    for c in [&remote, &local] {
        let config = sink_config("gameplay", APPKEY);
        assert_eq!(
            c.put_config("k", &config).await.expect("create").action,
            PutAction::Created
        );
        assert_eq!(
            c.put_config("k", &config).await.expect("update").action,
            PutAction::Updated
        );
        c.pause("k").await.expect("pause");
    }
    let mut a = remote.list_expanded().await.expect("remote");
    let b = local.list_expanded().await.expect("local");
    for entry in a.values_mut() {
        entry.status.connector.worker_id = "kustoplan-sandbox:8083".into();
        for t in &mut entry.status.tasks {
            t.worker_id = "kustoplan-sandbox:8083".into();
        }
    }
    assert_eq!(a, b);
    let e = local.status("missing").await.expect_err("404");
    assert_eq!(e.status(), Some(404));
    assert!(
        e.to_string()
            .contains("No status found for connector missing"),
        "{e}"
    );
    let mut no_class = sink_config("gameplay", APPKEY);
    no_class.remove("connector.class");
    let e = local.put_config("k", &no_class).await.expect_err("400");
    assert!(!format!("{e} {e:?}").contains(APPKEY), "{e}");
}
