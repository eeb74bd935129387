//! The Kusto client over real HTTP: against the sandbox on 127.0.0.1:0 (retries, faults,
//! auth) and a scripted raw server (exact headers and bodies, answers the sandbox cannot
//! give). Timing assertions are lower bounds only.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kustoplan::kusto::v1::ServiceError;
use kustoplan::providers::kusto::{
    ClientOptions, Idempotency, KustoClient, KustoClientError, RetryPolicy, TokenError, TokenSource,
};
use kustoplan::sandbox::kusto::{AuthConfig, Faults, ServeConfig, ServerHandle, serve};
use serde_json::{Value, json};
use support::{
    Canned, Captured, CountingCredential, DB, FailingCredential, GenericScopeOnlyCredential,
    RawServer, fast, loopback, sandbox,
};

fn client(url: &str, options: ClientOptions) -> KustoClient {
    KustoClient::new(url, TokenSource::none(), options).expect("client")
}

/// Management and query requests the sandbox received.
fn requests(server: &ServerHandle) -> (u64, u64) {
    let stats = server.stats();
    (stats.mgmt, stats.query)
}

fn structured(e: &ServiceError) -> &kustoplan::kusto::v1::ErrorBody {
    match e {
        ServiceError::Structured(b) => b,
        ServiceError::Text(t) => panic!("expected a JSON error body, got text: {t}"),
    }
}

const V1_OK: &str = r#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"N","DataType":"Int32","ColumnType":"int"}],"Rows":[[1]]}]}"#;

#[tokio::test]
async fn sends_the_documented_request_shape_and_headers() {
    let server = RawServer::start(vec![Canned::json(200, V1_OK)]).await;
    let c = client(&format!("{}/", server.url), fast());
    let r = c
        .mgmt("MyDb", ".show version", Idempotency::Safe)
        .await
        .expect("ok");
    assert_eq!(
        r.primary().expect("table").column_values("N").expect("N"),
        [&json!(1)]
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.request_line, "POST /v1/rest/mgmt HTTP/1.1");
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(
        req.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(req.header("x-ms-app"), Some("kustoplan"));
    let version = format!("kustoplan/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(req.header("x-ms-client-version"), Some(version.as_str()));
    assert_eq!(req.header("user-agent"), Some(version.as_str()));
    assert_eq!(req.header("authorization"), None);
    let id = req.header("x-ms-client-request-id").expect("request id");
    let uuid = id.strip_prefix("kustoplan;").expect("prefix");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{id}");
    let body: Value = serde_json::from_str(&req.body).expect("json body");
    assert_eq!(
        body,
        json!({"db": "MyDb", "csl": ".show version", "properties": {"Options": {"servertimeout": "00:00:04"}}})
    );
}

#[tokio::test]
async fn runs_commands_against_the_sandbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    let c = client(&server.url(), fast());
    c.mgmt(
        DB,
        ".create table GamePlay (a:int, b:string)",
        Idempotency::Unsafe,
    )
    .await
    .expect("create");
    let tables = c
        .mgmt(DB, ".show tables", Idempotency::Safe)
        .await
        .expect("show");
    assert_eq!(
        tables
            .primary()
            .expect("table")
            .column_values("TableName")
            .expect("TableName"),
        [&json!("GamePlay")]
    );
    assert_eq!(requests(&server), (2, 0));
}

#[tokio::test]
async fn queries_go_to_the_query_endpoint_and_return_v1_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    let c = client(&server.url(), fast());
    c.mgmt(DB, ".create table T (a:int)", Idempotency::Unsafe)
        .await
        .expect("create");
    let last = "T | summarize LastIngestion = max(ingestion_time())";
    let empty = c.query(DB, last).await.expect("query");
    assert_eq!(
        empty
            .primary()
            .expect("table")
            .column_values("LastIngestion")
            .expect("column"),
        [&Value::Null],
        "an empty table has no last ingestion"
    );
    c.mgmt(
        DB,
        ".ingest inline into table T <|\n1\n2",
        Idempotency::Unsafe,
    )
    .await
    .expect("ingest");
    let count = c.query(DB, "T | count").await.expect("count");
    assert_eq!(
        count
            .primary()
            .expect("table")
            .column_values("Count")
            .expect("Count"),
        [&json!(2)]
    );
    let missing = c.query(DB, "Missing | count").await.expect_err("missing");
    assert!(
        missing
            .to_string()
            .contains("Failed to resolve table expression named 'Missing'"),
        "{missing}"
    );
    assert_eq!(requests(&server), (2, 3));
}

