//! librdkafka client properties from the manifest's `targets.kafka`.
//!
//! Built here, in one place, so that every Kafka client kustoplan creates has the same security
//! settings and the same timeouts, and so the SASL password is handled by one audited path: it is
//! read from the environment variable the manifest names when the client is built, kept only in
//! the property list handed to librdkafka, and masked in every `Debug` or displayed form.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::manifest::spec::{KafkaProtocol, KafkaTarget, SaslMechanism, SecretRef};
use crate::model::endpoint::Endpoint;

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
    /// `bootstrap_servers: sandbox` has no client.
    #[error("`bootstrap_servers: sandbox` is the built-in sandbox, not a Kafka cluster")]
    Sandbox,
}

/// Client properties for one Kafka cluster. `Debug` masks the password.
#[derive(Clone)]
pub struct ClientSettings {
    bootstrap: String,
    properties: BTreeMap<String, String>,
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

    /// Settings for `target`, reading the SASL password from the process environment.
    pub fn from_target(target: &KafkaTarget) -> Result<ClientSettings, ConfigError> {
        ClientSettings::from_target_with(target, |name| std::env::var(name).ok())
    }

    /// Settings for `target`, looking environment variables up with `env` (tests pass a map).
    pub fn from_target_with(
        target: &KafkaTarget,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ClientSettings, ConfigError> {
        let bootstrap = target.bootstrap_servers.value.trim().to_string();
        if Endpoint::of(&bootstrap).is_sandbox() {
            return Err(ConfigError::Sandbox);
        }
        let mut settings = ClientSettings::plaintext(&bootstrap);
        for (key, value) in &target.properties {
            if SECURITY_KEYS.contains(&key.as_str())
                || key.contains("password")
                || key.contains("secret")
            {
                return Err(ConfigError::SecurityInProperties(key.clone()));
            }
            settings.set(key, &value.value.0);
        }
        let security = &target.security;
        let protocol = match security.protocol {
            KafkaProtocol::Plaintext => "plaintext",
            KafkaProtocol::Ssl => "ssl",
            KafkaProtocol::SaslPlaintext => "sasl_plaintext",
            KafkaProtocol::SaslSsl => "sasl_ssl",
        };
        settings.set("security.protocol", protocol);
        if let Some(ca) = &security.ca_location {
            settings.set("ssl.ca.location", ca);
        }
        let sasl = matches!(
            security.protocol,
            KafkaProtocol::SaslPlaintext | KafkaProtocol::SaslSsl
        );
        if sasl {
            let mechanism = security.sasl_mechanism.unwrap_or(SaslMechanism::Plain);
            settings.set("sasl.mechanism", mechanism_name(mechanism));
            if mechanism != SaslMechanism::OauthBearer {
                let (Some(user), Some(password)) = (&security.username, &security.password) else {
                    return Err(ConfigError::MissingCredentials(protocol));
                };
                let SecretRef::Env { env: variable } = &password.value else {
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
            .finish()
    }
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
    use crate::manifest::located::Located;
    use crate::manifest::node::Loc;
    use crate::manifest::spec::{ConfigValue, KafkaSecurity};

    fn target(protocol: KafkaProtocol, password: Option<SecretRef>) -> KafkaTarget {
        KafkaTarget {
            bootstrap_servers: Located::new(Loc::default(), "b1:9093,b2:9093".to_string()),
            security: KafkaSecurity {
                protocol,
                sasl_mechanism: Some(SaslMechanism::ScramSha512),
                username: Some("svc".into()),
                password: password.map(|p| Located::new(Loc::default(), p)),
                ca_location: Some("/etc/ca.pem".into()),
            },
            properties: [(
                "socket.timeout.ms".to_string(),
                Located::new(Loc::default(), ConfigValue("5000".into())),
            )]
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
        t.properties.insert(
            "sasl.password".into(),
            Located::new(Loc::default(), ConfigValue("x".into())),
        );
        assert_eq!(
            ClientSettings::from_target_with(&t, |_| None).expect_err("in properties"),
            ConfigError::SecurityInProperties("sasl.password".into())
        );
        let mut t = target(KafkaProtocol::Plaintext, None);
        t.properties.insert(
            "sasl.oauthbearer.client.secret".into(),
            Located::new(Loc::default(), ConfigValue("x".into())),
        );
        assert!(ClientSettings::from_target_with(&t, |_| None).is_err());
        // Non-secret SASL settings (OIDC endpoint, client id) are allowed.
        let mut t = target(KafkaProtocol::Plaintext, None);
        t.properties.insert(
            "sasl.oauthbearer.method".into(),
            Located::new(Loc::default(), ConfigValue("oidc".into())),
        );
        assert!(ClientSettings::from_target_with(&t, |_| None).is_ok());
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
