//! librdkafka client properties from the manifest's `targets.kafka`.
//!
//! Built here, in one place, so that every Kafka client kustoplan creates has the same security
//! settings and the same timeouts, and so the SASL password is handled by one audited path: it is
//! read from the environment variable the manifest names when the client is built, kept only in
//! the property list handed to librdkafka, and masked in every `Debug` or displayed form. With
//! `sasl_mechanism: OAUTHBEARER` there is no password at all: the settings carry the Entra ID
//! token provider ([`OAuthBearer`]) every client's context asks for tokens.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;

use super::oauth::{KAFKA_AUTH_KEY, KafkaContext, OAuthBearer};
use crate::model::auth::{AuthMethod, SecretRef};
use crate::model::endpoint::oauth_scope_for_bootstrap;
use crate::model::kafka_target::{KafkaConnection, KafkaProtocol, SaslMechanism};
use crate::providers::kusto::auth::{TokenError, TokenSource};

/// Properties only `security` may set: a password in `properties` would end up in git.
const SECURITY_KEYS: [&str; 5] = [
    "security.protocol",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
];

/// The property holding the SASL password (masked everywhere).
const PASSWORD_KEY: &str = "sasl.password";

/// Why a client configuration could not be built. Names variables and keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `security.password` names an environment variable that is not set.
    #[error(
        "the Kafka SASL password variable `{0}` is not set; export it before running kustoplan"
    )]
    MissingPasswordVariable(String),
    /// `security.password` is not `{env: NAME}`.
    #[error(
        "targets.kafka.security.password must be `{{env: NAME}}`: kustoplan's own Kafka client cannot resolve Connect config-provider placeholders"
    )]
    PasswordNotFromEnv,
    /// A SASL protocol without a user name or password.
    #[error("security.protocol {0} needs security.username and security.password")]
    MissingCredentials(&'static str),
    /// A security setting or a secret written in `properties` (which end up in git).
    #[error(
        "targets.kafka.properties.{0} is a security setting or a secret: write it under `security`"
    )]
    SecurityInProperties(String),
    /// OAUTHBEARER without an Entra ID credential to get tokens from.
    #[error(
        "sasl_mechanism OAUTHBEARER needs targets.kafka.security.auth with an Entra ID method (workload_identity, managed_identity, azure_cli or client_secret)"
    )]
    OAuthWithoutAuth,
    /// A user name or password next to OAUTHBEARER, which uses neither.
    #[error(
        "targets.kafka.security.username and password are not used with OAUTHBEARER: remove them"
    )]
    CredentialsWithOAuth,
    /// No `scope`, and none can be derived from the bootstrap servers.
    #[error(
        "cannot derive the OAUTHBEARER token scope from bootstrap servers `{0}`: set targets.kafka.security.scope"
    )]
    NoOAuthScope(String),
    /// The Entra ID credential could not be set up (boxed: it is large and rare).
    #[error(transparent)]
    Token(Box<TokenError>),
    /// The thread that fetches tokens could not start.
    #[error("cannot start the Kafka token thread: {0}")]
    TokenThread(String),
}

/// Client properties for one Kafka cluster, and the token provider of an OAUTHBEARER target.
/// `Debug` masks the password and never shows a token.
#[derive(Clone)]
pub struct ClientSettings {
    bootstrap: String,
    properties: BTreeMap<String, String>,
    oauth: Option<Arc<OAuthBearer>>,
}