#[tokio::test]
async fn throttled_429_waits_at_least_retry_after_then_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        throttle_next: 1,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let c = client(&server.url(), fast());
    let started = Instant::now();
    c.mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect("ok after throttling");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server), (2, 0));
}

#[tokio::test]
async fn throttled_429_is_retried_even_for_unsafe_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        throttle_next: 1,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let c = client(&server.url(), fast());
    c.mgmt(DB, ".create table T (a:int)", Idempotency::Unsafe)
        .await
        .expect("ok after throttling");
    assert_eq!(requests(&server), (2, 0));
    assert!(
        server.sandbox().state().databases[DB]
            .tables
            .contains_key("T")
    );
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let started = Instant::now();
    let at = std::time::SystemTime::now() + Duration::from_secs(3);
    let server = RawServer::start(vec![
        Canned {
            status: 429,
            headers: vec![("retry-after", httpdate::fmt_http_date(at))],
            body:
                r#"{"error":{"code":"TooManyRequests","message":"throttled","@permanent":false}}"#
                    .into(),
        },
        Canned::json(200, V1_OK),
    ])
    .await;
    let c = client(&server.url, fast());
    c.mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect("ok");
    // HTTP-dates have whole-second precision, so the date names a moment at least 2 s away.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let first = reqs[0].header("x-ms-client-request-id").expect("id");
    let second = reqs[1].header("x-ms-client-request-id").expect("id");
    assert_eq!(
        second,
        format!("{first};2"),
        "same id with an attempt suffix"
    );
}

#[tokio::test]
async fn unavailable_503_then_success() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        unavailable_next: 2,
        ..Faults::default()
    });
    let c = client(&server.url(), fast());
    let r = c
        .mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect("ok on the third attempt");
    assert_eq!(r.primary().expect("table").value_rows().count(), 1);
    assert_eq!(requests(&server), (3, 0));
}

#[tokio::test]
async fn retries_exhausted_reports_the_service_error_and_request_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        unavailable_next: 10,
        ..Faults::default()
    });
    let c = client(&server.url(), fast());
    let err = c
        .mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect_err("always unavailable");
    assert_eq!(requests(&server), (3, 0));
    let KustoClientError::Http {
        status,
        error,
        request_id,
        activity_id,
        command,
        attempts,
    } = &err
    else {
        panic!("expected an HTTP error, got {err:?}");
    };
    assert_eq!((*status, *attempts), (503, 3));
    assert_eq!(command, ".show version");
    let body = structured(error);
    assert_eq!(body.code, "ServiceUnavailable");
    assert_eq!(
        body.exception_type.as_deref(),
        Some("Kusto.Common.Svc.Exceptions.ServiceUnavailableException")
    );
    assert_eq!(body.permanent, Some(false));
    assert!(request_id.starts_with("kustoplan;") && request_id.ends_with(";3"));
    // The service saw the same id: it is what support will search for.
    assert_eq!(body.extra["@context"]["clientRequestId"], json!(request_id));
    let activity = activity_id.as_deref().expect("activity id header");
    assert_eq!(body.extra["@context"]["activityId"], json!(activity));
    assert_eq!(
        err.to_string(),
        format!(
            "Kusto answered HTTP 503 (ServiceUnavailable) to `.show version`: The service is \
             temporarily unavailable. Retrying after some backoff might succeed. [request id \
             {request_id}, activity id {activity}, 3 attempt(s)]. The cluster is unavailable or \
             failing: retry later; if it persists, contact support with the request id."
        )
    );
}

#[tokio::test]
async fn syntax_error_400_is_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    let c = client(&server.url(), fast());
    let err = c
        .mgmt(DB, ".create tabel T (a:int)", Idempotency::Safe)
        .await
        .expect_err("syntax error");
    assert_eq!(requests(&server), (1, 0));
    let KustoClientError::Http {
        status,
        error,
        attempts,
        ..
    } = &err
    else {
        panic!("expected HTTP error, got {err:?}");
    };
    assert_eq!((*status, *attempts), (400, 1));
    let body = structured(error);
    assert_eq!(body.code, "BadRequest");
    assert_eq!(
        body.exception_type.as_deref(),
        Some("Kusto.Data.Exceptions.SyntaxException")
    );
    assert_eq!(
        error.detail(),
        "Syntax error: SYN0002: expected one of 'table', 'database' but found 'tabel' [line:position=1:8]"
    );
    assert!(err.to_string().contains("this is a kustoplan bug"));
}

