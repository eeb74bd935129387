//! Managed identity end to end: azure_identity's `ManagedIdentityCredential` (App Service
//! protocol: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, plain http allowed) fetches tokens from
//! a loopback fake identity endpoint, and the Kusto client presents them to the sandbox.
//!
//! The credential reads the process environment, so this binary holds a single test that
//! sets the variables before any other thread exists.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::identity::{self, IDENTITY_SECRET, UNASSIGNED};
use kustoplan::model::auth::{AadCredential, AuthMethod};
use kustoplan::providers::kusto::{
    ClientOptions, Idempotency, KustoClient, KustoClientError, RetryPolicy, TokenError, TokenSource,
};
use kustoplan::sandbox::kusto::{AuthConfig, RequestStats, ServeConfig, serve};

const USER_ASSIGNED: &str = "11111111-2222-3333-4444-555555555555";

fn auth(client_id: &str) -> AadCredential {
    AadCredential {
        method: AuthMethod::ManagedIdentity,
        client_id: Some(client_id.to_string()),
        ..AadCredential::default()
    }
}

#[test]
fn managed_identity_tokens_are_fetched_cached_refreshed_and_accepted() {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // This is the only test in this binary and it has started no other thread yet.
    let listener = identity::bind_and_export();
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
        // The first token expires within the client's refresh margin; later ones in an hour.
        let endpoint = identity::serve(listener, 120).await;

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
