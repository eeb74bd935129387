//! Where topic operations go: the built-in sandbox or a Kafka cluster. Observe and apply are
//! written once against [`KafkaTransport`], as the Kusto side is written against its transport.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::lag::LagReader;
use super::{
    AdminTimeouts, ClientSettings, ConfigChange, KafkaAdmin, KafkaError, PartitionIncrease,
    TopicOutcome,
};
use crate::manifest::spec::KafkaTarget;
use crate::model::connect::Topic;
use crate::model::endpoint::Endpoint;
use crate::sandbox::kafka::KafkaSandbox;

/// A Kafka cluster's topic metadata: the in-process sandbox or a broker's admin API.
#[derive(Debug)]
pub struct KafkaTransport {
    kind: Kind,
    /// Requests answered by the sandbox (a broker's are counted by [`KafkaAdmin`]).
    local_requests: AtomicUsize,
    /// Consumer-group offsets of a broker (`status`); the sandbox has no consumer groups.
    lag: Option<LagReader>,
    /// The broker's client settings, for producing canary records (`verify`).
    producer: Option<ClientSettings>,
}

#[derive(Debug)]
enum Kind {
    /// The built-in sandbox, in this process, persisted to a directory.
    Local(Arc<KafkaSandbox>),
    /// A Kafka cluster through rdkafka's AdminClient.
    Broker(Box<KafkaAdmin>),
}

impl KafkaTransport {
    /// The in-process sandbox.
    pub fn local(sandbox: Arc<KafkaSandbox>) -> KafkaTransport {
        KafkaTransport {
            kind: Kind::Local(sandbox),
            local_requests: AtomicUsize::new(0),
            lag: None,
            producer: None,
        }
    }

    /// A Kafka cluster.
    pub fn broker(admin: KafkaAdmin) -> KafkaTransport {
        KafkaTransport {
            kind: Kind::Broker(Box::new(admin)),
            local_requests: AtomicUsize::new(0),
            lag: None,
            producer: None,
        }
    }

    /// The same transport, able to read consumer-group lag with `reader`.
    pub fn with_lag_reader(mut self, reader: LagReader) -> KafkaTransport {
        self.lag = Some(reader);
        self
    }

    /// The consumer-group offset reader: `None` on the sandbox (no broker, so no consumer
    /// groups) or when the transport was built without one.
    pub fn lag_reader(&self) -> Option<&LagReader> {
        self.lag.as_ref()
    }

    /// The transport `target` names: the sandbox persisted in `sandbox_dir` for
    /// `bootstrap_servers: sandbox`, else the cluster (the SASL password is read from its
    /// environment variable now).
    pub fn for_target(
        target: &KafkaTarget,
        sandbox_dir: &Path,
    ) -> Result<KafkaTransport, KafkaError> {
        if Endpoint::of(&target.bootstrap_servers.value).is_sandbox() {
            let sandbox = KafkaSandbox::open(sandbox_dir).map_err(|e| {
                KafkaError::Sandbox(format!(
                    "cannot open the built-in sandbox in {}: {e}",
                    sandbox_dir.display()
                ))
            })?;
            return Ok(KafkaTransport::local(Arc::new(sandbox)));
        }
        let settings = ClientSettings::from_target(target)?;
        let admin = KafkaAdmin::new(&settings, AdminTimeouts::default())?;
        let mut transport =
            KafkaTransport::broker(admin).with_lag_reader(LagReader::new(settings.clone()));
        transport.producer = Some(settings);
        Ok(transport)
    }

    /// Produces one record and waits for its acknowledgement: the canary `verify` sends
    /// through a route. The built-in sandbox keeps topic metadata only, so it cannot carry
    /// records ([`KafkaError::Sandbox`] says so).
    pub async fn produce(&self, topic: &str, key: &str, value: &str) -> Result<(), KafkaError> {
        match &self.producer {
            Some(settings) => super::produce::produce_one(settings, topic, key, value).await,
            None => Err(KafkaError::Sandbox(
                "the built-in Kafka sandbox keeps topic metadata only and carries no records"
                    .to_string(),
            )),
        }
    }