#[tokio::test]
async fn server_error_500_is_not_retried_for_unsafe_requests() {
    let body = r#"{"error":{"code":"InternalServiceError","message":"boom","@permanent":false}}"#;
    let server = RawServer::start(vec![Canned::json(500, body), Canned::json(200, V1_OK)]).await;
    let c = client(&server.url, fast());
    let err = c
        .mgmt(DB, ".create table T (a:int)", Idempotency::Unsafe)
        .await
        .expect_err("500");
    assert_eq!(err.status(), Some(500));
    assert_eq!(server.requests().len(), 1);
    // ... but a read is retried.
    let server = RawServer::start(vec![Canned::json(500, body), Canned::json(200, V1_OK)]).await;
    let c = client(&server.url, fast());
    c.mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect("retried");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn dropped_connection_mid_script_is_outcome_unknown_for_unsafe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        drop_script_after: Some(1),
        ..Faults::default()
    });
    let c = client(&server.url(), fast());
    let script = ".execute database script with (ContinueOnErrors=false) <|\n.create table A (x:int)\n.create table B (x:int)";
    let err = c
        .mgmt(DB, script, Idempotency::Unsafe)
        .await
        .expect_err("response lost");
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(requests(&server), (1, 0), "never retried");
    let tables: Vec<String> = server.sandbox().state().databases[DB]
        .tables
        .keys()
        .cloned()
        .collect();
    assert_eq!(tables, ["A"], "the first command ran before the drop");
    let KustoClientError::OutcomeUnknown {
        request_id,
        command,
        reason,
    } = &err
    else {
        unreachable!()
    };
    assert!(request_id.starts_with("kustoplan;"));
    assert_eq!(
        command,
        ".execute database script with (ContinueOnErrors=false) <|"
    );
    assert!(
        reason.starts_with("the connection closed without a complete response"),
        "{reason}"
    );
    let text = err.to_string();
    assert!(
        text.contains("Run `kustoplan plan` to observe the cluster"),
        "{text}"
    );
    assert!(text.contains(request_id.as_str()));
}

#[tokio::test]
async fn dropped_connection_is_retried_for_safe_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        drop_script_after: Some(0),
        ..Faults::default()
    });
    let c = client(&server.url(), fast());
    c.mgmt(
        DB,
        ".execute database script <|\n.create table A (x:int)",
        Idempotency::Safe,
    )
    .await
    .expect("retried after the connection closed");
    assert_eq!(requests(&server), (2, 0));
}

#[tokio::test]
async fn timeout_on_added_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sandbox(dir.path()).await;
    server.set_faults(Faults {
        latency_ms: 2_000,
        ..Faults::default()
    });
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: 2,
            ..fast().retry
        },
        ..fast()
    };
    let c = client(&server.url(), options);
    let started = Instant::now();
    let err = c
        .mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect_err("timeout");
    assert!(started.elapsed() >= Duration::from_millis(600));
    let KustoClientError::Timeout {
        timeout, attempts, ..
    } = &err
    else {
        panic!("expected timeout, got {err:?}");
    };
    assert_eq!((*timeout, *attempts), (Duration::from_millis(300), 2));
    assert_eq!(requests(&server), (2, 0));
    assert!(err.to_string().contains("within 0.3s"), "{err}");

    let err = c
        .mgmt(DB, ".create table T (a:int)", Idempotency::Unsafe)
        .await
        .expect_err("timeout");
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(requests(&server), (3, 0), "unsafe timeouts are not retried");
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind(loopback()).expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let c = client(&url, fast());
    let err = c
        .mgmt(DB, ".create table T (a:int)", Idempotency::Unsafe)
        .await
        .expect_err("refused");
    let KustoClientError::Transport {
        attempts, message, ..
    } = &err
    else {
        panic!("expected transport error, got {err:?}");
    };
    assert_eq!(
        *attempts, 3,
        "the request never reached the service: safe to retry"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(err.to_string().contains("Check the cluster URL"), "{err}");
}

/// A cluster name that does not resolve (a typo in the URL) fails at once, saying DNS,
/// instead of after a minute of retries.
#[tokio::test]
async fn an_unresolvable_cluster_fails_at_once_and_says_dns() {
    let mut options = fast();
    options.retry.max_attempts = 5;
    let c = client("http://mycluster.no-such-region.invalid", options);
    let err = c
        .mgmt(DB, ".show tables", Idempotency::Safe)
        .await
        .expect_err("unresolvable");
    let KustoClientError::Transport { attempts, .. } = &err else {
        panic!("expected transport error, got {err:?}");
    };
    assert_eq!(*attempts, 1, "{err}");
    assert!(err.to_string().contains("DNS lookup failed"), "{err}");
}