/// Defaults that keep a dead or silent broker from hanging kustoplan. A manifest's
/// `properties` may override them.
fn timeout_defaults(socket_timeout: Duration) -> [(&'static str, String); 5] {
    let ms = socket_timeout.as_millis().to_string();
    [
        ("client.id", "kustoplan".to_string()),
        // Per-request network timeout and TCP+TLS+SASL connection setup timeout.
        ("socket.timeout.ms", ms.clone()),
        ("socket.connection.setup.timeout.ms", ms),
        // Do not wait minutes between reconnection attempts to a bootstrap server.
        ("reconnect.backoff.max.ms", "2000".to_string()),
        // Bounded metadata refresh retries for unknown topics.
        ("topic.metadata.refresh.fast.interval.ms", "100".to_string()),
    ]
}

impl ClientSettings {
    /// The default per-request socket timeout.
    pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

    /// Settings for `target`, reading the SASL password (or the Entra ID client secret) from
    /// the process environment.
    pub fn from_target(target: &KafkaConnection) -> Result<ClientSettings, ConfigError> {
        ClientSettings::from_target_with(target, |name| std::env::var(name).ok())
    }

    /// Settings for `target`, looking environment variables up with `env` (tests pass a map).
    pub fn from_target_with(
        target: &KafkaConnection,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ClientSettings, ConfigError> {
        let bootstrap = target.bootstrap_servers.trim().to_string();
        let mut settings = ClientSettings::plaintext(&bootstrap);
        for (key, value) in &target.properties {
            if SECURITY_KEYS.contains(&key.as_str())
                || key.contains("password")
                || key.contains("secret")
            {
                return Err(ConfigError::SecurityInProperties(key.clone()));
            }
            settings.set(key, value);
        }
        let protocol = match target.protocol {
            KafkaProtocol::Plaintext => "plaintext",
            KafkaProtocol::Ssl => "ssl",
            KafkaProtocol::SaslPlaintext => "sasl_plaintext",
            KafkaProtocol::SaslSsl => "sasl_ssl",
        };
        settings.set("security.protocol", protocol);
        if let Some(ca) = &target.ca_location {
            settings.set("ssl.ca.location", &ca.to_string_lossy());
        }
        let sasl = matches!(
            target.protocol,
            KafkaProtocol::SaslPlaintext | KafkaProtocol::SaslSsl
        );
        if sasl {
            let mechanism = target.sasl_mechanism.unwrap_or(SaslMechanism::Plain);
            settings.set("sasl.mechanism", mechanism_name(mechanism));
            if mechanism == SaslMechanism::OauthBearer {
                settings.oauth = Some(Arc::new(oauth_bearer(target, &env)?));
            } else {
                let (Some(user), Some(password)) = (&target.username, &target.password) else {
                    return Err(ConfigError::MissingCredentials(protocol));
                };
                let SecretRef::Env { env: variable } = password else {
                    return Err(ConfigError::PasswordNotFromEnv);
                };
                let secret = env(variable)
                    .ok_or_else(|| ConfigError::MissingPasswordVariable(variable.clone()))?;
                settings.set("sasl.username", user);
                settings.set(PASSWORD_KEY, &secret);
            }
        }
        Ok(settings)
    }

    /// Plaintext settings for `bootstrap` with kustoplan's timeouts (tests and local brokers).
    pub fn plaintext(bootstrap: &str) -> ClientSettings {
        let mut settings = ClientSettings {
            bootstrap: bootstrap.to_string(),
            properties: BTreeMap::new(),
            oauth: None,
        };
        settings.set("bootstrap.servers", bootstrap);
        for (key, value) in timeout_defaults(ClientSettings::SOCKET_TIMEOUT) {
            settings.set(key, &value);
        }
        settings
    }

    /// Sets one property (later calls win).
    pub fn set(&mut self, key: &str, value: &str) -> &mut ClientSettings {
        self.properties.insert(key.to_string(), value.to_string());
        self
    }

    /// The bootstrap servers, for messages.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The properties as they may be shown: the password is masked.
    pub fn shown(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|(k, v)| {
                let v = if k == PASSWORD_KEY {
                    crate::model::connect::MASK.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// The context every client of these settings is created with: it answers librdkafka's
    /// OAUTHBEARER token requests.
    pub fn context(&self) -> KafkaContext {
        KafkaContext::new(self.oauth.clone())
    }

    /// The OAUTHBEARER token provider, when the target signs in with Entra ID.
    pub fn oauth(&self) -> Option<&Arc<OAuthBearer>> {
        self.oauth.as_ref()
    }

    /// Why the last OAUTHBEARER token request failed, until a token is issued again: the
    /// reason to report when a request fails or gets no answer.
    pub fn token_failure(&self) -> Option<TokenError> {
        self.oauth.as_ref().and_then(|o| o.failure())
    }

    /// The rdkafka configuration (holds the password: never log it; rdkafka's `Debug` of
    /// `ClientConfig` prints values).
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSettings")
            .field("bootstrap", &self.bootstrap)
            .field("properties", &self.shown())
            .field("oauth", &self.oauth)
            .finish()
    }
}

/// The Entra ID token provider of an OAUTHBEARER target: its credential (`security.auth`,
/// read like `kusto.auth`), for `security.scope` or the scope of the first bootstrap server's
/// host (Event Hubs' namespace).
fn oauth_bearer(
    target: &KafkaConnection,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<OAuthBearer, ConfigError> {
    if target.username.is_some() || target.password.is_some() {
        return Err(ConfigError::CredentialsWithOAuth);
    }
    let auth = target
        .auth
        .as_ref()
        .filter(|a| a.method != AuthMethod::None)
        .ok_or(ConfigError::OAuthWithoutAuth)?;
    let bootstrap = target.bootstrap_servers.trim();
    let scope = match &target.scope {
        Some(scope) => scope.trim().to_string(),
        None => oauth_scope_for_bootstrap(bootstrap)
            .ok_or_else(|| ConfigError::NoOAuthScope(bootstrap.to_string()))?,
    };
    let tokens = TokenSource::for_scope_with_env(auth, KAFKA_AUTH_KEY, &scope, env)
        .map_err(|e| ConfigError::Token(Box::new(e)))?;
    let client_id = auth.client_id.as_deref();
    OAuthBearer::start(tokens, client_id).map_err(|e| ConfigError::TokenThread(e.to_string()))
}

fn mechanism_name(mechanism: SaslMechanism) -> &'static str {
    match mechanism {
        SaslMechanism::Plain => "PLAIN",
        SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
        SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        SaslMechanism::OauthBearer => "OAUTHBEARER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::auth::AadCredential;

    fn target(protocol: KafkaProtocol, password: Option<SecretRef>) -> KafkaConnection {
        KafkaConnection {
            bootstrap_servers: "b1:9093,b2:9093".to_string(),
            protocol,
            sasl_mechanism: Some(SaslMechanism::ScramSha512),
            username: Some("svc".into()),
            password,
            ca_location: Some("/etc/ca.pem".into()),
            auth: None,
            scope: None,
            properties: [("socket.timeout.ms".to_string(), "5000".to_string())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn sasl_ssl_reads_the_password_from_its_variable_and_never_shows_it() {
        let t = target(
            KafkaProtocol::SaslSsl,
            Some(SecretRef::Env {
                env: "KAFKA_PW".into(),
            }),
        );
        let s = ClientSettings::from_target_with(&t, |n| {
            (n == "KAFKA_PW").then(|| "hunter2-secret".to_string())
        })
        .expect("settings");
        let shown = s.shown();
        assert_eq!(shown["security.protocol"], "sasl_ssl");
        assert_eq!(shown["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(shown["sasl.username"], "svc");
        assert_eq!(shown["sasl.password"], "****");
        assert_eq!(shown["ssl.ca.location"], "/etc/ca.pem");
        assert_eq!(shown["bootstrap.servers"], "b1:9093,b2:9093");
        // The manifest's properties override kustoplan's defaults.
        assert_eq!(shown["socket.timeout.ms"], "5000");
        assert_eq!(shown["socket.connection.setup.timeout.ms"], "10000");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(
            s.client_config().get("sasl.password"),
            Some("hunter2-secret")
        );
    }

    #[test]
    fn missing_variable_and_placeholders_are_clear_errors_without_values() {
        let t = target(
            KafkaProtocol::SaslPlaintext,
            Some(SecretRef::Env { env: "NOPE".into() }),
        );
        let err = ClientSettings::from_target_with(&t, |_| None).expect_err("missing");
        assert_eq!(err, ConfigError::MissingPasswordVariable("NOPE".into()));
        assert!(err.to_string().contains("`NOPE` is not set"));
        let t = target(
            KafkaProtocol::SaslSsl,
            Some(SecretRef::Text("${file:/x:y}".into())),
        );
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("placeholder"),
            ConfigError::PasswordNotFromEnv
        );
        let t = target(KafkaProtocol::SaslSsl, None);
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("none"),
            ConfigError::MissingCredentials("sasl_ssl")
        );
        let mut t = target(KafkaProtocol::Plaintext, None);
        t.properties.insert("sasl.password".into(), "x".into());
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("in properties"),
            ConfigError::SecurityInProperties("sasl.password".into())
        );
        let mut t = target(KafkaProtocol::Plaintext, None);
        t.properties
            .insert("sasl.oauthbearer.client.secret".into(), "x".into());
        assert!(ClientSettings::from_target_with(&t, |_| None).is_err());
        // Non-secret SASL settings (OIDC endpoint, client id) are allowed.
        let mut t = target(KafkaProtocol::Plaintext, None);
        t.properties
            .insert("sasl.oauthbearer.method".into(), "oidc".into());
        assert!(ClientSettings::from_target_with(&t, |_| None).is_ok());
    }

    /// An Event Hubs target signing in with `method` (no user name or password).
    fn event_hubs(method: AuthMethod) -> KafkaConnection {
        let mut t = target(KafkaProtocol::SaslSsl, None);
        t.bootstrap_servers = "mynamespace.servicebus.windows.net:9093".to_string();
        t.sasl_mechanism = Some(SaslMechanism::OauthBearer);
        t.username = None;
        t.ca_location = None;
        t.auth = Some(AadCredential {
            method,
            tenant_id: Some("tenant".to_string()),
            client_id: Some("client".to_string()),
            ..AadCredential::default()
        });
        t
    }

    #[test]
    fn oauthbearer_sets_the_mechanism_and_a_token_provider_for_the_namespace_scope() {
        let s =
            ClientSettings::from_target_with(&event_hubs(AuthMethod::ManagedIdentity), |_| None)
                .expect("settings");
        let shown = s.shown();
        assert_eq!(shown["security.protocol"], "sasl_ssl");
        assert_eq!(shown["sasl.mechanism"], "OAUTHBEARER");
        assert!(
            !shown
                .keys()
                .any(|k| k == "sasl.username" || k == "sasl.password"),
            "{shown:?}"
        );
        let oauth = s.oauth().expect("token provider");
        assert_eq!(
            oauth.scope(),
            "https://mynamespace.servicebus.windows.net/.default"
        );
        assert_eq!(s.token_failure(), None);
        let debug = format!("{s:?}");
        assert!(debug.contains("managed_identity"), "{debug}");
        // Clones share the provider (one cache, one token thread).
        let clone = s.clone();
        assert!(Arc::ptr_eq(
            clone.oauth().expect("shared"),
            s.oauth().expect("provider")
        ));
    }

    #[test]
    fn an_explicit_scope_wins_over_the_derived_one() {
        let mut t = event_hubs(AuthMethod::AzureCli);
        t.scope = Some(" api://kafka-app/.default ".to_string());
        let s = ClientSettings::from_target_with(&t, |_| None).expect("settings");
        assert_eq!(
            s.oauth().expect("provider").scope(),
            "api://kafka-app/.default"
        );
    }

    #[test]
    fn oauthbearer_refuses_missing_auth_credentials_and_unknown_scopes() {
        let mut t = event_hubs(AuthMethod::None);
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("method none"),
            ConfigError::OAuthWithoutAuth
        );
        t.auth = None;
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("no auth"),
            ConfigError::OAuthWithoutAuth
        );
        let mut t = event_hubs(AuthMethod::ManagedIdentity);
        t.password = Some(SecretRef::Env { env: "PW".into() });
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| Some("x".into())).expect_err("password"),
            ConfigError::CredentialsWithOAuth
        );
        let mut t = event_hubs(AuthMethod::ManagedIdentity);
        t.bootstrap_servers = ":9093".to_string();
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("no host"),
            ConfigError::NoOAuthScope(":9093".into())
        );
        // The credential's own checks, naming the Kafka key.
        let mut t = event_hubs(AuthMethod::WorkloadIdentity);
        if let Some(auth) = t.auth.as_mut() {
            auth.tenant_id = None;
        }
        let err = ClientSettings::from_target_with(&t, |_| None).expect_err("tenant");
        assert!(
            err.to_string().starts_with(
                "kafka.security.auth.tenant_id is required for method workload_identity"
            ),
            "{err}"
        );
        let mut t = event_hubs(AuthMethod::ClientSecret);
        if let Some(auth) = t.auth.as_mut() {
            auth.client_secret = Some(SecretRef::Env {
                env: "EH_SECRET".into(),
            });
        }
        let err = ClientSettings::from_target_with(&t, |_| None).expect_err("secret unset");
        assert_eq!(
            err.to_string(),
            "environment variable EH_SECRET (kafka.security.auth.client_secret) is not set or \
             empty: export the client secret in EH_SECRET before running kustoplan"
        );
        let s = ClientSettings::from_target_with(&t, |n| {
            (n == "EH_SECRET").then(|| "eh-s3cret-value".to_string())
        })
        .expect("client secret");
        assert!(!format!("{s:?}").contains("eh-s3cret-value"));
        assert!(!s.shown().values().any(|v| v.contains("eh-s3cret-value")));
    }

    #[test]
    fn plaintext_has_no_sasl_keys() {
        let t = target(KafkaProtocol::Plaintext, None);
        let shown = ClientSettings::from_target_with(&t, |_| None)
            .expect("settings")
            .shown();
        assert_eq!(shown["security.protocol"], "plaintext");
        assert!(!shown.keys().any(|k| k.starts_with("sasl.")));
    }
}
