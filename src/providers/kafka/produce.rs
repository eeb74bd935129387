//! One record produced to a topic: the canary `verify` sends through a route, so that the
//! path topic → sink connector → table is exercised exactly as the producers' data takes it.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};

use super::admin::setup_error;
use super::oauth::KafkaContext;
use super::{ClientSettings, KafkaError};

/// How long librdkafka may try to deliver one record before giving up.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Produces `value` with `key` to `topic` and waits for the broker's acknowledgement
/// (`acks=all`, so the record is on every in-sync replica the sink reads from).
pub async fn produce_one(
    settings: &ClientSettings,
    topic: &str,
    key: &str,
    value: &str,
) -> Result<(), KafkaError> {
    let mut config = settings.client_config();
    config.set("acks", "all").set(
        "message.timeout.ms",
        DELIVERY_TIMEOUT.as_millis().to_string(),
    );
    // rdkafka's producer polls its main queue on its own thread, so its context answers
    // librdkafka's OAUTHBEARER token requests without a pump.
    let producer: FutureProducer<KafkaContext> = config
        .create_with_context(settings.context())
        .map_err(|e| KafkaError::Request {
            operation: "producer setup",
            bootstrap: settings.bootstrap().to_string(),
            detail: setup_error(&e),
        })?;
    let record = FutureRecord::to(topic).key(key).payload(value);
    producer
        .send(record, DELIVERY_TIMEOUT)
        .await
        .map(|_| ())
        .map_err(|(e, _)| match settings.token_failure() {
            // Without a token librdkafka never connects: that, not the timeout, is the reason.
            Some(source) => KafkaError::Token {
                operation: "Produce",
                bootstrap: settings.bootstrap().to_string(),
                source: Box::new(source),
            },
            None => KafkaError::Request {
                operation: "Produce",
                bootstrap: settings.bootstrap().to_string(),
                detail: format!("topic {topic}: {e}"),
            },
        })
}
