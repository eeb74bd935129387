//! Topic metadata through rdkafka's AdminClient.
//!
//! Observe costs a constant number of requests whatever the number of topics: one metadata
//! request for all topics (partition counts and replication factors) and one batched
//! DescribeConfigs for every named topic that exists. Writes are batched the same way: one
//! CreateTopics, one CreatePartitions, one IncrementalAlterConfigs, each with per-topic results,
//! because Kafka's batched admin requests are not transactional.
//!
//! Every call is bounded twice: librdkafka's request timeout (AdminOptions and the client's
//! socket timeouts) and an outer wall-clock limit, so a broker that never answers an API it
//! does not implement produces [`KafkaError::TimedOut`] rather than a hang.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, OwnedResourceSpecifier, ResourceSpecifier,
};
use rdkafka::error::KafkaError as RdError;
use rdkafka::types::RDKafkaErrorCode;

use super::native::{self, Failure, Limits, RefreshPump, ResourceResult};
use super::oauth::{KafkaContext, OAuthBearer};
use super::{
    ClientSettings, ConfigChange, KafkaError, PartitionIncrease, TopicError, TopicErrorKind,
    TopicOutcome,
};
use crate::model::connect::Topic;

/// How long admin calls may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminTimeouts {
    /// librdkafka's request timeout: the whole request, including connecting to the broker.
    pub request: Duration,
    /// How long the broker may take to carry out a create or a partition change
    /// (Kafka's `timeout_ms`); 0 would return before the change propagated.
    pub operation: Duration,
}

impl Default for AdminTimeouts {
    /// 15 s per request, 10 s per broker operation: long enough for a loaded cluster, short
    /// enough that CI notices a dead one.
    fn default() -> Self {
        AdminTimeouts {
            request: Duration::from_secs(15),
            operation: Duration::from_secs(10),
        }
    }
}

impl AdminTimeouts {
    /// The outer wall-clock limit: the request timeout plus a margin for librdkafka's own
    /// timer granularity.
    fn wall(&self) -> Duration {
        self.request + Duration::from_secs(2)
    }
}

/// Which DescribeConfigs entries observe keeps as the topic's configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigFilter {
    /// Only the topic's own overrides: `is_default == false` and source
    /// `DYNAMIC_TOPIC_CONFIG`. Kafka reports every topic config, defaults included, so anything
    /// else would be broker defaults that nobody declared.
    #[default]
    OverridesOnly,
    /// Every entry the broker reports. For brokers that report only a topic's overrides but
    /// mislabel them as defaults: tansu 0.6 answers with exactly the configs set on the topic,
    /// each marked `is_default` with source `DEFAULT_CONFIG`, so [`ConfigFilter::OverridesOnly`]
    /// would see none of them.
    AllReported,
}

/// A Kafka cluster's admin API. Requests are counted for round-trip budgets and benchmarks.
pub struct KafkaAdmin {
    client: Arc<AdminClient<KafkaContext>>,
    /// The OAUTHBEARER token provider and the pump that answers librdkafka's token requests,
    /// when the target signs in with Entra ID.
    oauth: Option<(Arc<OAuthBearer>, RefreshPump)>,
    bootstrap: String,
    timeouts: AdminTimeouts,
    config_filter: ConfigFilter,
    requests: AtomicUsize,
}

