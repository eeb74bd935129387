//! Managed identity end to end: azure_identity's `ManagedIdentityCredential` (App Service
//! protocol: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, plain http allowed) fetches tokens from
//! a loopback fake identity endpoint, and the Kusto client presents them to the sandbox.
//!
//! The credential reads the process environment, so this binary holds a single test that
//! sets the variables before any other thread exists.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kustoplan::manifest::located::Located;
use kustoplan::manifest::spec::{AuthMethod, KustoAuth};
use kustoplan::providers::kusto::{
    ClientOptions, Idempotency, KustoClient, KustoClientError, RetryPolicy, TokenError, TokenSource,
};
use kustoplan::sandbox::kusto::{AuthConfig, RequestStats, ServeConfig, serve};
use serde_json::json;

const IDENTITY_SECRET: &str = "identity-header-secret-5f1c";
const USER_ASSIGNED: &str = "11111111-2222-3333-4444-555555555555";
const UNASSIGNED: &str = "99999999-2222-3333-4444-555555555555";

#[derive(Default)]
struct Endpoint {
    /// Query strings of token requests that carried the right secret header.
    requests: Mutex<Vec<BTreeMap<String, String>>>,
    /// Requests refused for a missing or wrong `X-IDENTITY-HEADER`.
    refused: Mutex<u32>,
}

/// `GET /msi/token?api-version=2019-08-01&resource=R[&client_id=C]` with header
/// `X-IDENTITY-HEADER`, answering `{access_token, expires_on (epoch seconds, as a string),
/// resource, token_type}` as App Service documents. The first token expires within the
/// client's refresh margin; later ones in an hour.
async fn token(State(endpoint): State<Arc<Endpoint>>, uri: Uri, headers: HeaderMap) -> Response {
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
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let lifetime = if n == 1 { 120 } else { 3600 };
    axum::Json(json!({
        "access_token": format!("msi-token-{n}"),
        "expires_on": (now + lifetime).to_string(),
        "resource": query.get("resource"),
        "token_type": "Bearer",
        "client_id": query.get("client_id"),
    }))
    .into_response()
}

fn auth(client_id: &str) -> KustoAuth {
    KustoAuth {
        method: Located::new(Default::default(), AuthMethod::ManagedIdentity),
        tenant_id: None,
        client_id: Some(Located::new(Default::default(), client_id.to_string())),
        client_secret: None,
        token_file: None,
    }
}

#[test]
fn managed_identity_tokens_are_fetched_cached_refreshed_and_accepted() {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let listener = std::net::TcpListener::bind(loopback).expect("bind");
    let identity_url = format!("http://{}/msi/token", listener.local_addr().expect("addr"));
    // SAFETY: this is the only test in this binary and no other thread has been started by
    // it yet, so nothing reads the environment concurrently.
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", &identity_url);
        std::env::set_var("IDENTITY_HEADER", IDENTITY_SECRET);
        std::env::remove_var("IDENTITY_SERVER_THUMBPRINT");
        std::env::remove_var("IMDS_ENDPOINT");
    }
    let captured = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = Arc::clone(&captured);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || Sink(Arc::clone(&sink)))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        listener.set_nonblocking(true).expect("nonblocking");
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let endpoint = Arc::new(Endpoint::default());
        let app = Router::new()
            .route("/msi/token", get(token))
            .with_state(Arc::clone(&endpoint));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let dir = tempfile::tempdir().expect("tempdir");
        let principal = format!("aadapp={USER_ASSIGNED};contoso.com");
        let server = serve(ServeConfig {
            auth: Some(AuthConfig {
                tokens: BTreeMap::from([
                    ("msi-token-1".to_string(), principal.clone()),
                    ("msi-token-2".to_string(), principal.clone()),
                ]),
                cluster_admins: vec![principal],
            }),
            ..ServeConfig::new(dir.path(), loopback)
        })
        .await
        .expect("serve");
        let options = ClientOptions {
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(10),
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        };

        let tokens = TokenSource::from_auth(&auth(USER_ASSIGNED), &server.url()).expect("tokens");
        assert_eq!(tokens.method(), "managed_identity");
        let client = KustoClient::new(&server.url(), tokens, options.clone()).expect("client");
        // 1st call fetches a short-lived token, the 2nd refreshes it, the rest use the cache.
        for expected in [1, 2, 2, 2] {
            client
                .mgmt("kustoplan", ".show version", Idempotency::Safe)
                .await
                .expect("authorised");
            assert_eq!(endpoint.requests.lock().expect("lock").len(), expected);
        }
        assert_eq!(
            server.stats(),
            RequestStats {
                mgmt: 4,
                query: 0,
                in_flight: 0,
                max_in_flight: 1
            }
        );
        assert_eq!(*endpoint.refused.lock().expect("lock"), 0);
        let first = endpoint.requests.lock().expect("lock")[0].clone();
        assert_eq!(
            first,
            BTreeMap::from([
                ("api-version".to_string(), "2019-08-01".to_string()),
                ("client_id".to_string(), USER_ASSIGNED.to_string()),
                ("resource".to_string(), server.url()),
            ])
        );

        // An identity the resource does not have: a token error, and no Kusto request.
        let tokens = TokenSource::from_auth(&auth(UNASSIGNED), &server.url()).expect("tokens");
        let client = KustoClient::new(&server.url(), tokens, options).expect("client");
        let err = client
            .mgmt("kustoplan", ".show version", Idempotency::Safe)
            .await
            .expect_err("unassigned identity");
        let KustoClientError::Token(TokenError::Fetch { method, scope, .. }) = &err else {
            panic!("expected a token error, got {err:?}");
        };
        assert_eq!(*method, "managed_identity");
        assert_eq!(scope, &format!("{}/.default", server.url()));
        let text = err.to_string();
        assert!(
            text.contains("The requested identity has not been assigned to this resource"),
            "{text}"
        );
        assert!(text.contains("set kusto.auth.client_id"), "{text}");
        assert_eq!(
            server.stats(),
            RequestStats {
                mgmt: 4,
                query: 0,
                in_flight: 0,
                max_in_flight: 1
            }
        );

        let logs = String::from_utf8_lossy(&captured.lock().expect("lock")).to_string();
        let everything = format!("{logs}\n{err}\n{err:?}");
        for secret in [IDENTITY_SECRET, "msi-token-1", "msi-token-2"] {
            assert!(
                !everything.contains(secret),
                "{secret} leaked:\n{everything}"
            );
        }
        assert!(logs.contains("fetched AAD token"), "{logs}");
    });
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