#[tokio::test]
async fn partial_failure_rows_in_a_200_are_an_error() {
    let body = r#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"a","DataType":"Int32"}],"Rows":[[1],{"Exceptions":["Query execution has exceeded the allowed limits"]}]}]}"#;
    let server = RawServer::start(vec![Canned::json(200, body)]).await;
    let c = client(&server.url, fast());
    let err = c
        .mgmt(DB, ".show tables", Idempotency::Safe)
        .await
        .expect_err("partial failure");
    let KustoClientError::PartialFailure { exceptions, .. } = &err else {
        panic!("expected partial failure, got {err:?}");
    };
    assert_eq!(
        exceptions,
        &["Query execution has exceeded the allowed limits".to_string()]
    );
    assert_eq!(server.requests().len(), 1);
}

/// Observe reads its four bulk answers row by row from the body, not through the client's
/// whole-response check: a partial failure in one of them, or a body that is not a v1
/// response, still fails the read with the client's wording and request id, and is not retried.
#[tokio::test]
async fn bulk_reads_read_row_by_row_still_refuse_partial_failures_and_bad_bodies() {
    use kustoplan::model::kusto::{DatabaseState, KustoState};
    use kustoplan::providers::kusto::observe::observe;
    use kustoplan::providers::kusto::transport::KustoTransport;

    let partial = r#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"a","DataType":"Int32"}],"Rows":[[1]]}],"Exceptions":["Query execution has exceeded the allowed limits"]}"#;
    let desired = KustoState {
        databases: BTreeMap::from([(
            DB.to_string(),
            DatabaseState {
                name: DB.to_string(),
                ..DatabaseState::default()
            },
        )]),
    };
    for (body, says) in [
        (
            partial,
            "failed part-way: Query execution has exceeded the allowed limits",
        ),
        (
            r#"{"Tables":[{"TableName":"Table_0","Rows":[]}]}"#,
            "is not a v1 response: missing field `Columns`",
        ),
    ] {
        let server = RawServer::start((0..4).map(|_| Canned::json(200, body)).collect()).await;
        let transport = Arc::new(KustoTransport::http(client(&server.url, fast())));
        let err = observe(&transport, &desired)
            .await
            .expect_err("a failed read");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot read database `{DB}`: ")),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
        assert!(message.contains("[request id kustoplan;"), "{message}");
        assert_eq!(server.requests().len(), 4, "four reads, none retried");
    }
}

fn auth_config() -> AuthConfig {
    AuthConfig {
        tokens: BTreeMap::from([
            ("token-1".to_string(), "aadapp=app1;contoso.com".to_string()),
            ("token-2".to_string(), "aadapp=app1;contoso.com".to_string()),
        ]),
        cluster_admins: vec!["aadapp=app1;contoso.com".into()],
    }
}

#[tokio::test]
async fn bearer_token_is_sent_and_accepted_and_401_without() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(ServeConfig {
        auth: Some(auth_config()),
        ..ServeConfig::new(dir.path(), loopback())
    })
    .await
    .expect("serve");
    let anonymous = client(&server.url(), fast());
    let err = anonymous
        .mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(requests(&server), (1, 0), "401 is not retried");
    assert!(err.to_string().contains("check kusto.auth"), "{err}");

    let credential = CountingCredential::new(0);
    let tokens = TokenSource::from_credential("test", credential.clone(), &server.url());
    let c = KustoClient::new(&server.url(), tokens, fast()).expect("client");
    c.mgmt(DB, ".create table T (a:int)", Idempotency::Unsafe)
        .await
        .expect("authorised");
    assert_eq!(
        *credential.scopes.lock().expect("lock"),
        [format!("{}/.default", server.url())]
    );
}

