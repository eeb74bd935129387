//! The Kafka provider: topic metadata through rdkafka's AdminClient, behind [`KafkaBackend`].
//!
//! - [`config`]: [`ClientSettings`] turns the manifest's `targets.kafka` into librdkafka client
//!   properties (security, SASL password read from its environment variable at run time,
//!   timeouts so nothing hangs). The password never appears in logs, `Debug` output or errors.
//! - [`oauth`]: SASL/OAUTHBEARER with Entra ID (Event Hubs): [`oauth::KafkaContext`], the
//!   context of every client, answers librdkafka's token requests with tokens from the same
//!   azure_identity credentials as Kusto's, fetched on a thread of their own.
//! - [`admin`]: [`KafkaAdmin`], the broker side: observe in a constant number of admin requests,
//!   batched CreateTopics / CreatePartitions / IncrementalAlterConfigs with per-topic results.
//! - [`apply`]: a plan's topic operations as at most three batched requests, with a result per
//!   operation.
//! - [`lag`]: [`LagReader`], consumer-group committed offsets vs high watermarks for
//!   `status`, read without joining the group.
//! - [`produce`]: one record to a topic (the canary `verify` sends through a route).
//! - [`backend`]: [`KafkaBackend`], the one interface observe/apply code is written against,
//!   and [`KafkaBroker`], its implementation for a cluster (the built-in sandbox implements it
//!   in-process, outside this module).
//!
//! The result types here ([`TopicOutcome`], [`TopicError`], [`KafkaError`]) are shared by every
//! implementation, so a plan applied to any of them reports exactly what a broker would.

pub mod admin;
pub mod apply;
pub mod backend;
pub mod config;
pub mod lag;
mod native;
pub mod oauth;
pub mod produce;

use std::collections::BTreeMap;
use std::time::Duration;

pub use admin::{AdminTimeouts, ConfigFilter, KafkaAdmin};
pub use backend::{KafkaBackend, KafkaBroker};
pub use config::{ClientSettings, ConfigError};
pub use lag::{LagReader, PartitionOffsets, TopicOffsets};

/// Why one topic's part of a batched request failed, in Kafka's own terms so every backend and
/// a broker can be compared and tests can match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicErrorKind {
    /// CreateTopics on a topic that exists (`TOPIC_ALREADY_EXISTS`).
    AlreadyExists,
    /// The topic does not exist (`UNKNOWN_TOPIC_OR_PARTITION`).
    UnknownTopic,
    /// A partition count the broker refuses, e.g. a decrease (`INVALID_PARTITIONS`).
    InvalidPartitions,
    /// A replication factor the broker refuses (`INVALID_REPLICATION_FACTOR`).
    InvalidReplicationFactor,
    /// An unknown topic config name or a bad value (`INVALID_CONFIG`).
    InvalidConfig,
    /// An illegal topic name (`INVALID_TOPIC_EXCEPTION`).
    InvalidTopic,
    /// The broker does not implement the operation.
    Unsupported,
    /// Refused by the broker's create-topic or alter-config policy (`POLICY_VIOLATION`).
    PolicyViolation,
    /// The client's principal may not do this (`*_AUTHORIZATION_FAILED`).
    NotAuthorized,
    /// No answer in time; the change may or may not have been made.
    TimedOut,
    /// Anything else (the message says what).
    Other,
}

/// One topic's failure inside a batched request. The message is meant for users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TopicError {
    /// The class of failure.
    pub kind: TopicErrorKind,
    /// What went wrong, and where useful what to do.
    pub message: String,
}

impl TopicError {
    /// A failure of the given kind.
    pub fn new(kind: TopicErrorKind, message: impl Into<String>) -> TopicError {
        TopicError {
            kind,
            message: message.into(),
        }
    }
}

/// The result of a batched operation for one topic: apply reports every topic individually
/// because Kafka's batched admin requests are not transactional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOutcome {
    /// The topic.
    pub topic: String,
    /// `Ok` if the change was made.
    pub result: Result<(), TopicError>,
}

impl TopicOutcome {
    /// A success.
    pub fn ok(topic: impl Into<String>) -> TopicOutcome {
        TopicOutcome {
            topic: topic.into(),
            result: Ok(()),
        }
    }

    /// A failure.
    pub fn failed(topic: impl Into<String>, error: TopicError) -> TopicOutcome {
        TopicOutcome {
            topic: topic.into(),
            result: Err(error),
        }
    }
}

/// A partition increase: `total` is the new partition count (Kafka's CreatePartitions takes the
/// total, not the number to add).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionIncrease {
    /// The topic.
    pub topic: String,
    /// The partition count after the change.
    pub total: u32,
}

/// An incremental config change of one topic: keys to set and keys to reset to the default.
/// Keys not named are left as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigChange {
    /// The topic.
    pub topic: String,
    /// Keys to set, with their new values.
    pub set: BTreeMap<String, String>,
    /// Keys to delete (back to the broker default).
    pub delete: Vec<String>,
}

impl ConfigChange {
    /// The change a plan's `AlterTopicConfigs` operation describes: `Some` sets, `None` deletes.
    pub fn from_plan(topic: &str, configs: &BTreeMap<String, Option<String>>) -> ConfigChange {
        let mut change = ConfigChange {
            topic: topic.to_string(),
            ..ConfigChange::default()
        };
        for (key, value) in configs {
            match value {
                Some(v) => {
                    change.set.insert(key.clone(), v.clone());
                }
                None => change.delete.push(key.clone()),
            }
        }
        change
    }
}

/// A whole request failed (no per-topic results). Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KafkaError {
    /// The broker does not implement the admin API the operation needs.
    #[error(
        "the broker does not support {operation} ({detail}); make this change with the broker's own tools"
    )]
    Unsupported {
        /// The Kafka API, e.g. `CreatePartitions`.
        operation: &'static str,
        /// What the client reported.
        detail: String,
    },
    /// No answer within the timeout. For a write, the change may or may not have been made.
    #[error(
        "{operation} got no answer from {bootstrap} within {}s ({detail}); if it was a change, it may or may not have been made: run plan again to see the live state",
        timeout.as_secs_f32()
    )]
    TimedOut {
        /// The Kafka API.
        operation: &'static str,
        /// The bootstrap servers.
        bootstrap: String,
        /// The timeout that expired.
        timeout: Duration,
        /// What the client reported.
        detail: String,
    },
    /// The request failed as a whole.
    #[error("{operation} failed against {bootstrap}: {detail}")]
    Request {
        /// The Kafka API.
        operation: &'static str,
        /// The bootstrap servers.
        bootstrap: String,
        /// What went wrong.
        detail: String,
    },
    /// The client could not be configured (bad property, missing password variable).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No OAUTHBEARER token could be obtained, so the client never authenticated: the Entra ID
    /// credential's error says whether the network or the credential failed.
    #[error("{operation} against {bootstrap} could not authenticate: {source}")]
    Token {
        /// The Kafka API.
        operation: &'static str,
        /// The bootstrap servers.
        bootstrap: String,
        /// Why no token was issued (boxed: it is large and rare).
        source: Box<crate::providers::kusto::auth::TokenError>,
    },
    /// The backend could not read or write its own state (the message names the backend).
    #[error("{0}")]
    Storage(String),
    /// The backend cannot do this at all (one that keeps topic metadata only carries no
    /// records); callers report it as "not checked", not as a failure.
    #[error("{0}")]
    NotAvailable(String),
}

impl KafkaError {
    /// Whether a write may have taken effect although it reported failure: observe again before
    /// retrying or reporting what changed.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, KafkaError::TimedOut { .. })
    }
}
