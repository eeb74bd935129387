//! What topic operations are written against: [`KafkaBackend`], one interface for a Kafka
//! cluster's topic metadata, implemented here by [`KafkaBroker`] (librdkafka's admin API) and
//! in-process by the built-in sandbox, so observe and apply are written once and the
//! provider does not know which one answers.

use std::collections::BTreeMap;

use super::lag::LagReader;
use super::{
    AdminTimeouts, ClientSettings, ConfigChange, KafkaAdmin, KafkaError, PartitionIncrease,
    TopicOutcome,
};
use crate::model::connect::Topic;
use crate::model::kafka_target::KafkaConnection;

/// A Kafka cluster's topic metadata, as observe, apply, `status`, `import` and `verify` need it.
/// Every batched write answers with a result per topic, in Kafka's own terms, so a plan
/// applied to any implementation reports exactly what a broker would.
#[async_trait::async_trait]
pub trait KafkaBackend: Send + Sync + std::fmt::Debug {
    /// The named topics that exist, in a constant number of requests.
    async fn observe(&self, names: &[String]) -> Result<BTreeMap<String, Topic>, KafkaError>;

    /// The names of every topic, in one request (what `import --topics` filters).
    async fn topic_names(&self) -> Result<Vec<String>, KafkaError>;

    /// Creates topics in one request, with a result per topic.
    async fn create_topics(&self, topics: &[Topic]) -> Result<Vec<TopicOutcome>, KafkaError>;

    /// Raises partition counts in one request, with a result per topic.
    async fn create_partitions(
        &self,
        increases: &[PartitionIncrease],
    ) -> Result<Vec<TopicOutcome>, KafkaError>;

    /// Sets and deletes topic configs incrementally in one request, with a result per topic.
    async fn alter_configs(
        &self,
        changes: &[ConfigChange],
    ) -> Result<Vec<TopicOutcome>, KafkaError>;

    /// Produces one record and waits for its acknowledgement: the canary `verify` sends
    /// through a route. A backend that carries no records answers
    /// [`KafkaError::NotAvailable`], which `verify` reports as "not verified", not as a failure.
    async fn produce(&self, topic: &str, key: &str, value: &str) -> Result<(), KafkaError>;

    /// The consumer-group offset reader `status` shows lag with: `None` when the backend has
    /// no consumer groups.
    fn lag_reader(&self) -> Option<&LagReader>;

    /// How many admin requests this backend has answered (for round-trip budgets and
    /// benchmarks).
    fn requests(&self) -> usize;
}

/// A Kafka cluster reached through librdkafka: the admin API for topics, a lag reader for
/// `status` and producer settings for `verify`'s canaries.
#[derive(Debug)]
pub struct KafkaBroker {
    admin: KafkaAdmin,
    /// Consumer-group offsets (`status`), when the broker was opened with them.
    lag: Option<LagReader>,
    /// The client settings canary records are produced with (`verify`), when known.
    producer: Option<ClientSettings>,
}

impl KafkaBroker {
    /// A cluster reached through `admin` only (no lag reader, no producer): the admin
    /// round-trip tests use this.
    pub fn new(admin: KafkaAdmin) -> KafkaBroker {
        KafkaBroker {
            admin,
            lag: None,
            producer: None,
        }
    }

    /// The cluster `target` names, with its lag reader and producer settings (the SASL
    /// password is read from its environment variable now).
    pub fn for_target(target: &KafkaConnection) -> Result<KafkaBroker, KafkaError> {
        let settings = ClientSettings::from_target(target)?;
        let admin = KafkaAdmin::new(&settings, AdminTimeouts::default())?;
        Ok(KafkaBroker {
            admin,
            lag: Some(LagReader::new(settings.clone())),
            producer: Some(settings),
        })
    }
}

#[async_trait::async_trait]
impl KafkaBackend for KafkaBroker {
    async fn observe(&self, names: &[String]) -> Result<BTreeMap<String, Topic>, KafkaError> {
        self.admin.observe(names).await
    }

    async fn topic_names(&self) -> Result<Vec<String>, KafkaError> {
        self.admin.topic_names().await
    }

    async fn create_topics(&self, topics: &[Topic]) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.admin.create_topics(topics).await
    }

    async fn create_partitions(
        &self,
        increases: &[PartitionIncrease],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.admin.create_partitions(increases).await
    }

    async fn alter_configs(
        &self,
        changes: &[ConfigChange],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.admin.alter_configs(changes).await
    }

    async fn produce(&self, topic: &str, key: &str, value: &str) -> Result<(), KafkaError> {
        match &self.producer {
            Some(settings) => super::produce::produce_one(settings, topic, key, value).await,
            None => Err(KafkaError::NotAvailable(
                "this Kafka client was opened without producer settings".to_string(),
            )),
        }
    }

    fn lag_reader(&self) -> Option<&LagReader> {
        self.lag.as_ref()
    }

    fn requests(&self) -> usize {
        self.admin.requests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_target_has_a_lag_reader_and_a_producer() {
        let target = KafkaConnection {
            bootstrap_servers: "127.0.0.1:9".to_string(),
            ..KafkaConnection::default()
        };
        let broker = KafkaBroker::for_target(&target).expect("client");
        assert!(broker.lag_reader().is_some());
        assert!(broker.producer.is_some());
        assert_eq!(broker.requests(), 0);
    }
}
