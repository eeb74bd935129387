//! The sandbox's HTTP face: `POST /v1/rest/mgmt` and `/v1/rest/query` speaking Kusto v1,
//! `POST /v2/rest/query` speaking v2 frames, `POST /v1/rest/ingest/{database}/{table}` for
//! streaming ingestion (plain or `Content-Encoding: gzip` bodies), plus `GET /sandbox/stats`
//! and `GET|POST /sandbox/faults` for tests.
//!
//! The accept loop ([`crate::sandbox::http::accept_loop`]) is hand-rolled so that fault
//! injection can close a single TCP connection mid-request without answering.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::clock;
use super::data::formats;
use super::engine::{
    Caller, Execution, KustoSandbox, Request as EngineRequest, SandboxError, StreamIngest,
};
use super::error::KustoError;
use super::faults::{Faults, Injected, RequestStats};
use super::query::response::{self, Ids as ResponseIds};
use super::queued::sas::StorageAccount;
use super::queued::storage::{Storage, StorageError};
use super::queued::worker::Worker;
use crate::sandbox::http::{BodyError, ConnectionKill, ServerLimits, Serving, read_body};

const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How often the ingestion worker polls an empty queue.
const QUEUE_POLL: Duration = Duration::from_millis(200);

/// Bearer-token authentication: which tokens are accepted and who they are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// Accepted bearer tokens, mapped to the principal FQN they authenticate.
    pub tokens: BTreeMap<String, String>,
    /// Principals that pass every role check (so the first database admin can be added).
    pub cluster_admins: Vec<String>,
}

/// Shows who the tokens authenticate, never the tokens (a logged config must not leak them).
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("tokens", &format_args!("<{} redacted>", self.tokens.len()))
            .field("principals", &self.tokens.values().collect::<Vec<_>>())
            .field("cluster_admins", &self.cluster_admins)
            .finish()
    }
}

/// How to run the sandbox server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Directory holding the persisted state.
    pub dir: PathBuf,
    /// Address to bind; port 0 picks a free port (see [`ServerHandle::addr`]).
    pub listen: SocketAddr,
    /// Databases that exist (added to those remembered in the state file).
    pub databases: Vec<String>,
    /// Require bearer tokens and enforce roles; `None` lets every caller act as cluster admin.
    pub auth: Option<AuthConfig>,
    /// Timeouts and the connection limit, so no client holds the server.
    pub limits: ServerLimits,
    /// Serve queued ingestion through this storage account (blob containers and queues,
    /// e.g. Azurite's): `.get ingestion resources` answers and the ingestion worker runs.
    pub queued: Option<StorageAccount>,
}

impl ServeConfig {
    /// Default database name when none is declared.
    pub const DEFAULT_DATABASE: &'static str = "kustoplan";

