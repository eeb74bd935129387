//! AAD (Entra ID) tokens for kustoplan's own clients: which credential to use (from the
//! manifest's `kusto.auth`, or `kafka.security.auth` for Event Hubs' Kafka endpoint), for which
//! scope, and a cache so one token serves many requests.
//!
//! azure_core's bearer-token policy refuses `http://` targets (the sandbox), so the Kusto client
//! asks this module for the token and sets the `Authorization` header itself; the Kafka clients
//! hand it to librdkafka as an OAUTHBEARER token (`providers::kafka::oauth`). Tokens are
//! refreshed [`REFRESH_MARGIN`] before they expire; concurrent callers share one fetch.
//! Nothing here logs or formats a token or secret: [`TokenSource`]'s `Debug` shows only
//! the method and scope, and credential errors are redacted before they are stored.

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{AccessToken, Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use reqwest::header::HeaderValue;
use tokio::sync::Mutex;

use crate::model::auth::{AadCredential, AuthMethod, SecretRef};
use crate::providers::retry::TransportFault;
use crate::providers::wait::{Wait, WaitOutcome};

use super::error::error_chain;

/// Scope that every Kusto cluster accepts; used when the cluster's own scope is unknown
/// to the tenant (AADSTS500011), e.g. for some custom domains.
pub const KUSTO_DEFAULT_SCOPE: &str = "https://kusto.kusto.windows.net/.default";

/// How long before expiry a cached token is replaced, so a token never expires in flight.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// The manifest key of the Kusto credential, named by its errors.
pub const KUSTO_AUTH_KEY: &str = "kusto.auth";

/// Why no token could be obtained. Messages name variables and settings, never values.
/// `Clone` and `Eq` so a Kafka client can keep the last failure of its token callback and
/// report it as the reason a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// A required auth setting is missing.
    #[error(
        "{key}.{field} is required for method {method}: set it in the manifest (see `kustoplan schema`)"
    )]
    MissingSetting {
        /// The manifest key of the auth mapping (`kusto.auth`, ...).
        key: &'static str,
        /// The auth method.
        method: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// `client_secret` is not an environment variable reference.
    #[error(
        "{key}.client_secret must reference an environment variable, e.g. `client_secret: {{env: AZURE_CLIENT_SECRET}}`; literal secrets are not accepted"
    )]
    SecretNotFromEnv {
        /// The manifest key of the auth mapping.
        key: &'static str,
    },
    /// The environment variable holding the client secret is unset or empty.
    #[error(
        "environment variable {var} ({key}.client_secret) is not set or empty: export the client secret in {var} before running kustoplan"
    )]
    MissingSecretEnv {
        /// The manifest key of the auth mapping.
        key: &'static str,
        /// The variable name.
        var: String,
    },
    /// The credential could not be constructed.
    #[error("cannot set up the {method} credential: {message}. {hint}")]
    Setup {
        /// The auth method.
        method: &'static str,
        /// The (redacted) error.
        message: String,
        /// What to check.
        hint: String,
    },
    /// AAD (or the identity endpoint) refused or failed to issue a token.
    #[error("cannot get an AAD token ({method}) for scope {scope}: {fault}: {message}. {hint}")]
    Fetch {
        /// The auth method.
        method: &'static str,
        /// Whether the network or the credential failed.
        fault: TokenFault,
        /// The scope asked for.
        scope: String,
        /// The (redacted) error.
        message: String,
        /// What to check.
        hint: String,
    },
    /// The issued token cannot be sent as a bearer token (an HTTP header value, or what
    /// librdkafka accepts for OAUTHBEARER).
    #[error("the {method} credential returned a token that is not a valid bearer token")]
    InvalidToken {
        /// The auth method.
        method: &'static str,
    },
    /// No answer from the credential in time, where a caller must answer synchronously
    /// (librdkafka's OAUTHBEARER token callback).
    #[error(
        "no AAD token ({method}) for scope {scope} within {seconds}s: network failure, timeout. Check that the identity endpoint or AAD is reachable from this machine"
    )]
    Stalled {
        /// The auth method.
        method: &'static str,
        /// The scope asked for.
        scope: String,
        /// How long the caller waited.
        seconds: u64,
    },
    /// The thread that fetches tokens for librdkafka's callback has stopped (a bug: it runs
    /// as long as a Kafka client needs it).
    #[error("the AAD token thread for {scope} has stopped; run kustoplan again")]
    TokenThreadStopped {
        /// The scope the thread served.
        scope: String,
    },
}

