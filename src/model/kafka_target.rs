//! A Kafka cluster as the stack resolved it from `targets.kafka`: bootstrap servers, security
//! protocol, SASL mechanism, credentials by reference and the OAUTHBEARER scope. Location-free,
//! so the Kafka provider builds its clients without knowing the manifest; validation reports
//! problems against the spec types, with their file:line:column, before this is made.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::auth::{AadCredential, SecretRef};

/// Kafka `security.protocol`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KafkaProtocol {
    /// No TLS, no SASL.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS (Event Hubs, Confluent Cloud).
    SaslSsl,
}

/// Kafka `sasl.mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SaslMechanism {
    /// PLAIN
    #[serde(rename = "PLAIN")]
    Plain,
    /// SCRAM-SHA-256
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// SCRAM-SHA-512
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// OAUTHBEARER
    #[serde(rename = "OAUTHBEARER")]
    OauthBearer,
}

/// The connection settings of one Kafka cluster. Holds references to secrets, never their
/// values: the SASL password and the Entra ID client secret are read from the environment
/// when a client is built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KafkaConnection {
    /// `host:port` list, as written.
    pub bootstrap_servers: String,
    /// `security.protocol`.
    pub protocol: KafkaProtocol,
    /// `sasl.mechanism`, when written (PLAIN is librdkafka's and kustoplan's default).
    pub sasl_mechanism: Option<SaslMechanism>,
    /// SASL user name (PLAIN and SCRAM).
    pub username: Option<String>,
    /// Where the SASL password is (PLAIN and SCRAM).
    pub password: Option<SecretRef>,
    /// CA certificate file for TLS.
    pub ca_location: Option<PathBuf>,
    /// The Entra ID credential of OAUTHBEARER tokens.
    pub auth: Option<AadCredential>,
    /// The OAUTHBEARER token scope, when written (else derived from the bootstrap servers).
    pub scope: Option<String>,
    /// Extra librdkafka client properties, as strings.
    pub properties: BTreeMap<String, String>,
}
