//! SASL/OAUTHBEARER with Entra ID, for Event Hubs' Kafka endpoint: librdkafka asks for a token
//! when a client starts and again before the current one expires, and kustoplan answers with
//! one from the same azure_identity credentials Kusto uses ([`TokenSource`]: workload identity,
//! managed identity, Azure CLI, client secret), so the Kafka target needs no stored secret.
//!
//! # Threads
//!
//! librdkafka's token request is answered synchronously, on whichever thread serves the
//! client's queue: rdkafka's producer polling thread, the refresh pump of the admin and offset
//! clients (`native::RefreshPump`), or the thread that drops a producer (it flushes and polls),
//! which can be a tokio worker. The credential is async. Blocking on a handle of the
//! caller's runtime could deadlock: `Handle::block_on` panics on a worker, and a worker blocked
//! waiting for a token can be the very thread whose I/O driver the credential's HTTP request
//! needs. So tokens are fetched on a thread of their own that runs its own current-thread
//! runtime: the callback sends a request over a channel and waits, at most [`FETCH_LIMIT`], for
//! the answer. The fetching thread depends on no other thread, so the wait always ends.
//!
//! Failures are kept ([`OAuthBearer::failure`]) until a token is issued again: librdkafka only
//! logs them and keeps waiting for a token, so a request that then fails or times out is
//! reported with the credential's own error (network or credential, never the token).

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use azure_core::credentials::AccessToken;
use base64::Engine;
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::consumer::ConsumerContext;

use crate::providers::kusto::auth::{TokenError, TokenSource};

/// The manifest key of the Kafka credential, named by its errors.
pub const KAFKA_AUTH_KEY: &str = "kafka.security.auth";

/// How long librdkafka's callback waits for a token: longer than the credential's own bounded
/// retries (connect 5 s, request 20 s, retries within 5 s), so this limit only ends a fetch
/// that hangs.
pub const FETCH_LIMIT: Duration = Duration::from_secs(60);

type Answer = Result<Option<AccessToken>, TokenError>;

/// The OAUTHBEARER token provider of one Kafka target, shared by all its clients (one cache,
/// one fetching thread). `Debug` shows the method and scope, never a token.
pub struct OAuthBearer {
    tokens: TokenSource,
    requests: Sender<SyncSender<Answer>>,
    /// The principal name when the token carries no `oid` claim.
    fallback_principal: String,
    failure: Mutex<Option<TokenError>>,
}

impl fmt::Debug for OAuthBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearer")
            .field("method", &self.tokens.method())
            .field("scope", &self.tokens.scope())
            .finish_non_exhaustive()
    }
}

