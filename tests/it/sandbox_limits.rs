//! The Kusto sandbox server holds up against clients that misbehave: silent or half-sent
//! requests are dropped after the configured timeouts, connections are bounded, unknown
//! endpoints and methods get Kusto's error shape, and Kusto's 10,000-column limit holds.
//! Spoken to over real TCP (raw sockets where a well-behaved client cannot misbehave).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use kustoplan::sandbox::http::ServerLimits;
use kustoplan::sandbox::kusto::{ServeConfig, ServerHandle, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound for "the server closes it": far above the configured 200 ms, so a slow
/// machine cannot fail the test, while a server that never closes does.
const CLOSED_WITHIN: Duration = Duration::from_secs(20);

async fn start(dir: &Path, limits: ServerLimits) -> ServerHandle {
    let config = ServeConfig {
        limits,
        ..ServeConfig::new(dir, SocketAddr::from(([127, 0, 0, 1], 0)))
    };
    serve(config).await.expect("serve")
}

fn short(limits: ServerLimits) -> ServerLimits {
    ServerLimits {
        header_read_timeout: Duration::from_millis(200),
        body_timeout: Duration::from_millis(200),
        ..limits
    }
}

/// Reads until the server closes the connection; everything it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(CLOSED_WITHIN, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open; it sent {:?}",
        String::from_utf8_lossy(&seen)
    );
    seen
}

/// Splits a raw HTTP response into status, lower-cased headers and the JSON body.
fn parse(raw: &[u8]) -> (u16, Vec<(String, String)>, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (
        status,
        headers,
        serde_json::from_str(body).expect("JSON body"),
    )
}

/// The error object without `@context` (timestamps and activity ids vary).
fn error_of(body: &Value) -> Value {
    let mut error = body["error"].clone();
    if let Some(map) = error.as_object_mut() {
        map.remove("@context");
    }
    error
}

#[tokio::test]
async fn a_silent_or_half_sent_header_is_dropped_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), short(ServerLimits::default())).await;

    let mut silent = TcpStream::connect(server.addr()).await.expect("connect");
    until_closed(&mut silent).await;

    let mut half = TcpStream::connect(server.addr()).await.expect("connect");
    half.write_all(b"POST /v1/rest/mgmt HTTP/1.1\r\nHost: sandbox\r\nContent-Ty")
        .await
        .expect("write");
    until_closed(&mut half).await;

    // An idle keep-alive connection after a full request is dropped too.
    let mut idle = TcpStream::connect(server.addr()).await.expect("connect");
    idle.write_all(b"GET /sandbox/stats HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        .await
        .expect("write");
    let answered = until_closed(&mut idle).await;
    assert!(
        answered.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&answered)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_half_sent_body_gets_408_in_kustos_error_shape_and_the_connection_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), short(ServerLimits::default())).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(
            b"POST /v1/rest/mgmt HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n\
              x-ms-client-request-id: slow;1\r\nContent-Length: 100\r\n\r\n{\"db\": \"kus",
        )
        .await
        .expect("write");
    let raw = until_closed(&mut stream).await;
    let (status, headers, body) = parse(&raw);
    assert_eq!(status, 408);
    assert!(
        headers.contains(&(
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string()
        )),
        "{headers:?}"
    );
    assert_eq!(
        error_of(&body),
        json!({
            "code": "RequestTimeout",
            "message": "The request body was not received in time.",
            "@type": "Kusto.Data.Exceptions.KustoRequestException",
            "@message": "The request body did not arrive within 200 ms.",
            "@permanent": false,
        })
    );
    assert_eq!(body["error"]["@context"]["clientRequestId"], "slow;1");
    assert_eq!(server.stats().in_flight, 0, "nothing is held for it");
    server.shutdown().await;
}

#[tokio::test]
async fn a_declared_body_over_the_limit_gets_413_before_it_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), ServerLimits::default()).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(
            b"POST /v1/rest/mgmt HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 17000000\r\n\r\n",
        )
        .await
        .expect("write");
    let raw = until_closed(&mut stream).await;
    let (status, _, body) = parse(&raw);
    assert_eq!(status, 413);
    assert_eq!(
        error_of(&body),
        json!({
            "code": "PayloadTooLarge",
            "message": "Request payload exceeded limits.",
            "@type": "Kusto.Data.Exceptions.KustoRequestException",
            "@message": "The request body is larger than 16777216 bytes.",
            "@permanent": true,
        })
    );
    server.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = ServerLimits {
        max_connections: 2,
        ..ServerLimits::default()
    };
    let server = start(dir.path(), limits).await;
    let url = format!("{}/sandbox/stats", server.url());
    let first = TcpStream::connect(server.addr()).await.expect("connect 1");
    let second = TcpStream::connect(server.addr()).await.expect("connect 2");

    // Two idle connections hold both slots: a third client is not served...
    let client = reqwest::Client::new();
    let waiting = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served beyond the connection limit");

    // ...until one of them goes away.
    drop(first);
    let reply = tokio::time::timeout(CLOSED_WITHIN, waiting)
        .await
        .expect("served once a slot is free")
        .expect("join")
        .expect("request");
    assert_eq!(reply.status(), 200);
    drop(second);
    server.shutdown().await;
}