    /// A config with the default database and no authentication.
    pub fn new(dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        ServeConfig {
            dir: dir.into(),
            listen,
            databases: vec![Self::DEFAULT_DATABASE.to_string()],
            auth: None,
            limits: ServerLimits::default(),
            queued: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The state could not be opened.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The startup task failed.
    #[error("sandbox startup failed: {0}")]
    Startup(String),
    /// The storage account for queued ingestion could not be prepared.
    #[error("cannot prepare queued ingestion: {0}")]
    Storage(#[from] StorageError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

struct Shared {
    sandbox: Arc<KustoSandbox>,
    faults: Mutex<Faults>,
    stats: Mutex<RequestStats>,
    auth: Option<AuthConfig>,
    body_timeout: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running server. Dropping it stops the server too.
pub struct ServerHandle {
    serving: Serving,
    shared: Arc<Shared>,
    worker: Option<Worker>,
}

impl ServerHandle {
    /// The bound address (with the real port when 0 was requested).
    pub fn addr(&self) -> SocketAddr {
        self.serving.addr()
    }

    /// `http://ADDR`, the cluster URL clients should use.
    pub fn url(&self) -> String {
        self.serving.url()
    }

    /// The engine behind the server, for in-process inspection.
    pub fn sandbox(&self) -> Arc<KustoSandbox> {
        Arc::clone(&self.shared.sandbox)
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// The current fault configuration (counters reflect faults already consumed).
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// Requests received so far, per endpoint.
    pub fn stats(&self) -> RequestStats {
        *lock(&self.shared.stats)
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        if let Some(worker) = self.worker {
            worker.stop().await;
        }
        self.serving.stop().await;
    }
}

/// Opens the sandbox in `config.dir` and serves it on `config.listen`.
pub async fn serve(config: ServeConfig) -> Result<ServerHandle, ServeError> {
    let (dir, databases) = (config.dir.clone(), config.databases.clone());
    let sandbox = tokio::task::spawn_blocking(move || KustoSandbox::open(&dir, &databases))
        .await
        .map_err(|e| ServeError::Startup(e.to_string()))??;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let sandbox = Arc::new(sandbox);
    let worker = match config.queued {
        Some(account) => {
            let storage = Storage::new(account)?;
            Some(Worker::start(Arc::clone(&sandbox), storage, QUEUE_POLL).await?)
        }
        None => None,
    };
    let shared = Arc::new(Shared {
        sandbox,
        faults: Mutex::new(Faults::default()),
        stats: Mutex::new(RequestStats::default()),
        auth: config.auth,
        body_timeout: config.limits.body_timeout,
    });
    let router = Router::new()
        .route("/v1/rest/mgmt", post(mgmt))
        .route("/v1/rest/query", post(query))
        .route("/v2/rest/query", post(query_v2))
        .route("/v1/rest/ingest/{database}/{table}", post(ingest))
        .route("/sandbox/stats", get(stats))
        .route("/sandbox/faults", get(get_faults).post(set_faults))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::clone(&shared));
    Ok(ServerHandle {
        serving: Serving::start(listener, addr, router, config.limits),
        shared,
        worker,
    })
}

#[derive(Deserialize)]
struct RequestBody {
    #[serde(default)]
    db: Option<String>,
    csl: String,
    #[serde(default)]
    properties: Option<Value>,
}

#[derive(Clone, PartialEq, Eq)]
enum Endpoint {
    Mgmt,
    Query,
    QueryV2,
    /// Streaming ingestion into (database, table).
    Ingest(String, String),
}

async fn mgmt(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    kusto_request(shared, Endpoint::Mgmt, req).await
}

async fn query(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    kusto_request(shared, Endpoint::Query, req).await
}

async fn query_v2(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    kusto_request(shared, Endpoint::QueryV2, req).await
}

async fn ingest(
    State(shared): State<Arc<Shared>>,
    Path((database, table)): Path<(String, String)>,
    req: Request,
) -> Response {
    kusto_request(shared, Endpoint::Ingest(database, table), req).await
}

/// Whether request text is a control command (starts with `.` after blanks and `//`
/// comments) rather than a query.
fn is_control_command(csl: &str) -> bool {
    let mut rest = csl;
    loop {
        rest = rest.trim_start();
        match rest.strip_prefix("//") {
            Some(comment) => rest = comment.split_once('\n').map_or("", |(_, r)| r),
            None => return rest.starts_with('.'),
        }
    }
}

/// Decodes `%XX` escapes and `+` in a URL query component.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of URL query parameter `name` (matched without regard to case).
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        percent_decode(k)
            .eq_ignore_ascii_case(name)
            .then(|| percent_decode(v))
    })
}

/// Per-request identifiers echoed in headers and error bodies.
struct Ids {
    client_request_id: String,
    activity_id: String,
}

/// Counts a request as in flight until it is dropped, whichever way the handler returns.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn start(shared: &Arc<Shared>, endpoint: &Endpoint) -> Self {
        let mut stats = lock(&shared.stats);
        match endpoint {
            Endpoint::Mgmt => stats.mgmt += 1,
            Endpoint::Query | Endpoint::QueryV2 => stats.query += 1,
            Endpoint::Ingest(..) => {}
        }
        stats.in_flight += 1;
        stats.max_in_flight = stats.max_in_flight.max(stats.in_flight);
        Self(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut stats = lock(&self.0.stats);
        stats.in_flight = stats.in_flight.saturating_sub(1);
    }
}

impl Ids {
    /// The caller's `x-ms-client-request-id` (or a fresh one) and a fresh activity id.
    fn of(headers: &HeaderMap) -> Self {
        Ids {
            client_request_id: headers
                .get("x-ms-client-request-id")
                .and_then(|v| v.to_str().ok())
                .map_or_else(
                    || format!("KPSandbox;{}", clock::new_guid()),
                    str::to_string,
                ),
            activity_id: clock::new_guid(),
        }
    }
}

async fn kusto_request(shared: Arc<Shared>, endpoint: Endpoint, req: Request) -> Response {
    let _in_flight = InFlight::start(&shared, &endpoint);
    let (parts, body) = req.into_parts();
    let ids = Ids::of(&parts.headers);
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    let latency = lock(&shared.faults).latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let cut = match lock(&shared.faults).take() {
        Injected::Throttle(secs) => {
            let mut resp = error_response(&ids, &KustoError::throttled());
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
        Injected::Unavailable => return error_response(&ids, &KustoError::unavailable()),
        Injected::Run(cut) => cut,
    };
    let Some(caller) = authenticate(&shared, &parts.headers) else {
        return unauthorized(&ids);
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = match read_body(body, declared, MAX_BODY_BYTES, shared.body_timeout).await {
        Ok(b) => b,
        Err(e) => {
            let error = match e {
                BodyError::TimedOut(after) => KustoError::body_timeout(after),
                BodyError::TooLarge(limit) => KustoError::payload_too_large(limit),
                BodyError::Read(e) => {
                    KustoError::bad_request(format!("The request body could not be read: {e}."))
                }
            };
            return error_response(&ids, &error);
        }
    };
    if let Endpoint::Ingest(database, table) = endpoint {
        let gzip = parts
            .headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
        let query = parts.uri.query();
        let format = query_param(query, "streamFormat");
        let mapping = query_param(query, "mappingName");
        let sandbox = Arc::clone(&shared.sandbox);
        let outcome = tokio::task::spawn_blocking(move || {
            let data = formats::decode(&body, gzip)?;
            sandbox.stream_ingest(StreamIngest {
                database: &database,
                table: &table,
                format: format.as_deref(),
                mapping: mapping.as_deref(),
                data: &data,
                caller: &caller,
            })
        })
        .await
        .unwrap_or_else(|e| Err(KustoError::internal(format!("The ingestion panicked: {e}"))));
        return match outcome {
            Ok(result) => json_ok(&ids, &result),
            Err(e) => error_response(&ids, &e),
        };
    }
    let request = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return error_response(&ids, &e),
    };
    let response_ids = |ids: &Ids| -> (String, String) {
        (ids.client_request_id.clone(), ids.activity_id.clone())
    };
    if endpoint != Endpoint::Mgmt && !is_control_command(&request.csl) {
        let sandbox = Arc::clone(&shared.sandbox);
        let database = request.db.clone().unwrap_or_default();
        let outcome =
            tokio::task::spawn_blocking(move || sandbox.query(&database, &request.csl, &caller))
                .await
                .unwrap_or_else(|e| Err(KustoError::internal(format!("The query panicked: {e}"))));
        let (crid, aid) = response_ids(&ids);
        let rids = ResponseIds {
            client_request_id: &crid,
            activity_id: &aid,
        };
        return match (outcome, &endpoint) {
            (Ok(result), Endpoint::QueryV2) => json_ok(&ids, &response::v2(&result, rids)),
            (Ok(result), _) => json_ok(&ids, &response::v1(&result, rids)),
            (Err(e), _) => error_response(&ids, &e),
        };
    }
    let sandbox = Arc::clone(&shared.sandbox);
    let read_only = endpoint != Endpoint::Mgmt;
    let outcome = tokio::task::spawn_blocking(move || {
        sandbox.run(EngineRequest {
            database: request.db.as_deref().unwrap_or(""),
            csl: &request.csl,
            caller: &caller,
            read_only,
            cut_script_after: cut,
        })
    })
    .await
    .unwrap_or_else(|e| Err(KustoError::internal(format!("The command panicked: {e}"))));
    match outcome {
        Ok(Execution::Completed(result)) if endpoint == Endpoint::QueryV2 => {
            let (crid, aid) = response_ids(&ids);
            let rids = ResponseIds {
                client_request_id: &crid,
                activity_id: &aid,
            };
            match result.primary() {
                Some(table) => json_ok(&ids, &response::v2_of_v1(table, rids)),
                None => error_response(&ids, &KustoError::internal("the command had no result")),
            }
        }
        Ok(Execution::Completed(result)) => json_ok(&ids, &result),
        Ok(Execution::ConnectionDropped { .. }) => {
            {
                let mut faults = lock(&shared.faults);
                if faults.drop_script_after == cut {
                    faults.drop_script_after = None;
                }
            }
            if let Some(kill) = kill {
                kill.fire();
                std::future::pending::<()>().await;
            }
            error_response(
                &ids,
                &KustoError::internal("connection drop requested outside the sandbox server"),
            )
        }
        Err(e) => error_response(&ids, &e),
    }
}

/// Validates the JSON body; `properties` may be a JSON string (Python SDK) or an object
/// (Go SDK).
fn parse_body(body: &Bytes) -> Result<RequestBody, KustoError> {
    let parsed: RequestBody = serde_json::from_slice(body).map_err(|e| {
        KustoError::bad_request(format!(
            "The request body is not a valid Kusto request: {e}."
        ))
    })?;
    match &parsed.properties {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(Value::String(s)) => {
            if !matches!(serde_json::from_str::<Value>(s), Ok(Value::Object(_))) {
                return Err(KustoError::bad_request(
                    "The request 'properties' string is not a JSON object.",
                ));
            }
        }
        Some(_) => {
            return Err(KustoError::bad_request(
                "The request 'properties' must be a JSON object or a JSON string.",
            ));
        }
    }
    Ok(parsed)
}

/// The caller a request authenticates as; `None` means 401.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Option<Caller> {
    let Some(auth) = &shared.auth else {
        return Some(Caller::cluster_admin("aaduser=sandbox"));
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)?;
    let principal = auth.tokens.iter().fold(None, |found, (known, principal)| {
        // Every token is compared in full, so the answer time says nothing about the token.
        let equal = same_bytes(known.as_bytes(), token.as_bytes());
        found.or(equal.then_some(principal))
    })?;
    Some(Caller {
        principal: principal.clone(),
        cluster_admin: auth
            .cluster_admins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(principal)),
    })
}