impl OAuthBearer {
    /// Starts the fetching thread for `tokens`. `client_id` (the manifest's) names the
    /// principal when a token has no `oid` claim.
    pub fn start(tokens: TokenSource, client_id: Option<&str>) -> std::io::Result<OAuthBearer> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (requests, incoming) = mpsc::channel::<SyncSender<Answer>>();
        let source = tokens.clone();
        std::thread::Builder::new()
            .name("kustoplan-kafka-token".into())
            .spawn(move || {
                // Ends when every client (every sender) is gone.
                for reply in incoming {
                    let answer = runtime.block_on(source.access_token());
                    // A requester that gave up after FETCH_LIMIT has already reported the
                    // timeout; the token stays cached for the next request.
                    let _ = reply.send(answer);
                }
            })?;
        let fallback_principal = client_id
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map_or_else(|| tokens.method().to_string(), str::to_string);
        Ok(OAuthBearer {
            tokens,
            requests,
            fallback_principal,
            failure: Mutex::new(None),
        })
    }

    /// The auth method's manifest name, for errors.
    pub fn method(&self) -> &'static str {
        self.tokens.method()
    }

    /// The scope tokens are asked for.
    pub fn scope(&self) -> &str {
        self.tokens.scope().unwrap_or_default()
    }

    /// The last failure to issue a token, until a token is issued again.
    pub fn failure(&self) -> Option<TokenError> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records why librdkafka got no token (also a token it refused).
    pub(super) fn record(&self, result: Result<(), &TokenError>) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = result.err().cloned();
    }

    /// A token for librdkafka: the token, its principal and its expiry in milliseconds since
    /// the Unix epoch (librdkafka asks again at 80% of its lifetime). Blocks the calling
    /// thread, at most [`FETCH_LIMIT`] (see the module documentation).
    pub fn token(&self) -> Result<OAuthToken, TokenError> {
        let result = self.fetch().map(|token| OAuthToken {
            principal_name: principal(token.token.secret())
                .unwrap_or_else(|| self.fallback_principal.clone()),
            lifetime_ms: i64::try_from(token.expires_on.unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(i64::MAX),
            token: token.token.secret().to_string(),
        });
        self.record(result.as_ref().map(|_| ()));
        result
    }

    fn fetch(&self) -> Result<AccessToken, TokenError> {
        let stopped = || TokenError::TokenThreadStopped {
            scope: self.scope().to_string(),
        };
        let (reply, answer) = mpsc::sync_channel(1);
        self.requests.send(reply).map_err(|_| stopped())?;
        match answer.recv_timeout(FETCH_LIMIT) {
            Ok(answer) => answer?.ok_or(TokenError::MissingSetting {
                key: KAFKA_AUTH_KEY,
                method: self.tokens.method(),
                field: "method",
            }),
            Err(RecvTimeoutError::Timeout) => Err(TokenError::Stalled {
                method: self.tokens.method(),
                scope: self.scope().to_string(),
                seconds: FETCH_LIMIT.as_secs(),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(stopped()),
        }
    }
}

/// The principal librdkafka reports for a token: its `oid` claim, the object id of the service
/// principal or managed identity the token was issued to. That is the identity Event Hubs'
/// role assignments are checked against and the one Entra ID's sign-in logs show (`sub` is
/// the same for app tokens but opaque per application for user tokens, `appid` names the
/// application, not the identity). Event Hubs reads the principal from the token itself;
/// librdkafka only needs a name for its logs. `None` when the token is not a JWT with one.
fn principal(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Claims {
        oid: Option<String>,
    }
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Claims>(&json)
        .ok()?
        .oid
        .filter(|oid| !oid.trim().is_empty())
}

/// The context of every kustoplan Kafka client: it answers librdkafka's OAUTHBEARER token
/// requests when the target signs in with Entra ID (librdkafka asks only when
/// `sasl.mechanism` is OAUTHBEARER, so other clients never call it).
#[derive(Clone, Default)]
pub struct KafkaContext {
    oauth: Option<Arc<OAuthBearer>>,
}

impl KafkaContext {
    /// The context of clients that get their tokens from `oauth`.
    pub fn new(oauth: Option<Arc<OAuthBearer>>) -> KafkaContext {
        KafkaContext { oauth }
    }
}

impl ClientContext for KafkaContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let oauth = self
            .oauth
            .as_ref()
            .ok_or("OAUTHBEARER needs an Entra ID credential: set targets.kafka.security.auth")?;
        Ok(oauth.token()?)
    }
}

impl ConsumerContext for KafkaContext {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::auth::{AadCredential, AuthMethod};
    use azure_core::credentials::{Secret, TokenCredential, TokenRequestOptions};
    use azure_core::time::OffsetDateTime;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SCOPE: &str = "https://ns.servicebus.windows.net/.default";