/// Why a token fetch failed, so the error says at once whether to look at the network (DNS,
/// a refused connection, a timeout) or at the credential (a wrong id, an expired secret, a
/// missing federated credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFault {
    /// The identity endpoint or AAD could not be reached.
    Network(TransportFault),
    /// The identity endpoint or AAD answered, and refused.
    Credential,
}

impl TokenFault {
    /// Classifies a credential's error by the reqwest error it wraps, if any.
    fn of(e: &(dyn std::error::Error + 'static)) -> TokenFault {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cause {
            if let Some(http) = c.downcast_ref::<reqwest::Error>() {
                return TokenFault::Network(TransportFault::of(http));
            }
            cause = c.source();
        }
        TokenFault::Credential
    }

    /// The short name progress lines use: `DNS`, `refused`, `timeout`, ... or `credential`.
    pub fn kind(self) -> &'static str {
        match self {
            TokenFault::Network(TransportFault::Invalid) => "invalid request",
            TokenFault::Network(TransportFault::Dns) => "DNS",
            TokenFault::Network(TransportFault::Tls) => "TLS",
            TokenFault::Network(TransportFault::Refused) => "refused",
            TokenFault::Network(TransportFault::Unreachable) => "unreachable",
            TokenFault::Network(TransportFault::Timeout) => "timeout",
            TokenFault::Network(TransportFault::Lost) => "connection lost",
            TokenFault::Credential => "credential",
        }
    }
}

impl fmt::Display for TokenFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFault::Network(fault) => write!(f, "network failure, {}", fault.describe()),
            TokenFault::Credential => f.write_str("credential failure"),
        }
    }
}

impl TokenError {
    /// The short name of what failed, for a progress line: a network fault's kind, or
    /// `credential` for everything about the credential itself.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Fetch { fault, .. } => fault.kind(),
            TokenError::Stalled { .. } => "timeout",
            _ => "credential",
        }
    }
}

/// Where bearer tokens come from; cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct TokenSource {
    provider: Option<Arc<Provider>>,
}

struct Provider {
    method: &'static str,
    /// The manifest key of the auth mapping, for hints.
    key: &'static str,
    credential: Arc<dyn TokenCredential>,
    /// Scopes to try, in order: for Kusto the cluster's own, then [`KUSTO_DEFAULT_SCOPE`];
    /// for Kafka the one OAUTHBEARER scope.
    scopes: Vec<String>,
    /// Strings that must never appear in an error message (the client secret).
    secrets: Vec<String>,
    state: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    token: Option<AccessToken>,
    /// Index into `scopes` that last worked.
    scope: usize,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            None => f.write_str("TokenSource(none)"),
            Some(p) => f
                .debug_struct("TokenSource")
                .field("method", &p.method)
                .field("scopes", &p.scopes)
                .finish_non_exhaustive(),
        }
    }
}

/// The scope for a cluster: `{scheme}://{host[:port]}/.default`, or [`KUSTO_DEFAULT_SCOPE`]
/// when the URL has no host.
pub fn scope_for_cluster(cluster_url: &str) -> String {
    match reqwest::Url::parse(cluster_url) {
        Ok(url) if url.host_str().is_some() => {
            format!("{}/.default", url.origin().ascii_serialization())
        }
        _ => KUSTO_DEFAULT_SCOPE.to_string(),
    }
}

impl TokenSource {
    /// No authentication: requests carry no `Authorization` header (sandbox, emulators).
    pub fn none() -> Self {
        TokenSource { provider: None }
    }

    /// Builds the credential `kusto.auth` asks for, for the cluster's scope, reading the client
    /// secret's environment variable now (so a missing variable fails before any request is
    /// sent).
    pub fn from_auth(auth: &AadCredential, cluster_url: &str) -> Result<Self, TokenError> {
        Self::from_auth_with_env(auth, cluster_url, &|name| std::env::var(name).ok())
    }