    /// Whether this is the built-in sandbox.
    pub fn is_sandbox(&self) -> bool {
        matches!(self.kind, Kind::Local(_))
    }

    /// How many admin requests this transport has sent (for round-trip budgets and benchmarks).
    pub fn requests(&self) -> usize {
        match &self.kind {
            Kind::Local(_) => self.local_requests.load(Ordering::Relaxed),
            Kind::Broker(admin) => admin.requests(),
        }
    }

    fn local_request(&self) {
        self.local_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The named topics that exist, in a constant number of requests.
    pub async fn observe(&self, names: &[String]) -> Result<BTreeMap<String, Topic>, KafkaError> {
        match &self.kind {
            Kind::Local(sandbox) => {
                self.local_request();
                Ok(sandbox.observe(names))
            }
            Kind::Broker(admin) => admin.observe(names).await,
        }
    }

    /// The names of every topic, in one request (what `import --topics` filters).
    pub async fn topic_names(&self) -> Result<Vec<String>, KafkaError> {
        match &self.kind {
            Kind::Local(sandbox) => {
                self.local_request();
                Ok(sandbox.topic_names())
            }
            Kind::Broker(admin) => admin.topic_names().await,
        }
    }

    /// Creates topics in one request, with a result per topic.
    pub async fn create_topics(&self, topics: &[Topic]) -> Result<Vec<TopicOutcome>, KafkaError> {
        match &self.kind {
            Kind::Local(sandbox) => {
                self.local_request();
                sandbox.create_topics(topics)
            }
            Kind::Broker(admin) => admin.create_topics(topics).await,
        }
    }

    /// Raises partition counts in one request, with a result per topic.
    pub async fn create_partitions(
        &self,
        increases: &[PartitionIncrease],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        match &self.kind {
            Kind::Local(sandbox) => {
                self.local_request();
                sandbox.create_partitions(increases)
            }
            Kind::Broker(admin) => admin.create_partitions(increases).await,
        }
    }

    /// Sets and deletes topic configs incrementally in one request, with a result per topic.
    pub async fn alter_configs(
        &self,
        changes: &[ConfigChange],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        match &self.kind {
            Kind::Local(sandbox) => {
                self.local_request();
                sandbox.alter_configs(changes)
            }
            Kind::Broker(admin) => admin.alter_configs(changes).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::located::Located;
    use crate::manifest::node::Loc;

    fn target(bootstrap: &str) -> KafkaTarget {
        KafkaTarget {
            bootstrap_servers: Located::new(Loc::default(), bootstrap.to_string()),
            security: Default::default(),
            properties: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn sandbox_target_persists_topics_in_the_sandbox_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let transport = KafkaTransport::for_target(&target("sandbox"), dir.path()).expect("open");
        assert!(transport.is_sandbox());
        assert!(
            transport.lag_reader().is_none(),
            "the sandbox has no consumer groups"
        );
        let topic = Topic {
            name: "gameplay".into(),
            partitions: 4,
            replication_factor: None,
            configs: BTreeMap::new(),
        };
        let out = transport
            .create_topics(std::slice::from_ref(&topic))
            .await
            .expect("create");
        assert_eq!(out, [TopicOutcome::ok("gameplay")]);
        drop(transport);
        let again = KafkaTransport::for_target(&target("sandbox"), dir.path()).expect("reopen");
        let seen = again
            .observe(&["gameplay".to_string()])
            .await
            .expect("observe");
        assert_eq!(seen["gameplay"].partitions, 4);
        assert_eq!(again.requests(), 1);
    }

    #[test]
    fn a_broker_target_does_not_touch_the_sandbox_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sandbox_dir = dir.path().join("sandbox");
        let transport =
            KafkaTransport::for_target(&target("127.0.0.1:9"), &sandbox_dir).expect("client");
        assert!(!transport.is_sandbox());
        assert!(transport.lag_reader().is_some());
        assert!(!sandbox_dir.exists());
    }
}