#[tokio::test]
async fn token_is_fetched_once_for_concurrent_calls_and_refreshed_near_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(ServeConfig {
        auth: Some(auth_config()),
        ..ServeConfig::new(dir.path(), loopback())
    })
    .await
    .expect("serve");
    // Fresh tokens: five concurrent calls share one fetch.
    let credential = CountingCredential::new(0);
    let tokens = TokenSource::from_credential("test", credential.clone(), &server.url());
    let c = KustoClient::new(&server.url(), tokens, fast()).expect("client");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let c = c.clone();
        calls.spawn(async move { c.mgmt(DB, ".show version", Idempotency::Safe).await });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("join").expect("ok");
    }
    c.mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect("ok");
    assert_eq!(credential.calls(), 1);
    assert_eq!(requests(&server), (6, 0));

    // A token expiring within the refresh margin is replaced before the next request.
    let credential = CountingCredential::new(1);
    let tokens = TokenSource::from_credential("test", credential.clone(), &server.url());
    let c = KustoClient::new(&server.url(), tokens, fast()).expect("client");
    for expected in [1, 2, 2, 2] {
        c.mgmt(DB, ".show version", Idempotency::Safe)
            .await
            .expect("ok");
        assert_eq!(credential.calls(), expected);
    }
}

#[tokio::test]
async fn falls_back_to_the_generic_kusto_scope_when_aad_does_not_know_the_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(ServeConfig {
        auth: Some(auth_config()),
        ..ServeConfig::new(dir.path(), loopback())
    })
    .await
    .expect("serve");
    let credential = Arc::new(GenericScopeOnlyCredential::default());
    let tokens = TokenSource::from_credential("test", credential.clone(), &server.url());
    let c = KustoClient::new(&server.url(), tokens, fast()).expect("client");
    for _ in 0..2 {
        c.mgmt(DB, ".show version", Idempotency::Safe)
            .await
            .expect("authorised with the generic scope");
    }
    let cluster_scope = format!("{}/.default", server.url());
    let generic = kustoplan::providers::kusto::auth::KUSTO_DEFAULT_SCOPE.to_string();
    // The fallback is remembered: the refresh goes straight to the scope that worked.
    assert_eq!(
        *credential.scopes.lock().expect("lock"),
        [cluster_scope, generic.clone(), generic]
    );
}

#[tokio::test]
async fn token_errors_are_reported_without_sending_and_redacted() {
    let server = RawServer::start(vec![]).await;
    let tokens = TokenSource::from_credential("test", Arc::new(FailingCredential), &server.url);
    let c = KustoClient::new(&server.url, tokens, fast()).expect("client");
    let err = c
        .mgmt(DB, ".show version", Idempotency::Safe)
        .await
        .expect_err("no token");
    assert!(
        matches!(err, KustoClientError::Token(TokenError::Fetch { .. })),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 0);
    let text = format!("{err} {err:?}");
    assert!(!text.contains("eyJ"), "{text}");
    assert!(text.contains("AADSTS7000215"), "{text}");
}

#[test]
fn secrets_never_reach_logs_or_errors() {
    let captured = Captured::default();
    let _guard = captured.install();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = serve(ServeConfig {
            auth: Some(auth_config()),
            ..ServeConfig::new(dir.path(), loopback())
        })
        .await
        .expect("serve");
        let credential = CountingCredential::new(0);
        let tokens = TokenSource::from_credential("test", credential.clone(), &server.url());
        let c = KustoClient::new(&server.url(), tokens.clone(), fast()).expect("client");
        server.set_faults(Faults {
            unavailable_next: 1,
            ..Faults::default()
        });
        c.mgmt(DB, ".show version", Idempotency::Safe)
            .await
            .expect("ok after one retry");
        let mut errors = Vec::new();
        errors.push(
            c.mgmt(DB, ".create tabel X (a:int)", Idempotency::Unsafe)
                .await
                .expect_err("syntax"),
        );
        server.set_faults(Faults {
            drop_script_after: Some(0),
            ..Faults::default()
        });
        errors.push(
            c.mgmt(
                DB,
                ".execute database script <|\n.create table A (x:int)",
                Idempotency::Unsafe,
            )
            .await
            .expect_err("lost"),
        );
        let mut everything = captured.text();
        for e in &errors {
            everything.push_str(&format!("{e}\n{e:?}\n"));
        }
        everything.push_str(&format!("{tokens:?}\n{c:?}\n"));
        assert!(!everything.contains("token-1"), "{everything}");
        assert!(
            !everything.to_lowercase().contains("bearer "),
            "{everything}"
        );
        // The logs do carry what an operator needs.
        let logs = captured.text();
        assert!(logs.contains("sending Kusto management command"), "{logs}");
        assert!(logs.contains("retrying Kusto command"), "{logs}");
        assert!(logs.contains("request_id=kustoplan;"), "{logs}");
        assert!(logs.contains("command=.show version"), "{logs}");
        assert!(logs.contains("fetched AAD token"), "{logs}");
        assert!(logs.contains("wait_ms="), "{logs}");
    });
}