    /// [`TokenSource::from_auth`] with an explicit environment lookup, so callers and tests
    /// need not mutate the process environment.
    pub fn from_auth_with_env(
        auth: &AadCredential,
        cluster_url: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TokenError> {
        Self::with_scopes(auth, KUSTO_AUTH_KEY, kusto_scopes(cluster_url), env)
    }

    /// Builds the credential an auth mapping other than `kusto.auth` asks for (`key` names it
    /// in errors, e.g. `kafka.security.auth`), for exactly one `scope`: the same credentials,
    /// cache and error classification as Kusto's, for another resource.
    pub fn for_scope_with_env(
        auth: &AadCredential,
        key: &'static str,
        scope: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TokenError> {
        Self::with_scopes(auth, key, vec![scope.to_string()], env)
    }

    fn with_scopes(
        auth: &AadCredential,
        key: &'static str,
        scopes: Vec<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TokenError> {
        let method = method_name(auth.method);
        let setting = |v: &Option<String>, field: &'static str| {
            v.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or(TokenError::MissingSetting { key, method, field })
        };
        let setup = |message: String, secrets: &[String]| TokenError::Setup {
            method,
            message: redact(&message, secrets),
            hint: hint(method, key),
        };
        let mut secrets = Vec::new();
        let client_options =
            || credential_client_options().map_err(|e| setup(error_chain(&e), &[]));
        let credential: Arc<dyn TokenCredential> = match auth.method {
            AuthMethod::None => return Ok(Self::none()),
            AuthMethod::WorkloadIdentity => {
                let options = WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: client_options()?,
                    },
                    tenant_id: Some(setting(&auth.tenant_id, "tenant_id")?),
                    client_id: Some(setting(&auth.client_id, "client_id")?),
                    token_file_path: auth.token_file.clone(),
                };
                WorkloadIdentityCredential::new(Some(options))
                    .map_err(|e| setup(error_chain(&e), &secrets))?
            }
            AuthMethod::ClientSecret => {
                let tenant = setting(&auth.tenant_id, "tenant_id")?;
                let client = setting(&auth.client_id, "client_id")?;
                let var = match auth.client_secret.as_ref() {
                    Some(SecretRef::Env { env }) => env.clone(),
                    Some(SecretRef::Text(_)) => return Err(TokenError::SecretNotFromEnv { key }),
                    None => {
                        return Err(TokenError::MissingSetting {
                            key,
                            method,
                            field: "client_secret",
                        });
                    }
                };
                let value = env(&var).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                    TokenError::MissingSecretEnv {
                        key,
                        var: var.clone(),
                    }
                })?;
                secrets.push(value.clone());
                let options = ClientSecretCredentialOptions {
                    client_options: client_options()?,
                };
                ClientSecretCredential::new(&tenant, client, Secret::new(value), Some(options))
                    .map_err(|e| setup(error_chain(&e), &secrets))?
            }
            AuthMethod::ManagedIdentity => {
                let options = ManagedIdentityCredentialOptions {
                    user_assigned_id: auth
                        .client_id
                        .as_ref()
                        .map(|id| UserAssignedId::ClientId(id.trim().to_string())),
                    client_options: client_options()?,
                };
                ManagedIdentityCredential::new(Some(options))
                    .map_err(|e| setup(error_chain(&e), &secrets))?
            }
            AuthMethod::AzureCli => {
                let options = AzureCliCredentialOptions {
                    tenant_id: auth.tenant_id.as_ref().map(|t| t.trim().to_string()),
                    ..Default::default()
                };
                AzureCliCredential::new(Some(options))
                    .map_err(|e| setup(error_chain(&e), &secrets))?
            }
        };
        Ok(Self::build(method, key, credential, scopes, secrets))
    }

    /// Uses any azure_identity credential (e.g. a chain composed by the caller); `method`
    /// names it in errors and logs.
    pub fn from_credential(
        method: &'static str,
        credential: Arc<dyn TokenCredential>,
        cluster_url: &str,
    ) -> Self {
        Self::build(
            method,
            KUSTO_AUTH_KEY,
            credential,
            kusto_scopes(cluster_url),
            Vec::new(),
        )
    }

    /// [`TokenSource::from_credential`] for one `scope` of another resource, with errors
    /// naming the manifest `key` (e.g. `kafka.security.auth`).
    pub fn from_credential_for_scope(
        method: &'static str,
        credential: Arc<dyn TokenCredential>,
        key: &'static str,
        scope: &str,
    ) -> Self {
        Self::build(method, key, credential, vec![scope.to_string()], Vec::new())
    }

    fn build(
        method: &'static str,
        key: &'static str,
        credential: Arc<dyn TokenCredential>,
        scopes: Vec<String>,
        secrets: Vec<String>,
    ) -> Self {
        TokenSource {
            provider: Some(Arc::new(Provider {
                method,
                key,
                credential,
                scopes,
                secrets,
                state: Mutex::new(Cache::default()),
            })),
        }
    }

    /// The auth method's manifest name (`none`, `workload_identity`, ...), for logs.
    pub fn method(&self) -> &'static str {
        self.provider.as_ref().map_or("none", |p| p.method)
    }

    /// The scope tokens are requested for first, if a credential is configured.
    pub fn scope(&self) -> Option<&str> {
        self.provider
            .as_ref()
            .and_then(|p| p.scopes.first())
            .map(String::as_str)
    }

    /// The `Authorization` header value (`Bearer ...`, marked sensitive so it is never
    /// printed), or `None` without a credential. See [`TokenSource::access_token`].
    pub(crate) async fn authorization(&self) -> Result<Option<HeaderValue>, TokenError> {
        let Some(token) = self.access_token().await? else {
            return Ok(None);
        };
        let method = self.method();
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.token.secret()))
            .map_err(|_| TokenError::InvalidToken { method })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// The current token with its expiry (its `Debug` hides the secret), or `None` without a
    /// credential. Fetches only when no cached token is valid for at least
    /// [`REFRESH_MARGIN`]; concurrent callers wait for one fetch.
    pub(crate) async fn access_token(&self) -> Result<Option<AccessToken>, TokenError> {
        let Some(p) = &self.provider else {
            return Ok(None);
        };
        let mut cache = p.state.lock().await;
        let fresh = cache
            .token
            .as_ref()
            .filter(|t| t.expires_on > OffsetDateTime::now_utc() + REFRESH_MARGIN);
        let token = match fresh {
            Some(t) => t.clone(),
            None => {
                let waiting = Wait::start(format!("getting an AAD token ({})", p.method));
                let (token, scope) = match p.fetch(cache.scope).await {
                    Ok(fetched) => {
                        waiting.end(WaitOutcome::Done);
                        fetched
                    }
                    Err(e) => {
                        waiting.end(WaitOutcome::Failed(e.kind().to_string()));
                        return Err(e);
                    }
                };
                tracing::debug!(
                    method = p.method,
                    scope = %p.scopes[scope],
                    expires_on = %token.expires_on,
                    "fetched AAD token"
                );
                cache.token = Some(token.clone());
                cache.scope = scope;
                token
            }
        };
        Ok(Some(token))
    }
}

