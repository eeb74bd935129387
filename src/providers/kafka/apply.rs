//! Apply of planned topic operations, written once against [`KafkaBackend`].
//!
//! A plan's Kafka operations are sent as at most three batched requests, in this order:
//! CreateTopics, CreatePartitions, IncrementalAlterConfigs. Kafka's batched requests are not
//! transactional, so the report lists each operation with its own result; a request that fails
//! as a whole stops the apply, and its operations and the later ones are reported as not run
//! (for a timed-out write, re-observe: it may have taken effect).

use super::{ConfigChange, KafkaBackend, KafkaError, PartitionIncrease, TopicError, TopicOutcome};
use crate::plan::Operation;

/// What applying a plan's topic operations did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicApplyReport {
    /// Operations that were sent, with each one's result, in the order sent.
    pub ran: Vec<(Operation, Result<(), TopicError>)>,
    /// The request that failed as a whole, if one did.
    pub error: Option<KafkaError>,
    /// Operations not sent (or, when `error` is a timeout, of unknown outcome), in plan order.
    pub not_run: Vec<Operation>,
}

impl TopicApplyReport {
    /// Whether every operation ran and succeeded.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.not_run.is_empty() && self.ran.iter().all(|(_, r)| r.is_ok())
    }
}

/// Sends the Kafka operations among `operations` (others are ignored) in at most three requests.
pub async fn execute(transport: &dyn KafkaBackend, operations: &[Operation]) -> TopicApplyReport {
    let mut creates = Vec::new();
    let mut grows = Vec::new();
    let mut alters = Vec::new();
    for op in operations {
        match op {
            Operation::CreateTopic { .. } => creates.push(op.clone()),
            Operation::CreatePartitions { .. } => grows.push(op.clone()),
            Operation::AlterTopicConfigs { .. } => alters.push(op.clone()),
            _ => {}
        }
    }
    let mut report = TopicApplyReport::default();
    let batches = [creates, grows, alters];
    for (i, batch) in batches.iter().enumerate() {
        if batch.is_empty() {
            continue;
        }
        match send(transport, batch).await {
            Ok(outcomes) => report.ran.extend(pair(batch, outcomes)),
            Err(e) => {
                report.error = Some(e);
                report.not_run = batches[i..].iter().flatten().cloned().collect();
                break;
            }
        }
    }
    report
}

/// One request for a batch of operations of the same kind.
async fn send(
    transport: &dyn KafkaBackend,
    batch: &[Operation],
) -> Result<Vec<TopicOutcome>, KafkaError> {
    match batch.first() {
        Some(Operation::CreateTopic { .. }) => {
            let topics: Vec<_> = batch
                .iter()
                .filter_map(|op| match op {
                    Operation::CreateTopic { topic } => Some(topic.clone()),
                    _ => None,
                })
                .collect();
            transport.create_topics(&topics).await
        }
        Some(Operation::CreatePartitions { .. }) => {
            let increases: Vec<_> = batch
                .iter()
                .filter_map(|op| match op {
                    Operation::CreatePartitions { topic, total } => Some(PartitionIncrease {
                        topic: topic.clone(),
                        total: *total,
                    }),
                    _ => None,
                })
                .collect();
            transport.create_partitions(&increases).await
        }
        Some(Operation::AlterTopicConfigs { .. }) => {
            let changes: Vec<_> = batch
                .iter()
                .filter_map(|op| match op {
                    Operation::AlterTopicConfigs { topic, configs } => {
                        Some(ConfigChange::from_plan(topic, configs))
                    }
                    _ => None,
                })
                .collect();
            transport.alter_configs(&changes).await
        }
        _ => Ok(Vec::new()),
    }
}

fn topic_of(op: &Operation) -> &str {
    match op {
        Operation::CreateTopic { topic } => &topic.name,
        Operation::CreatePartitions { topic, .. } | Operation::AlterTopicConfigs { topic, .. } => {
            topic
        }
        _ => "",
    }
}

/// Matches per-topic results back to operations by topic name (brokers may answer in any
/// order). An operation without a result is reported as such rather than as a success.
fn pair(
    batch: &[Operation],
    mut outcomes: Vec<TopicOutcome>,
) -> Vec<(Operation, Result<(), TopicError>)> {
    batch
        .iter()
        .map(|op| {
            let result = match outcomes.iter().position(|o| o.topic == topic_of(op)) {
                Some(i) => outcomes.swap_remove(i).result,
                None => Err(TopicError::new(
                    super::TopicErrorKind::Other,
                    "the broker returned no result for this topic; observe again to see whether it changed",
                )),
            };
            (op.clone(), result)
        })
        .collect()
}