impl std::fmt::Debug for KafkaAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaAdmin")
            .field("bootstrap", &self.bootstrap)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl KafkaAdmin {
    /// A client for the cluster `settings` describe. Does not connect yet: librdkafka connects
    /// on the first request (with OAUTHBEARER, once the first token is set).
    pub fn new(
        settings: &ClientSettings,
        timeouts: AdminTimeouts,
    ) -> Result<KafkaAdmin, KafkaError> {
        let setup_failed = |detail: String| KafkaError::Request {
            operation: "client setup",
            bootstrap: settings.bootstrap().to_string(),
            detail,
        };
        let client: AdminClient<KafkaContext> = settings
            .client_config()
            .create_with_context(settings.context())
            .map_err(|e| setup_failed(setup_error(&e)))?;
        let client = Arc::new(client);
        let oauth = match settings.oauth() {
            Some(oauth) => {
                let pump = RefreshPump::start(
                    Arc::clone(&client),
                    |admin| admin.inner(),
                    Arc::clone(oauth),
                )
                .map_err(|e| setup_failed(format!("cannot start the token pump: {e}")))?;
                Some((Arc::clone(oauth), pump))
            }
            None => None,
        };
        Ok(KafkaAdmin {
            client,
            oauth,
            bootstrap: settings.bootstrap().to_string(),
            timeouts,
            config_filter: ConfigFilter::default(),
            requests: AtomicUsize::new(0),
        })
    }

    /// The same client with another [`ConfigFilter`] for observe.
    pub fn with_config_filter(mut self, filter: ConfigFilter) -> KafkaAdmin {
        self.config_filter = filter;
        self
    }

    /// How many admin requests this client has sent.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeouts.request))
            .operation_timeout(Some(self.timeouts.operation))
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The named topics that exist, with partition count, replication factor and the configs
    /// set on the topic itself (not broker defaults). Two requests at most, whatever
    /// `names.len()`: one metadata request and one DescribeConfigs (none for no names, the
    /// second only if a named topic exists).
    pub async fn observe(&self, names: &[String]) -> Result<BTreeMap<String, Topic>, KafkaError> {
        if names.is_empty() {
            // Nothing declared: no request, so a stack without topics plans without Kafka.
            return Ok(BTreeMap::new());
        }
        let mut topics = self.fetch_partitions(names).await?;
        if topics.is_empty() {
            return Ok(topics);
        }
        let mut configs = self
            .describe_configs(topics.keys().cloned().collect())
            .await?;
        // A topic without a config result was deleted between the two requests.
        topics.retain(|name, _| configs.contains_key(name));
        for (name, topic) in topics.iter_mut() {
            topic.configs = configs.remove(name).unwrap_or_default();
        }
        Ok(topics)
    }

    /// The names of every topic of the cluster, with one metadata request: what `import`
    /// filters with `--topics`.
    pub async fn topic_names(&self) -> Result<Vec<String>, KafkaError> {
        Ok(self
            .fetch_metadata()
            .await?
            .into_iter()
            .map(|(name, _, _)| name)
            .collect())
    }

    /// One metadata request for all topics (a per-topic request would cost one round trip per
    /// topic, and asking for a named topic can auto-create it on some brokers).
    async fn fetch_partitions(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, Topic>, KafkaError> {
        let fetched = self.fetch_metadata().await?;
        let wanted: std::collections::BTreeSet<&str> = names.iter().map(String::as_str).collect();
        Ok(fetched
            .into_iter()
            .filter(|(name, _, _)| wanted.contains(name.as_str()))
            .map(|(name, partitions, replicas)| {
                let topic = Topic {
                    name: name.clone(),
                    partitions: u32::try_from(partitions).unwrap_or(u32::MAX),
                    replication_factor: replicas.and_then(|r| u16::try_from(r).ok()),
                    configs: BTreeMap::new(),
                };
                (name, topic)
            })
            .collect())
    }

    /// Name, partition count and replica count of every existing topic, in one request.
    async fn fetch_metadata(&self) -> Result<Vec<(String, usize, Option<usize>)>, KafkaError> {
        const OP: &str = "Metadata";
        self.count();
        let client = Arc::clone(&self.client);
        let timeout = self.timeouts.request;
        let fetched = tokio::task::spawn_blocking(move || {
            client.inner().fetch_metadata(None, timeout).map(|m| {
                m.topics()
                    .iter()
                    .filter(|t| {
                        t.error().is_none_or(|e| {
                            RDKafkaErrorCode::from(e) != RDKafkaErrorCode::UnknownTopicOrPartition
                        })
                    })
                    .map(|t| {
                        let replicas = t.partitions().first().map(|p| p.replicas().len());
                        (t.name().to_string(), t.partitions().len(), replicas)
                    })
                    .collect::<Vec<_>>()
            })
        });
        match tokio::time::timeout(self.timeouts.wall(), fetched).await {
            Err(_) => Err(self.timed_out(OP, "no metadata response".into())),
            Ok(Err(join)) => Err(self.failed(OP, format!("metadata thread failed: {join}"))),
            Ok(Ok(Err(e))) => Err(self.request_error(OP, e)),
            Ok(Ok(Ok(list))) => Ok(list),
        }
    }

    /// One batched DescribeConfigs. By default keeps the entries the topic itself overrides
    /// (see [`ConfigFilter`]): broker-wide defaults and static broker settings are not part of
    /// the topic's declared state.
    async fn describe_configs(
        &self,
        names: Vec<String>,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, KafkaError> {
        const OP: &str = "DescribeConfigs";
        self.count();
        let specifiers: Vec<ResourceSpecifier<'_>> =
            names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
        let call = self.client.describe_configs(&specifiers, &self.options());
        let results = match tokio::time::timeout(self.timeouts.wall(), call).await {
            Err(_) => return Err(self.timed_out(OP, "no DescribeConfigs response".into())),
            Ok(Err(e)) => return Err(self.request_error(OP, e)),
            Ok(Ok(results)) => results,
        };
        let mut out = BTreeMap::new();
        // librdkafka answers in request order; a success also names its topic, so use that.
        for (requested, result) in names.iter().zip(results) {
            let name = match &result {
                Ok(r) => match &r.specifier {
                    OwnedResourceSpecifier::Topic(n) => n.clone(),
                    _ => requested.clone(),
                },
                Err(_) => requested.clone(),
            };
            let resource = match result {
                Ok(resource) => resource,
                // Deleted since the metadata request: it no longer exists.
                Err(code) if classify(code) == TopicErrorKind::UnknownTopic => continue,
                Err(code) => {
                    return Err(self.failed(
                        OP,
                        format!("cannot read the configs of topic {name:?}: {code}"),
                    ));
                }
            };
            let configs = resource
                .entries
                .into_iter()
                .filter(|e| match self.config_filter {
                    ConfigFilter::OverridesOnly => {
                        !e.is_default && e.source == ConfigSource::DynamicTopic
                    }
                    ConfigFilter::AllReported => true,
                })
                .filter_map(|e| e.value.map(|v| (e.name, v)))
                .collect();
            out.insert(name, configs);
        }
        Ok(out)
    }

    /// Creates `topics` in one CreateTopics request. A replication factor of `None` asks for the
    /// broker's default (`-1`, KIP-464, brokers since Kafka 2.4). Each topic's result is
    /// reported on its own, with the broker's message: an existing topic fails with
    /// [`TopicErrorKind::AlreadyExists`] without affecting the others.
    pub async fn create_topics(&self, topics: &[Topic]) -> Result<Vec<TopicOutcome>, KafkaError> {
        const OP: &str = "CreateTopics";
        let (valid, invalid): (Vec<Topic>, Vec<Topic>) = topics
            .iter()
            .cloned()
            .partition(|t| t.partitions > 0 && i32::try_from(t.partitions).is_ok());
        let mut outcomes = if valid.is_empty() {
            Vec::new()
        } else {
            let limits = self.limits(true);
            self.native(OP, move |client| {
                native::create_topics(client, &valid, limits)
            })
            .await?
        };
        outcomes.extend(invalid.into_iter().map(|t| {
            let error = TopicError::new(
                TopicErrorKind::InvalidPartitions,
                format!("{} partitions: a topic needs 1 to 2^31-1", t.partitions),
            );
            TopicOutcome::failed(t.name, error)
        }));
        Ok(outcomes)
    }

    /// Raises partition counts in one CreatePartitions request (`total` is the new count).
    /// A broker without the API (tansu) gives [`KafkaError::Unsupported`] at once: librdkafka
    /// knows the broker's APIs from its ApiVersions answer and does not send the request.
    pub async fn create_partitions(
        &self,
        increases: &[PartitionIncrease],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        const OP: &str = "CreatePartitions";
        if increases.is_empty() {
            return Ok(Vec::new());
        }
        let increases = increases.to_vec();
        let limits = self.limits(true);
        self.native(OP, move |client| {
            native::create_partitions(client, &increases, limits)
        })
        .await
    }

    /// Sets and deletes topic configs in one IncrementalAlterConfigs request. Only the named
    /// keys change (the legacy AlterConfigs, the only one rdkafka 0.39 wraps, would reset every
    /// key not sent; see the `native` module).
    pub async fn alter_configs(
        &self,
        changes: &[ConfigChange],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        const OP: &str = "IncrementalAlterConfigs";
        let changes: Vec<ConfigChange> = changes
            .iter()
            .filter(|c| !c.set.is_empty() || !c.delete.is_empty())
            .cloned()
            .collect();
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let limits = self.limits(false);
        self.native(OP, move |client| {
            native::incremental_alter_configs(client, &changes, limits)
        })
        .await
    }

    fn limits(&self, with_operation_timeout: bool) -> Limits {
        Limits {
            request: self.timeouts.request,
            operation: with_operation_timeout.then_some(self.timeouts.operation),
            wait: self.timeouts.wall(),
        }
    }

    /// Runs one native admin request on a blocking thread, bounded by the wall-clock limit, and
    /// turns its results into per-topic outcomes.
    async fn native<F>(&self, op: &'static str, call: F) -> Result<Vec<TopicOutcome>, KafkaError>
    where
        F: FnOnce(&AdminClient<KafkaContext>) -> Result<Vec<ResourceResult>, Failure>
            + Send
            + 'static,
    {
        self.count();
        let client = Arc::clone(&self.client);
        let task = tokio::task::spawn_blocking(move || call(&client));
        let limit = self.timeouts.wall() + Duration::from_secs(1);
        let results = match tokio::time::timeout(limit, task).await {
            Err(_) | Ok(Ok(Err(Failure::TimedOut))) => {
                return Err(self.timed_out(op, format!("no {op} response")));
            }
            Ok(Err(join)) => return Err(self.failed(op, format!("admin thread failed: {join}"))),
            Ok(Ok(Err(Failure::Setup(detail)))) => return Err(self.failed(op, detail)),
            Ok(Ok(Err(Failure::Request(code, message)))) => {
                return Err(self.code_error(op, code, &message));
            }
            Ok(Ok(Ok(results))) => results,
        };
        Ok(results
            .into_iter()
            .map(|r| match r.error {
                None => TopicOutcome::ok(r.topic),
                Some((code, message)) => {
                    let error = topic_error(op, code, &message);
                    TopicOutcome::failed(r.topic, error)
                }
            })
            .collect())
    }

    /// The reason a request failed when it is that no OAUTHBEARER token could be obtained:
    /// librdkafka then never connects, so the request only times out or finds no broker.
    fn unauthenticated(&self, operation: &'static str) -> Option<KafkaError> {
        let (oauth, _) = self.oauth.as_ref()?;
        oauth.failure().map(|source| KafkaError::Token {
            operation,
            bootstrap: self.bootstrap.clone(),
            source: Box::new(source),
        })
    }

    fn timed_out(&self, operation: &'static str, detail: String) -> KafkaError {
        if let Some(e) = self.unauthenticated(operation) {
            return e;
        }
        KafkaError::TimedOut {
            operation,
            bootstrap: self.bootstrap.clone(),
            timeout: self.timeouts.request,
            detail,
        }
    }

    fn failed(&self, operation: &'static str, detail: String) -> KafkaError {
        if let Some(e) = self.unauthenticated(operation) {
            return e;
        }
        KafkaError::Request {
            operation,
            bootstrap: self.bootstrap.clone(),
            detail,
        }
    }

    fn request_error(&self, op: &'static str, e: RdError) -> KafkaError {
        // rdkafka's `rdkafka_error_code()` is `None` for admin errors, so match them first.
        let code = match &e {
            RdError::AdminOp(code) => Some(*code),
            _ => e.rdkafka_error_code(),
        };
        match code {
            Some(code) => self.code_error(op, code, ""),
            None => self.failed(op, e.to_string()),
        }
    }

    fn code_error(&self, op: &'static str, code: RDKafkaErrorCode, message: &str) -> KafkaError {
        let detail = if message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {message}")
        };
        match classify(code) {
            TopicErrorKind::Unsupported => KafkaError::Unsupported {
                operation: op,
                detail,
            },
            TopicErrorKind::TimedOut => self.timed_out(op, detail),
            _ if is_unreachable(code) => self.failed(
                op,
                format!("cannot reach the brokers (check bootstrap_servers, network and security settings): {detail}"),
            ),
            _ => self.failed(op, detail),
        }
    }
}

/// A client-creation error without property values: rdkafka's `Display` of a config error
/// prints the rejected value, which could be a secret.
pub(super) fn setup_error(e: &RdError) -> String {
    match e {
        RdError::ClientConfig(_, _, key, _) if key.contains("password") => {
            format!("invalid client property {key}")
        }
        RdError::ClientConfig(_, desc, key, _) => {
            format!("invalid client property {key}: {desc}")
        }
        other => other.to_string(),
    }
}

fn is_unreachable(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve
            | RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::SSL
    )
}

/// The class of a Kafka error code.
pub fn classify(code: RDKafkaErrorCode) -> TopicErrorKind {
    use RDKafkaErrorCode as C;
    match code {
        C::TopicAlreadyExists => TopicErrorKind::AlreadyExists,
        C::UnknownTopicOrPartition | C::UnknownTopic => TopicErrorKind::UnknownTopic,
        C::InvalidPartitions => TopicErrorKind::InvalidPartitions,
        C::InvalidReplicationFactor | C::InvalidReplicaAssignment => {
            TopicErrorKind::InvalidReplicationFactor
        }
        C::InvalidConfig => TopicErrorKind::InvalidConfig,
        C::InvalidTopic => TopicErrorKind::InvalidTopic,
        C::UnsupportedFeature | C::UnsupportedVersion => TopicErrorKind::Unsupported,
        C::PolicyViolation => TopicErrorKind::PolicyViolation,
        C::TopicAuthorizationFailed | C::ClusterAuthorizationFailed => {
            TopicErrorKind::NotAuthorized
        }
        C::RequestTimedOut | C::OperationTimedOut | C::MessageTimedOut => TopicErrorKind::TimedOut,
        _ => TopicErrorKind::Other,
    }
}

/// A per-topic error worded for users.
fn topic_error(op: &'static str, code: RDKafkaErrorCode, message: &str) -> TopicError {
    let kind = classify(code);
    let what = match kind {
        TopicErrorKind::AlreadyExists => "the topic already exists".to_string(),
        TopicErrorKind::UnknownTopic => "the topic does not exist".to_string(),
        TopicErrorKind::Unsupported => format!("the broker does not support {op}"),
        TopicErrorKind::TimedOut => {
            format!("{op} timed out; the change may or may not have been made")
        }
        TopicErrorKind::NotAuthorized => format!("not authorized to run {op} on this topic"),
        _ => format!("{op} refused"),
    };
    // The broker's own message says the most (which config, which limit); the code name is
    // kept for searching Kafka's documentation.
    let message = if message.is_empty() {
        format!("{what} [{code:?}]")
    } else {
        format!("{what}: {message} [{code:?}]")
    };
    TopicError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_property_is_named_without_its_value() {
        let mut settings = ClientSettings::plaintext("127.0.0.1:9");
        settings.set("socket.timeout.ms", "not-a-number-s3cret");
        let err = KafkaAdmin::new(&settings, AdminTimeouts::default()).expect_err("bad value");
        let text = err.to_string();
        assert!(text.contains("socket.timeout.ms"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn error_codes_map_to_kinds() {
        assert_eq!(
            classify(RDKafkaErrorCode::TopicAlreadyExists),
            TopicErrorKind::AlreadyExists
        );
        assert_eq!(
            classify(RDKafkaErrorCode::UnsupportedVersion),
            TopicErrorKind::Unsupported
        );
        let e = topic_error("CreatePartitions", RDKafkaErrorCode::UnsupportedVersion, "");
        assert!(
            e.message
                .starts_with("the broker does not support CreatePartitions"),
            "{e}"
        );
    }
}