impl Provider {
    /// Asks the credential for a token, starting with scope `first`; falls back to the next
    /// scope when AAD says the cluster's resource is unknown in the tenant.
    async fn fetch(&self, first: usize) -> Result<(AccessToken, usize), TokenError> {
        let mut index = first.min(self.scopes.len().saturating_sub(1));
        loop {
            let scope = self.scopes[index].as_str();
            match self.credential.get_token(&[scope], None).await {
                Ok(token) => return Ok((token, index)),
                Err(e) => {
                    let message = redact(&error_chain(&e), &self.secrets);
                    let resource_unknown = message.contains("AADSTS500011");
                    if resource_unknown && index + 1 < self.scopes.len() {
                        tracing::debug!(
                            method = self.method,
                            scope,
                            "AAD does not know the cluster scope; trying the generic Kusto scope"
                        );
                        index += 1;
                        continue;
                    }
                    return Err(TokenError::Fetch {
                        method: self.method,
                        fault: TokenFault::of(&e),
                        scope: scope.to_string(),
                        message,
                        hint: hint(self.method, self.key),
                    });
                }
            }
        }
    }
}

/// The pipeline options of every credential kustoplan builds. azure_identity's defaults retry
/// a failed token request silently for a minute or more (eight attempts) over an HTTP client
/// without a timeout; two quick retries ride out a blip, and the timeouts make a silent
/// endpoint an error, so a network or credential problem is reported within seconds.
fn credential_client_options() -> Result<ClientOptions, reqwest::Error> {
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(20))
        .build()?;
    Ok(ClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: Duration::milliseconds(300),
            max_retries: 2,
            max_total_elapsed: Duration::seconds(5),
            max_delay: Duration::seconds(2),
        }),
        transport: Some(Transport::new(Arc::new(http))),
        ..Default::default()
    })
}

