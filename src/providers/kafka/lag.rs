//! Consumer-group offsets for `kustoplan status`: how far a sink connector's consumer group is
//! behind each partition of its topics.
//!
//! Read with a plain librdkafka consumer that carries the group's `group.id` but never
//! subscribes, so it never joins the group: joining would trigger a rebalance of the running
//! sink tasks. It asks the group coordinator for the committed offsets of an explicit partition
//! list (OffsetFetch) and each partition's leader for its watermarks (ListOffsets). Every call
//! has librdkafka's own timeout and the whole read an outer wall-clock limit, so a silent
//! broker cannot hang `status`. Since the consumer is never polled, an OAUTHBEARER target's
//! token requests are answered by a refresh pump (`native::RefreshPump`) for the length of the
//! read.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

use super::native::RefreshPump;
use super::oauth::KafkaContext;
use super::{ClientSettings, KafkaError};

/// The offsets of one partition, as read from the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// Partition number.
    pub partition: i32,
    /// The earliest offset still in the log (after retention).
    pub low_watermark: i64,
    /// The offset the next record will get.
    pub high_watermark: i64,
    /// The group's committed offset (the next record it will read); `None` before its first
    /// commit.
    pub committed: Option<i64>,
}

impl PartitionOffsets {
    /// Records the group has not consumed: high watermark minus the committed offset, or minus
    /// the low watermark when the group never committed (it will start from the earliest record
    /// still kept, or skip them if it starts from the latest: the sink's
    /// `consumer.auto.offset.reset` decides). Never negative.
    pub fn lag(&self) -> i64 {
        let from = self.committed.unwrap_or(self.low_watermark);
        (self.high_watermark - from).max(0)
    }
}

/// The offsets of one topic for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOffsets {
    /// The topic.
    pub topic: String,
    /// Its partitions in order; empty when the topic does not exist.
    pub partitions: Vec<PartitionOffsets>,
    /// Whether the broker knows the topic.
    pub exists: bool,
}

/// Reads consumer-group offsets from one Kafka cluster. Holds only the client settings: a
/// consumer is created per read, because `group.id` is fixed per consumer.
#[derive(Debug, Clone)]
pub struct LagReader {
    settings: ClientSettings,
    timeout: Duration,
}

impl LagReader {
    /// Per-request timeout of metadata, watermark and offset requests.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    /// A reader for the cluster `settings` describe (security and timeouts included).
    pub fn new(settings: ClientSettings) -> LagReader {
        LagReader {
            settings,
            timeout: LagReader::TIMEOUT,
        }
    }

    /// The same reader with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> LagReader {
        self.timeout = timeout;
        self
    }

    /// The bootstrap servers, for messages.
    pub fn bootstrap(&self) -> &str {
        self.settings.bootstrap()
    }

    /// The committed offsets of `group` and the watermarks of every partition of `topics`:
    /// one metadata request per topic, one watermark request per partition and one
    /// OffsetFetch for all partitions. Each request is bounded by the per-request timeout, the
    /// whole read by an outer limit.
    pub async fn read(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Vec<TopicOffsets>, KafkaError> {
        const OP: &str = "OffsetFetch";
        let mut config = self.settings.client_config();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("allow.auto.create.topics", "false");
        let setup_failed = |detail: String| KafkaError::Request {
            operation: "client setup",
            bootstrap: self.bootstrap().to_string(),
            detail,
        };
        let consumer: Arc<BaseConsumer<KafkaContext>> = Arc::new(
            config
                .create_with_context(self.settings.context())
                .map_err(|e| setup_failed(e.to_string()))?,
        );
        // Ends with the read: dropped when this function returns.
        let _pump = match self.settings.oauth() {
            Some(oauth) => Some(
                RefreshPump::start(Arc::clone(&consumer), |c| c.client(), Arc::clone(oauth))
                    .map_err(|e| setup_failed(format!("cannot start the token pump: {e}")))?,
            ),
            None => None,
        };
        let timeout = self.timeout;
        let names = topics.to_vec();
        let reading =
            tokio::task::spawn_blocking(move || read_blocking(&consumer, &names, timeout));
        // Metadata and watermarks per topic, and the OffsetFetch: a few request timeouts per
        // topic is plenty for a live broker and still ends a hang.
        let requests = u32::try_from(3 * topics.len() + 2).unwrap_or(u32::MAX);
        let limit = timeout.saturating_mul(requests) + Duration::from_secs(2);
        let read = match tokio::time::timeout(limit, reading).await {
            Err(_) => Err(KafkaError::TimedOut {
                operation: OP,
                bootstrap: self.bootstrap().to_string(),
                timeout: limit,
                detail: "no offsets within the time limit".to_string(),
            }),
            Ok(Err(join)) => Err(KafkaError::Request {
                operation: OP,
                bootstrap: self.bootstrap().to_string(),
                detail: format!("offset reader thread failed: {join}"),
            }),
            Ok(Ok(result)) => result.map_err(|(operation, e)| match e {
                RdError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut)
                | RdError::OffsetFetch(RDKafkaErrorCode::OperationTimedOut) => {
                    KafkaError::TimedOut {
                        operation,
                        bootstrap: self.bootstrap().to_string(),
                        timeout,
                        detail: e.to_string(),
                    }
                }
                other => KafkaError::Request {
                    operation,
                    bootstrap: self.bootstrap().to_string(),
                    detail: other.to_string(),
                },
            }),
        };
        // Without a token librdkafka never connects: that, not the timeout, is the reason.
        read.map_err(|e| match self.settings.token_failure() {
            Some(source) => KafkaError::Token {
                operation: OP,
                bootstrap: self.bootstrap().to_string(),
                source: Box::new(source),
            },
            None => e,
        })
    }
}

