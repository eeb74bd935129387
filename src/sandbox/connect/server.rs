//! The Connect sandbox's HTTP face: the Connect REST endpoints kustoplan uses, answered by
//! [`ConnectSandbox::handle`], plus `GET /sandbox/stats` and `GET|POST /sandbox/faults`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tokio::net::TcpListener;

use super::engine::{ConnectError, ConnectSandbox, OpenError};
use super::faults::{ConnectFaults, ConnectStats, Injected, REBALANCE_MESSAGE};
use super::rest::RestRequest;
use crate::sandbox::http::{BodyError, ConnectionKill, ServerLimits, Serving, read_body};

const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How to run the Connect sandbox server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectServeConfig {
    /// Directory holding the persisted state; `None` keeps it in memory.
    pub dir: Option<PathBuf>,
    /// Address to bind; port 0 picks a free port (see [`ConnectServerHandle::addr`]).
    pub listen: SocketAddr,
    /// Timeouts and the connection limit, so no client holds the server.
    pub limits: ServerLimits,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectServeError {
    /// The state could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The startup task failed.
    #[error("Connect sandbox startup failed: {0}")]
    Startup(String),
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
    sandbox: Arc<ConnectSandbox>,
    faults: Mutex<ConnectFaults>,
    stats: Mutex<ConnectStats>,
    body_timeout: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts a request as in flight until it is dropped, whichever way the handler returns.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn start(shared: &Arc<Shared>) -> Self {
        let mut stats = lock(&shared.stats);
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

/// A running Connect sandbox server. Dropping it stops the server too.
pub struct ConnectServerHandle {
    serving: Serving,
    shared: Arc<Shared>,
}

impl ConnectServerHandle {
    /// The bound address (with the real port when 0 was requested).
    pub fn addr(&self) -> SocketAddr {
        self.serving.addr()
    }

    /// `http://ADDR`, the Connect URL clients should use.
    pub fn url(&self) -> String {
        self.serving.url()
    }

    /// The engine behind the server, for in-process inspection and test hooks.
    pub fn sandbox(&self) -> Arc<ConnectSandbox> {
        Arc::clone(&self.shared.sandbox)
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: ConnectFaults) {
        *lock(&self.shared.faults) = faults;
    }

    /// The current fault configuration (counters reflect faults already consumed).
    pub fn faults(&self) -> ConnectFaults {
        lock(&self.shared.faults).clone()
    }

    /// Requests received so far.
    pub fn stats(&self) -> ConnectStats {
        lock(&self.shared.stats).clone()
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        self.serving.stop().await;
    }
}

/// Opens the Connect sandbox (in `config.dir`, or in memory) and serves it on
/// `config.listen`.
pub async fn serve_connect(
    config: ConnectServeConfig,
) -> Result<ConnectServerHandle, ConnectServeError> {
    let sandbox = match config.dir.clone() {
        Some(dir) => tokio::task::spawn_blocking(move || ConnectSandbox::open(&dir))
            .await
            .map_err(|e| ConnectServeError::Startup(e.to_string()))??,
        None => ConnectSandbox::in_memory(),
    };
    let bind_error = |source| ConnectServeError::Bind {
        addr: config.listen,
        source,
    };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    sandbox.set_worker_id(addr.to_string());
    let shared = Arc::new(Shared {
        sandbox: Arc::new(sandbox),
        faults: Mutex::new(ConnectFaults::default()),
        stats: Mutex::new(ConnectStats::default()),
        body_timeout: config.limits.body_timeout,
    });
    let router = Router::new()
        .route("/sandbox/stats", get(stats))
        .route("/sandbox/faults", get(get_faults).post(set_faults))
        .fallback(connect_request)
        .with_state(Arc::clone(&shared));
    Ok(ConnectServerHandle {
        serving: Serving::start(listener, addr, router, config.limits),
        shared,
    })
}

async fn connect_request(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    lock(&shared.stats).count(&method, &path);
    let _in_flight = InFlight::start(&shared);
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    tracing::debug!(method = %method, path = %path, request_id = ?request_id, "Connect sandbox request");
    let latency = lock(&shared.faults).latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let injected = lock(&shared.faults).take();
    match injected {
        Injected::Drop => {
            if let Some(kill) = parts.extensions.get::<ConnectionKill>() {
                kill.fire();
                std::future::pending::<()>().await;
            }
            return answer(Err(ConnectError::new(
                500,
                "connection drop requested outside the server",
            )));
        }
        Injected::Conflict => return answer(Err(ConnectError::new(409, REBALANCE_MESSAGE))),
        Injected::Error => return answer(Err(ConnectError::new(500, "Request timed out"))),
        Injected::None => {}
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = match read_body(body, declared, MAX_BODY_BYTES, shared.body_timeout).await {
        Ok(b) => b,
        Err(e) => {
            let (status, message) = match e {
                BodyError::TimedOut(after) => (
                    408,
                    format!(
                        "The request body did not arrive within {} ms",
                        after.as_millis()
                    ),
                ),
                BodyError::TooLarge(limit) => (
                    413,
                    format!("The request body is larger than {limit} bytes"),
                ),
                BodyError::Read(e) => (400, format!("The request body could not be read: {e}")),
            };
            return answer(Err(ConnectError::new(status, message)));
        }
    };
    let sandbox = Arc::clone(&shared.sandbox);
    let outcome = tokio::task::spawn_blocking(move || {
        sandbox.handle(RestRequest {
            method: &method,
            path: &path,
            query: &query,
            body: &body,
        })
    })
    .await
    .unwrap_or_else(|e| Err(ConnectError::new(500, format!("The request panicked: {e}"))));
    answer(outcome)
}

fn answer(outcome: Result<super::engine::Reply, ConnectError>) -> Response {
    let (status, body) = super::rest::status_and_body(outcome);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        None => status.into_response(),
        Some(value) => json_response(status, &value),
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let bytes = value.to_string().into_bytes();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.stats).clone()).into_response()
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.faults).clone()).into_response()
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ConnectFaults>(&body) {
        Ok(faults) => {
            *lock(&shared.faults) = faults.clone();
            axum::Json(faults).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("invalid faults: {e}")).into_response(),
    }
}