fn method_name(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::None => "none",
        AuthMethod::WorkloadIdentity => "workload_identity",
        AuthMethod::ClientSecret => "client_secret",
        AuthMethod::ManagedIdentity => "managed_identity",
        AuthMethod::AzureCli => "azure_cli",
    }
}

/// Kusto's scopes: the cluster's own, then [`KUSTO_DEFAULT_SCOPE`] for tenants that do not
/// know the cluster's resource.
fn kusto_scopes(cluster_url: &str) -> Vec<String> {
    let mut scopes = vec![scope_for_cluster(cluster_url)];
    if scopes[0] != KUSTO_DEFAULT_SCOPE {
        scopes.push(KUSTO_DEFAULT_SCOPE.to_string());
    }
    scopes
}

/// What to check when `method` fails, naming the settings under `key`.
fn hint(method: &str, key: &str) -> String {
    match method {
        "workload_identity" => format!(
            "Check {key}.tenant_id and client_id, that the federated token file \
             (token_file or AZURE_FEDERATED_TOKEN_FILE) exists, and that the app has a federated \
             credential for this workload (GitHub Actions: azure/login with OIDC and \
             `permissions: id-token: write`)"
        ),
        "client_secret" => format!(
            "Check {key}.tenant_id and client_id and that the secret in the referenced \
             environment variable is current (not expired or rotated)"
        ),
        "managed_identity" => format!(
            "Run on an Azure resource with a managed identity (IDENTITY_ENDPOINT or the IMDS \
             endpoint must be reachable); for a user-assigned identity set {key}.client_id"
        ),
        "azure_cli" => "Run `az login` (and `az account set`) on this machine".to_string(),
        _ => format!("Check {key} in the manifest"),
    }
}