type Failed = (&'static str, RdError);

fn read_blocking(
    consumer: &BaseConsumer<KafkaContext>,
    topics: &[String],
    timeout: Duration,
) -> Result<Vec<TopicOffsets>, Failed> {
    let mut out = Vec::with_capacity(topics.len());
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| ("Metadata", e))?;
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none());
        let Some(found) = found else {
            out.push(TopicOffsets {
                topic: topic.clone(),
                partitions: Vec::new(),
                exists: false,
            });
            continue;
        };
        let mut ids: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        let mut partitions = Vec::with_capacity(ids.len());
        for id in ids {
            let (low, high) = consumer
                .fetch_watermarks(topic, id, timeout)
                .map_err(|e| ("ListOffsets", e))?;
            tpl.add_partition(topic, id);
            partitions.push(PartitionOffsets {
                partition: id,
                low_watermark: low,
                high_watermark: high,
                committed: None,
            });
        }
        out.push(TopicOffsets {
            topic: topic.clone(),
            partitions,
            exists: true,
        });
    }
    if tpl.count() == 0 {
        return Ok(out);
    }
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .map_err(|e| ("OffsetFetch", e))?;
    for element in committed.elements() {
        let Offset::Offset(offset) = element.offset() else {
            continue;
        };
        let partition = out
            .iter_mut()
            .filter(|t| t.topic == element.topic())
            .flat_map(|t| t.partitions.iter_mut())
            .find(|p| p.partition == element.partition());
        if let Some(p) = partition {
            p.committed = Some(offset);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(low: i64, high: i64, committed: Option<i64>) -> PartitionOffsets {
        PartitionOffsets {
            partition: 0,
            low_watermark: low,
            high_watermark: high,
            committed,
        }
    }

    #[test]
    fn lag_counts_from_the_committed_offset_or_else_the_low_watermark() {
        assert_eq!(offsets(0, 10, Some(4)).lag(), 6);
        assert_eq!(offsets(3, 10, None).lag(), 7);
        assert_eq!(offsets(0, 10, Some(10)).lag(), 0);
        assert_eq!(
            offsets(0, 10, Some(12)).lag(),
            0,
            "a commit past a truncated log is not negative lag"
        );
    }

    #[tokio::test]
    async fn an_unreachable_broker_fails_within_the_time_limit() {
        let mut settings = ClientSettings::plaintext("127.0.0.1:9");
        settings.set("socket.connection.setup.timeout.ms", "1000");
        let reader = LagReader::new(settings).with_timeout(Duration::from_millis(500));
        let started = std::time::Instant::now();
        let err = reader
            .read("connect-nothing", &["t".to_string()])
            .await
            .expect_err("no broker");
        assert!(started.elapsed() < Duration::from_secs(10), "{err}");
        assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    }
}