/// A silent client holds its connection slot only until the header timeout: with one slot,
/// the next client is served once the server has dropped the silent one.
#[tokio::test]
async fn a_silent_client_gives_its_slot_back_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = short(ServerLimits {
        max_connections: 1,
        ..ServerLimits::default()
    });
    let server = start(dir.path(), limits).await;
    let _silent = TcpStream::connect(server.addr()).await.expect("connect");
    let reply = tokio::time::timeout(
        CLOSED_WITHIN,
        reqwest::get(format!("{}/sandbox/stats", server.url())),
    )
    .await
    .expect("served once the silent client was dropped")
    .expect("request");
    assert_eq!(reply.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_kustos_error_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), ServerLimits::default()).await;
    let client = reqwest::Client::new();

    let missing = client
        .post(format!("{}/v1/rest/nope", server.url()))
        .header("x-ms-client-request-id", "kp-test;404")
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-ms-client-request-id"], "kp-test;404");
    let body: Value = missing.json().await.expect("json");
    assert_eq!(
        error_of(&body),
        json!({
            "code": "NotFound",
            "message": "Request references a non-existing entity.",
            "@type": "Kusto.Data.Exceptions.KustoRequestException",
            "@message": "There is no endpoint 'POST /v1/rest/nope'; the service answers POST /v1/rest/mgmt, /v1/rest/query, /v2/rest/query and /v1/rest/ingest/DATABASE/TABLE.",
            "@permanent": true,
        })
    );
    assert_eq!(body["error"]["@context"]["clientRequestId"], "kp-test;404");

    let wrong = client
        .get(format!("{}/v1/rest/mgmt", server.url()))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "POST");
    let stats = client
        .delete(format!("{}/sandbox/stats", server.url()))
        .send()
        .await
        .expect("request");
    assert_eq!(
        (
            stats.status().as_u16(),
            stats.headers()["allow"].to_str().ok()
        ),
        (405, Some("GET"))
    );
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(
        error_of(&body),
        json!({
            "code": "MethodNotAllowed",
            "message": "The HTTP method is not allowed for this endpoint.",
            "@type": "Kusto.Data.Exceptions.KustoRequestException",
            "@message": "Method 'GET' is not allowed on '/v1/rest/mgmt'.",
            "@permanent": true,
        })
    );
    server.shutdown().await;
}

async fn mgmt(server: &ServerHandle, csl: &str) -> (u16, Value) {
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/rest/mgmt", server.url()))
        .json(&json!({"db": "kustoplan", "csl": csl}))
        .send()
        .await
        .expect("request");
    let status = reply.status().as_u16();
    (status, reply.json().await.expect("json"))
}

fn columns(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| format!("c{i}:int"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn a_table_has_at_most_10000_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), ServerLimits::default()).await;
    let too_many = |table: &str, count: usize| {
        json!({
            "code": "BadRequest",
            "message": "Request is invalid and cannot be executed.",
            "@type": "Kusto.Data.Exceptions.KustoBadRequestException",
            "@message": format!("Table '{table}' would have {count} columns; a table has at most 10000 columns."),
            "@permanent": true,
        })
    };

    let (status, body) = mgmt(
        &server,
        &format!(".create table Wide ({})", columns(0, 10_001)),
    )
    .await;
    assert_eq!((status, error_of(&body)), (400, too_many("Wide", 10_001)));
    assert!(
        !server.sandbox().state().databases["kustoplan"]
            .tables
            .contains_key("Wide")
    );

    let (status, _) = mgmt(
        &server,
        &format!(".create table Wide ({})", columns(0, 10_000)),
    )
    .await;
    assert_eq!(status, 200);
    for csl in [
        ".alter-merge table Wide (extra:string)".to_string(),
        ".create-merge table Wide (extra:string)".to_string(),
        format!(".alter table Wide ({}, extra:string)", columns(0, 10_000)),
    ] {
        let (status, body) = mgmt(&server, &csl).await;
        assert_eq!(
            (status, error_of(&body)),
            (400, too_many("Wide", 10_001)),
            "{}",
            &csl[..40]
        );
    }
    let script = ".execute database script <|\n.create table Small (a:int)\n.alter-merge table Wide (extra:string)";
    let (status, body) = mgmt(&server, script).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Tables"][0]["Rows"][1][3], "Failed");
    let state = server.sandbox().state();
    assert_eq!(
        state.databases["kustoplan"].tables["Wide"].columns.len(),
        10_000,
        "refused changes leave the table as it was"
    );
    // `.create table` on an existing table changes nothing, so it is not refused.
    let (status, _) = mgmt(
        &server,
        &format!(".create table Wide ({})", columns(0, 10_001)),
    )
    .await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

/// The Connect stand-in shares the limits: a silent client is dropped, a half-sent body gets
/// 408 in Connect's error shape.
#[tokio::test]
async fn the_connect_stand_in_drops_silent_clients_and_answers_a_half_sent_body_with_408() {
    use kustoplan::sandbox::connect::{ConnectServeConfig, serve_connect};
    let server = serve_connect(ConnectServeConfig {
        dir: None,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        limits: short(ServerLimits::default()),
    })
    .await
    .expect("serve");
    let mut silent = TcpStream::connect(server.addr()).await.expect("connect");
    until_closed(&mut silent).await;

    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(
            b"PUT /connectors/sink/config HTTP/1.1\r\nHost: connect\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"connector.cl",
        )
        .await
        .expect("write");
    let raw = until_closed(&mut stream).await;
    let (status, _, body) = parse(&raw);
    assert_eq!(status, 408);
    assert_eq!(
        body,
        json!({"error_code": 408, "message": "The request body did not arrive within 200 ms"})
    );
    assert!(server.sandbox().state().connectors.is_empty());
    server.shutdown().await;
}