/// Removes known secrets and anything shaped like a JWT from a message.
fn redact(message: &str, secrets: &[String]) -> String {
    let mut text = message.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret.as_str(), "***");
    }
    text.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .map(|word| {
            if word.starts_with("eyJ") && word.len() > 20 {
                let tail: String = word
                    .chars()
                    .rev()
                    .take_while(|c| c.is_whitespace() || *c == '"' || *c == '\'')
                    .collect();
                format!("***{tail}")
            } else {
                word.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(method: AuthMethod) -> AadCredential {
        AadCredential {
            method,
            ..AadCredential::default()
        }
    }

    const SECRET: &str = "very-secret-value-123";

    #[test]
    fn scopes() {
        assert_eq!(
            scope_for_cluster("https://help.kusto.windows.net/"),
            "https://help.kusto.windows.net/.default"
        );
        assert_eq!(
            scope_for_cluster("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/.default"
        );
        assert_eq!(scope_for_cluster("not a url"), KUSTO_DEFAULT_SCOPE);
    }

    #[test]
    fn none_has_no_credential() {
        let s = TokenSource::from_auth_with_env(&auth(AuthMethod::None), "https://c", &|_| None)
            .expect("none");
        assert_eq!(s.method(), "none");
        assert_eq!(s.scope(), None);
        assert_eq!(format!("{s:?}"), "TokenSource(none)");
    }

    #[test]
    fn client_secret_missing_env_names_the_variable() {
        let mut a = auth(AuthMethod::ClientSecret);
        a.tenant_id = Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into());
        a.client_id = Some("app".into());
        a.client_secret = Some(SecretRef::Env {
            env: "KP_TEST_SECRET".into(),
        });
        let err = TokenSource::from_auth_with_env(&a, "https://c.kusto.windows.net", &|_| None)
            .expect_err("missing env");
        assert_eq!(
            err.to_string(),
            "environment variable KP_TEST_SECRET (kusto.auth.client_secret) is not set or empty: \
             export the client secret in KP_TEST_SECRET before running kustoplan"
        );
        let s = TokenSource::from_auth_with_env(&a, "https://c.kusto.windows.net", &|name| {
            (name == "KP_TEST_SECRET").then(|| SECRET.to_string())
        })
        .expect("credential");
        let debug = format!("{s:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert_eq!(s.method(), "client_secret");
        assert_eq!(s.scope(), Some("https://c.kusto.windows.net/.default"));
    }

    #[test]
    fn literal_secret_and_missing_settings_are_refused() {
        let mut a = auth(AuthMethod::ClientSecret);
        a.tenant_id = Some("t".into());
        a.client_id = Some("app".into());
        a.client_secret = Some(SecretRef::Text(SECRET.into()));
        let err = TokenSource::from_auth_with_env(&a, "https://c", &|_| None).expect_err("literal");
        assert_eq!(
            err,
            TokenError::SecretNotFromEnv {
                key: KUSTO_AUTH_KEY
            }
        );
        assert!(!err.to_string().contains(SECRET));
        let err = TokenSource::from_auth_with_env(
            &auth(AuthMethod::WorkloadIdentity),
            "https://c",
            &|_| None,
        )
        .expect_err("tenant");
        assert_eq!(
            err.to_string(),
            "kusto.auth.tenant_id is required for method workload_identity: set it in the \
             manifest (see `kustoplan schema`)"
        );
    }

    #[test]
    fn another_resource_gets_its_one_scope_and_its_key_in_errors() {
        const KEY: &str = "kafka.security.auth";
        const SCOPE: &str = "https://ns.servicebus.windows.net/.default";
        let err = TokenSource::for_scope_with_env(
            &auth(AuthMethod::WorkloadIdentity),
            KEY,
            SCOPE,
            &|_| None,
        )
        .expect_err("tenant");
        assert_eq!(
            err.to_string(),
            "kafka.security.auth.tenant_id is required for method workload_identity: set it in \
             the manifest (see `kustoplan schema`)"
        );
        let s = TokenSource::for_scope_with_env(
            &auth(AuthMethod::ManagedIdentity),
            KEY,
            SCOPE,
            &|_| None,
        )
        .expect("credential");
        assert_eq!(s.scope(), Some(SCOPE));
        let debug = format!("{s:?}");
        assert!(
            !debug.contains(KUSTO_DEFAULT_SCOPE),
            "no Kusto fallback scope for another resource: {debug}"
        );
        assert!(hint("managed_identity", KEY).contains("set kafka.security.auth.client_id"));
    }

    #[test]
    fn workload_identity_reads_the_token_file_and_names_it_when_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("federated-token");
        let mut a = auth(AuthMethod::WorkloadIdentity);
        a.tenant_id = Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into());
        a.client_id = Some("00000000-0000-0000-0000-000000000001".into());
        a.token_file = Some(file.clone());
        let err = TokenSource::from_auth_with_env(&a, "https://c.kusto.windows.net", &|_| None)
            .expect_err("missing file");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot set up the workload_identity credential: failed to read federated token from file {}",
                file.display()
            )),
            "{text}"
        );
        assert!(text.contains("id-token: write"), "{text}");
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOngifQ.c2lnbmF0dXJl";
        std::fs::write(&file, jwt).expect("write token file");
        let s = TokenSource::from_auth_with_env(&a, "https://c.kusto.windows.net", &|_| None)
            .expect("credential");
        assert_eq!(s.method(), "workload_identity");
        assert!(!format!("{s:?}").contains(jwt));
    }

    #[tokio::test]
    async fn token_faults_name_the_network_fault_or_the_credential() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let refused = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .expect_err("nothing listens");
        // As azure_core's reqwest transport wraps it, inside the credential's own error.
        let wrapped = azure_core::Error::with_error(
            azure_core::error::ErrorKind::Connection,
            refused,
            "failed to execute `reqwest` request",
        );
        let fault = TokenFault::of(&wrapped);
        assert_eq!(fault, TokenFault::Network(TransportFault::Refused));
        assert_eq!(fault.kind(), "refused");
        assert_eq!(
            fault.to_string(),
            "network failure, connection refused (nothing listens on that port)"
        );
        let answered = azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "AADSTS700016: Application not found in the directory",
        );
        assert_eq!(TokenFault::of(&answered), TokenFault::Credential);
        assert_eq!(TokenFault::Credential.kind(), "credential");
        assert_eq!(
            TokenError::MissingSecretEnv {
                key: KUSTO_AUTH_KEY,
                var: "X".into()
            }
            .kind(),
            "credential"
        );
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact(
                &format!("bad secret {SECRET} and token \"eyJhbGciOiJIUzI1NiJ9.e30.abcdef\" end"),
                &[SECRET.to_string()]
            ),
            "bad secret *** and token \"***\" end"
        );
    }
}
