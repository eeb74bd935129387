//! Rules of `Topic` documents.

use super::*;

impl<'a> Validator<'a> {
    pub(super) fn topics(&mut self) {
        let topics = &self.m.topics;
        self.duplicates("topic", topics, |t| t.name.value.clone(), |t| t.name.loc);
        for t in topics {
            if let Err(reason) = check_kafka_topic_name(&t.name) {
                self.push(
                    Diagnostic::at(
                        t.name.loc,
                        format!("invalid topic name `{}`: {reason}", t.name.value),
                    )
                    .hint("Kafka topic names use ASCII letters, digits, '.', '_', '-'"),
                );
            }
            if t.partitions.value == 0 {
                self.push(
                    Diagnostic::at(t.partitions.loc, "a topic needs at least 1 partition")
                        .hint("set `partitions:` to 1 or more"),
                );
            }
            if let Some(rf) = &t.replication_factor
                && rf.value == 0
            {
                self.push(
                    Diagnostic::at(rf.loc, "`replication_factor` must be at least 1")
                        .hint("set it to 1 or more, or omit it for the broker default"),
                );
            }
        }
    }
}
