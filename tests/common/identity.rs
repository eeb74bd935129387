//! A loopback fake of Azure App Service's managed identity endpoint, the protocol
//! azure_identity's `ManagedIdentityCredential` speaks when `IDENTITY_ENDPOINT` and
//! `IDENTITY_HEADER` are set (plain http allowed): `GET ?api-version=2019-08-01&resource=R
//! [&client_id=C]` with header `X-IDENTITY-HEADER`, answered with `{access_token, expires_on
//! (epoch seconds, as a string), resource, token_type}` as App Service documents.
//!
//! The credential reads the process environment, so a test binary using this holds a single
//! test that calls [`bind_and_export`] before it starts any other thread.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// The `IDENTITY_HEADER` secret the endpoint requires (it must never be printed).
pub const IDENTITY_SECRET: &str = "identity-header-secret-5f1c";

/// A user-assigned identity the resource does not have: answered with App Service's 400.
pub const UNASSIGNED: &str = "99999999-2222-3333-4444-555555555555";

/// A user-assigned identity whose tokens live [`SHORT_LIFETIME`] seconds: for the tests of a
/// client asking for a new token before the current one expires.
pub const SHORT_LIVED: &str = "44444444-2222-3333-4444-555555555555";

/// The lifetime of [`SHORT_LIVED`]'s tokens, in seconds: long enough that a refresh at 80% of
/// it, seen by librdkafka's one-second refresh timer, still comes before it ends.
pub const SHORT_LIFETIME: u64 = 10;

/// What the endpoint saw and how it answers.
pub struct IdentityEndpoint {
    /// Query strings of token requests that carried the right secret header.
    pub requests: Mutex<Vec<BTreeMap<String, String>>>,
    /// Requests refused for a missing or wrong `X-IDENTITY-HEADER`.
    pub refused: Mutex<u32>,
    /// When each token was issued, with the `client_id` it was issued to.
    pub issued: Mutex<Vec<(Option<String>, Instant)>>,
    /// Lifetime in seconds of the first token (a short one tests refreshing); later ones live
    /// an hour.
    first_lifetime: u64,
}

impl IdentityEndpoint {
    /// The query strings of the token requests so far.
    pub fn requests(&self) -> Vec<BTreeMap<String, String>> {
        self.requests.lock().expect("lock").clone()
    }

    /// When tokens were issued to `client_id`, in order.
    pub fn issued_to(&self, client_id: &str) -> Vec<Instant> {
        self.issued
            .lock()
            .expect("lock")
            .iter()
            .filter(|(id, _)| id.as_deref() == Some(client_id))
            .map(|(_, at)| *at)
            .collect()
    }
}

/// Binds a loopback listener for the endpoint and points the credential at it
/// (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`; no IMDS, no thumbprint).
pub fn bind_and_export() -> std::net::TcpListener {
    let listener =
        std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let url = format!("http://{}/msi/token", listener.local_addr().expect("addr"));
    // SAFETY: the caller's contract: no other thread exists yet that could read the
    // environment concurrently.
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", &url);
        std::env::set_var("IDENTITY_HEADER", IDENTITY_SECRET);
        std::env::remove_var("IDENTITY_SERVER_THUMBPRINT");
        std::env::remove_var("IMDS_ENDPOINT");
    }
    listener
}

/// Serves the endpoint on `listener` (from [`bind_and_export`]) on the current runtime. Tokens
/// are `msi-token-N`, N counting the requests answered.
pub async fn serve(listener: std::net::TcpListener, first_lifetime: u64) -> Arc<IdentityEndpoint> {
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let endpoint = Arc::new(IdentityEndpoint {
        requests: Mutex::new(Vec::new()),
        refused: Mutex::new(0),
        issued: Mutex::new(Vec::new()),
        first_lifetime,
    });
    let app = Router::new()
        .route("/msi/token", get(token))
        .with_state(Arc::clone(&endpoint));
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}

async fn token(
    State(endpoint): State<Arc<IdentityEndpoint>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query: BTreeMap<String, String> = reqwest::Url::parse(&format!("http://fake{uri}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some(IDENTITY_SECRET)
    {
        *endpoint.refused.lock().expect("lock") += 1;
        return (StatusCode::UNAUTHORIZED, "missing identity header").into_response();
    }
    if query.get("client_id").map(String::as_str) == Some(UNASSIGNED) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"statusCode": 400, "message": "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."})),
        )
            .into_response();
    }
    let n = {
        let mut requests = endpoint.requests.lock().expect("lock");
        requests.push(query.clone());
        requests.len()
    };
    endpoint
        .issued
        .lock()
        .expect("lock")
        .push((query.get("client_id").cloned(), Instant::now()));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let lifetime = if query.get("client_id").map(String::as_str) == Some(SHORT_LIVED) {
        SHORT_LIFETIME
    } else if n == 1 {
        endpoint.first_lifetime
    } else {
        3600
    };
    axum::Json(json!({
        "access_token": format!("msi-token-{n}"),
        "expires_on": (now + lifetime).to_string(),
        "resource": query.get("resource"),
        "token_type": "Bearer",
        "client_id": query.get("client_id"),
    }))
    .into_response()
}