/// 401 in Kusto's error shape, with the `WWW-Authenticate: Bearer` challenge. The token is
/// never echoed.
fn unauthorized(ids: &Ids) -> Response {
    let mut resp = error_response(ids, &KustoError::unauthorized());
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// The 401 answer when tokens are required and `headers` carry none that is accepted; guards
/// the endpoints that have no Kusto caller (stats, faults, unknown paths).
fn refuse_without_token(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    match authenticate(shared, headers) {
        Some(_) => None,
        None => Some(unauthorized(&Ids::of(headers))),
    }
}

async fn not_found(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if let Some(resp) = refuse_without_token(&shared, req.headers()) {
        return resp;
    }
    let error = KustoError::endpoint_not_found(req.method().as_str(), req.uri().path());
    error_response(&Ids::of(req.headers()), &error)
}

async fn method_not_allowed(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if let Some(resp) = refuse_without_token(&shared, req.headers()) {
        return resp;
    }
    let error = KustoError::method_not_allowed(req.method().as_str(), req.uri().path());
    let mut resp = error_response(&Ids::of(req.headers()), &error);
    let allow = match req.uri().path() {
        "/sandbox/stats" => "GET",
        "/sandbox/faults" => "GET, POST",
        _ => "POST",
    };
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

/// Constant-time equality for secrets of public length.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 200 with `value` as the JSON body and the request's ids.
fn json_ok<T: serde::Serialize>(ids: &Ids, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_ids(json_response(StatusCode::OK, bytes), ids),
        Err(e) => error_response(ids, &KustoError::internal(e.to_string())),
    }
}

fn json_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn with_ids(mut resp: Response, ids: &Ids) -> Response {
    for (name, value) in [
        ("x-ms-client-request-id", &ids.client_request_id),
        ("x-ms-activity-id", &ids.activity_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

fn error_response(ids: &Ids, e: &KustoError) -> Response {
    let mut context = Map::new();
    context.insert("timestamp".into(), json!(clock::now()));
    context.insert("serviceAlias".into(), json!("KUSTOPLAN-SANDBOX"));
    context.insert("clientRequestId".into(), json!(ids.client_request_id));
    context.insert("activityId".into(), json!(ids.activity_id));
    context.insert("subActivityId".into(), json!(ids.activity_id));
    context.insert("activityType".into(), json!("DN.AdminCommand.Execute"));
    context.insert("parentActivityId".into(), json!(ids.activity_id));
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = match serde_json::to_vec(&e.to_envelope(context)) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(%err, "cannot serialize a Kusto error envelope");
            br#"{"error":{"code":"Internal service error","message":"The sandbox could not render its error response."}}"#.to_vec()
        }
    };
    with_ids(json_response(status, bytes), ids)
}

async fn stats(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(resp) = refuse_without_token(&shared, &headers) {
        return resp;
    }
    axum::Json(*lock(&shared.stats)).into_response()
}

async fn get_faults(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(resp) = refuse_without_token(&shared, &headers) {
        return resp;
    }
    axum::Json(lock(&shared.faults).clone()).into_response()
}

async fn set_faults(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = refuse_without_token(&shared, &headers) {
        return resp;
    }
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            *lock(&shared.faults) = faults.clone();
            axum::Json(faults).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("invalid faults: {e}")).into_response(),
    }
}