    /// A credential that answers with `token` (or fails), counting the scopes it is asked for.
    #[derive(Debug)]
    struct Fixed {
        token: Option<String>,
        lifetime: azure_core::time::Duration,
        scopes: Mutex<Vec<String>>,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Fixed {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.scopes
                .lock()
                .expect("lock")
                .extend(scopes.iter().map(|s| s.to_string()));
            match &self.token {
                Some(t) => Ok(AccessToken::new(
                    Secret::new(t.clone()),
                    OffsetDateTime::now_utc() + self.lifetime,
                )),
                None => Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "AADSTS700016: Application not found in the directory",
                )),
            }
        }
    }

    fn fixed(token: Option<&str>) -> Arc<Fixed> {
        Arc::new(Fixed {
            token: token.map(str::to_string),
            lifetime: azure_core::time::Duration::hours(1),
            scopes: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
        })
    }

    fn jwt(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(claims))
    }

    fn source(credential: Arc<Fixed>) -> TokenSource {
        TokenSource::from_credential_for_scope(
            "managed_identity",
            credential,
            KAFKA_AUTH_KEY,
            SCOPE,
        )
    }

    #[test]
    fn the_callback_returns_the_token_its_oid_and_its_expiry_in_ms() {
        let token = jwt(r#"{"oid":"3f2a-object-id","sub":"s","appid":"a"}"#);
        let credential = fixed(Some(&token));
        let oauth =
            OAuthBearer::start(source(credential.clone()), Some("client-1")).expect("start");
        let context = KafkaContext::new(Some(Arc::new(oauth)));
        let before = OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let issued = context.generate_oauth_token(None).expect("token");
        assert_eq!(issued.token, token);
        assert_eq!(issued.principal_name, "3f2a-object-id");
        let hour = 3_600_000;
        assert!(
            (before + hour - 1_000..=before + hour + 5_000).contains(&issued.lifetime_ms),
            "{} vs {before}",
            issued.lifetime_ms
        );
        assert_eq!(*credential.scopes.lock().expect("lock"), [SCOPE]);
        // The cache serves the next request: one credential call for both.
        context.generate_oauth_token(None).expect("cached");
        assert_eq!(credential.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_an_oid_the_principal_is_the_client_id_then_the_method() {
        let oauth = OAuthBearer::start(source(fixed(Some("opaque-token"))), Some(" client-1 "))
            .expect("start");
        assert_eq!(oauth.token().expect("token").principal_name, "client-1");
        let oauth =
            OAuthBearer::start(source(fixed(Some(&jwt(r#"{"sub":"x"}"#)))), None).expect("start");
        assert_eq!(
            oauth.token().expect("token").principal_name,
            "managed_identity"
        );
    }

    #[test]
    fn a_refusal_is_the_typed_error_kept_until_a_token_is_issued() {
        let oauth = OAuthBearer::start(source(fixed(None)), None).expect("start");
        assert_eq!(oauth.failure(), None);
        let Err(err) = oauth.token() else {
            panic!("expected a refusal");
        };
        assert!(matches!(err, TokenError::Fetch { .. }), "{err:?}");
        assert_eq!(err.kind(), "credential");
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot get an AAD token (managed_identity) for scope {SCOPE}: credential failure: AADSTS700016")), "{text}");
        assert!(text.contains("set kafka.security.auth.client_id"), "{text}");
        assert_eq!(oauth.failure(), Some(err.clone()));
        let context = KafkaContext::new(Some(Arc::new(oauth)));
        let Err(boxed) = context.generate_oauth_token(None) else {
            panic!("expected a refusal");
        };
        assert_eq!(boxed.to_string(), text);
    }

    #[test]
    fn a_token_clears_the_kept_failure() {
        let oauth = OAuthBearer::start(source(fixed(Some("t"))), None).expect("start");
        oauth.record(Err(&TokenError::InvalidToken { method: "m" }));
        assert!(oauth.failure().is_some());
        oauth.token().expect("token");
        assert_eq!(oauth.failure(), None);
    }

    #[test]
    fn a_context_without_a_credential_says_what_to_set() {
        let Err(err) = KafkaContext::default().generate_oauth_token(None) else {
            panic!("expected an error without a credential");
        };
        assert!(
            err.to_string().contains("targets.kafka.security.auth"),
            "{err}"
        );
    }

    #[test]
    fn debug_shows_method_and_scope_only() {
        let auth = AadCredential {
            method: AuthMethod::ManagedIdentity,
            client_id: Some("id".to_string()),
            ..AadCredential::default()
        };
        let tokens = TokenSource::for_scope_with_env(&auth, KAFKA_AUTH_KEY, SCOPE, &|_| None)
            .expect("source");
        let oauth = OAuthBearer::start(tokens, Some("id")).expect("start");
        assert_eq!(
            format!("{oauth:?}"),
            format!("OAuthBearer {{ method: \"managed_identity\", scope: Some({SCOPE:?}), .. }}")
        );
        assert_eq!(oauth.scope(), SCOPE);
    }

    /// A credential whose identity endpoint refuses connections, failing as azure_core's
    /// reqwest transport reports it.
    #[derive(Debug)]
    struct Unreachable(u16);

    #[async_trait::async_trait]
    impl TokenCredential for Unreachable {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            // Async I/O on the fetching thread's own runtime.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            let refused = reqwest::get(format!("http://127.0.0.1:{}/", self.0))
                .await
                .expect_err("nothing listens");
            Err(azure_core::Error::with_error(
                azure_core::error::ErrorKind::Connection,
                refused,
                "failed to execute `reqwest` request",
            ))
        }
    }

    /// The callback blocks the thread it runs on; on a runtime's only thread (a producer
    /// dropped inside async code) it must neither panic nor wait for that runtime.
    #[tokio::test(flavor = "current_thread")]
    async fn an_unreachable_endpoint_is_a_network_failure_even_from_a_runtime_thread() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let tokens = TokenSource::from_credential_for_scope(
            "managed_identity",
            Arc::new(Unreachable(port)),
            KAFKA_AUTH_KEY,
            SCOPE,
        );
        let context = KafkaContext::new(Some(Arc::new(
            OAuthBearer::start(tokens, None).expect("start"),
        )));
        let Err(err) = context.generate_oauth_token(None) else {
            panic!("expected a network failure");
        };
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot get an AAD token (managed_identity) for scope {SCOPE}: network failure, \
                 connection refused"
            )),
            "{text}"
        );
        let Some(oauth) = &context.oauth else {
            panic!("configured");
        };
        assert_eq!(oauth.failure().map(|e| e.kind()), Some("refused"));
    }

    #[test]
    fn principal_reads_only_a_jwt_oid() {
        assert_eq!(principal(&jwt(r#"{"oid":"o"}"#)).as_deref(), Some("o"));
        assert_eq!(principal(&jwt(r#"{"oid":" "}"#)), None);
        assert_eq!(principal("not-a-jwt"), None);
        assert_eq!(principal("a.%%%.c"), None);
    }
}
