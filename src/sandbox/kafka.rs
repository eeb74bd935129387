//! The built-in sandbox's Kafka topic metadata: an in-process topic store persisted as JSON in
//! the sandbox directory, so `bootstrap_servers: sandbox` plans and applies topics with no
//! broker.
//!
//! It answers the same operations as a broker's admin API ([`KafkaSandbox::observe`],
//! [`KafkaSandbox::create_topics`], [`KafkaSandbox::create_partitions`],
//! [`KafkaSandbox::alter_configs`]) with the same per-topic results and Kafka's rules, so a plan
//! that works here fails where Kafka would fail: an existing topic is `TopicAlreadyExists`, a
//! partition decrease (or no increase) is `InvalidPartitions`, an unknown topic config name or a
//! value of the wrong type is `InvalidConfig`, a bad topic name is `InvalidTopic`.
//!
//! Choices where a single-process stand-in must differ from a cluster: any replication factor is
//! accepted and remembered (there are no brokers to count); `None` (broker default) is stored as
//! 1, the default of a single-broker cluster. Configs are stored as given (only the topic's own
//! overrides, as a broker reports them with `DescribeConfigs`).
//!
//! Every successful mutating request is saved before it is acknowledged, with write-temp, fsync,
//! rename, fsync-dir, so a crash leaves either the old or the new file, never a torn one. A
//! request applies to a copy of the state; if saving fails, nothing changes in memory either.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::persist::{self, PersistError};
use crate::model::check_kafka_topic_name;
use crate::model::connect::Topic;
use crate::providers::kafka::{
    ConfigChange, KafkaBackend, KafkaError, LagReader, PartitionIncrease, TopicError,
    TopicErrorKind, TopicOutcome,
};

/// File name of the topic store inside the sandbox directory.
pub const STATE_FILE: &str = "kafka-topics.json";
/// Version of the file's format.
const STATE_FORMAT: u32 = 1;

/// The persisted document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    format: u32,
    topics: BTreeMap<String, Topic>,
}

/// Why the sandbox's topic store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Filesystem failure.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file exists but is not a topic store this version understands. It is left alone
    /// for the operator to inspect rather than replaced by an empty store.
    #[error("{path} is not a valid Kafka sandbox state file: {reason}")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The sandbox's topics. Thread-safe; one instance per sandbox directory and process.
#[derive(Debug)]
pub struct KafkaSandbox {
    dir: Option<PathBuf>,
    topics: Mutex<BTreeMap<String, Topic>>,
    /// Requests answered through [`KafkaBackend`] (round-trip budgets count them).
    requests: AtomicUsize,
}

impl KafkaSandbox {
    /// Opens (or starts) the topic store in `dir`, creating the directory if needed.
    pub fn open(dir: &Path) -> Result<KafkaSandbox, OpenError> {
        fs::create_dir_all(dir).map_err(|source| OpenError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(STATE_FILE);
        let loaded = persist::load_json::<State>(&path).map_err(|e| match e {
            PersistError::Io {
                action,
                path,
                source,
            } => OpenError::Io {
                action,
                path,
                source,
            },
            PersistError::Corrupt { path, reason } => OpenError::Corrupt { path, reason },
        })?;
        let topics = match loaded {
            Some(state) if state.format != STATE_FORMAT => {
                return Err(OpenError::Corrupt {
                    path,
                    reason: format!(
                        "format {} is not supported (expected {STATE_FORMAT})",
                        state.format
                    ),
                });
            }
            Some(state) => state.topics,
            None => BTreeMap::new(),
        };
        Ok(KafkaSandbox {
            dir: Some(dir.to_path_buf()),
            topics: Mutex::new(topics),
            requests: AtomicUsize::new(0),
        })
    }

    /// A store that lives only in memory (tests, `--dry-run` style uses).
    pub fn in_memory() -> KafkaSandbox {
        KafkaSandbox {
            dir: None,
            topics: Mutex::new(BTreeMap::new()),
            requests: AtomicUsize::new(0),
        }
    }

    /// Where the store is persisted, if anywhere.
    pub fn state_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(STATE_FILE))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Topic>> {
        // Requests run on a copy and are swapped in whole, so a poisoned lock is consistent.
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every topic's name, as a metadata request lists them.
    pub fn topic_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The named topics that exist, as a broker would report them.
    pub fn observe(&self, names: &[String]) -> BTreeMap<String, Topic> {
        let topics = self.lock();
        names
            .iter()
            .filter_map(|n| topics.get(n).map(|t| (n.clone(), t.clone())))
            .collect()
    }

    /// Creates topics; each topic's result is reported on its own.
    pub fn create_topics(&self, topics: &[Topic]) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.mutate(|state| {
            topics
                .iter()
                .map(|t| {
                    let result = create(state, t);
                    TopicOutcome {
                        topic: t.name.clone(),
                        result,
                    }
                })
                .collect()
        })
    }

    /// Raises partition counts to the given totals; decreases are refused like Kafka does.
    pub fn create_partitions(
        &self,
        increases: &[PartitionIncrease],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.mutate(|state| {
            increases
                .iter()
                .map(|i| TopicOutcome {
                    topic: i.topic.clone(),
                    result: increase(state, i),
                })
                .collect()
        })
    }

    /// Sets and deletes topic configs incrementally (keys not named are kept). A topic's
    /// change is all or nothing, like IncrementalAlterConfigs.
    pub fn alter_configs(&self, changes: &[ConfigChange]) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.mutate(|state| {
            changes
                .iter()
                .map(|c| TopicOutcome {
                    topic: c.topic.clone(),
                    result: alter(state, c),
                })
                .collect()
        })
    }

    /// Counts one request answered through [`KafkaBackend`].
    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `f` on a copy of the state, saves the copy if anything changed, then swaps it in.
    fn mutate(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Topic>) -> Vec<TopicOutcome>,
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        let mut topics = self.lock();
        let mut next = topics.clone();
        let outcomes = f(&mut next);
        if next != *topics {
            if let Some(dir) = &self.dir {
                save(dir, &next)
                    .map_err(|e| KafkaError::Storage(format!("built-in Kafka sandbox: {e}")))?;
            }
            *topics = next;
        }
        Ok(outcomes)
    }
}

/// The sandbox answers the provider's topic interface in this process, so observe and apply
/// cannot tell it from a broker.
#[async_trait::async_trait]
impl KafkaBackend for KafkaSandbox {
    async fn observe(&self, names: &[String]) -> Result<BTreeMap<String, Topic>, KafkaError> {
        self.count();
        Ok(KafkaSandbox::observe(self, names))
    }

    async fn topic_names(&self) -> Result<Vec<String>, KafkaError> {
        self.count();
        Ok(KafkaSandbox::topic_names(self))
    }

    async fn create_topics(&self, topics: &[Topic]) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.count();
        KafkaSandbox::create_topics(self, topics)
    }

    async fn create_partitions(
        &self,
        increases: &[PartitionIncrease],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.count();
        KafkaSandbox::create_partitions(self, increases)
    }

    async fn alter_configs(
        &self,
        changes: &[ConfigChange],
    ) -> Result<Vec<TopicOutcome>, KafkaError> {
        self.count();
        KafkaSandbox::alter_configs(self, changes)
    }

    async fn produce(&self, _topic: &str, _key: &str, _value: &str) -> Result<(), KafkaError> {
        Err(KafkaError::NotAvailable(
            "the built-in Kafka sandbox keeps topic metadata only and carries no records"
                .to_string(),
        ))
    }

    fn lag_reader(&self) -> Option<&LagReader> {
        None
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

fn err(kind: TopicErrorKind, message: impl Into<String>) -> Result<(), TopicError> {
    Err(TopicError::new(kind, message))
}

fn create(state: &mut BTreeMap<String, Topic>, t: &Topic) -> Result<(), TopicError> {
    if let Err(reason) = check_kafka_topic_name(&t.name) {
        return err(TopicErrorKind::InvalidTopic, reason);
    }
    if state.contains_key(&t.name) {
        return err(
            TopicErrorKind::AlreadyExists,
            format!(
                "the topic already exists (Topic '{}' already exists.)",
                t.name
            ),
        );
    }
    if t.partitions == 0 || i32::try_from(t.partitions).is_err() {
        return err(
            TopicErrorKind::InvalidPartitions,
            format!("{} partitions: a topic needs 1 to 2^31-1", t.partitions),
        );
    }
    if t.replication_factor == Some(0) {
        return err(
            TopicErrorKind::InvalidReplicationFactor,
            "Replication factor must be larger than 0.",
        );
    }
    for (key, value) in &t.configs {
        check_config(key, value)?;
    }
    state.insert(
        t.name.clone(),
        Topic {
            name: t.name.clone(),
            partitions: t.partitions,
            replication_factor: Some(t.replication_factor.unwrap_or(1)),
            configs: t.configs.clone(),
        },
    );
    Ok(())
}

fn increase(state: &mut BTreeMap<String, Topic>, i: &PartitionIncrease) -> Result<(), TopicError> {
    let Some(topic) = state.get_mut(&i.topic) else {
        return err(TopicErrorKind::UnknownTopic, "the topic does not exist");
    };
    if i.total < topic.partitions {
        return err(
            TopicErrorKind::InvalidPartitions,
            format!(
                "Kafka cannot remove partitions: the topic has {} partitions and {} were requested",
                topic.partitions, i.total
            ),
        );
    }
    if i.total == topic.partitions {
        return err(
            TopicErrorKind::InvalidPartitions,
            format!("the topic already has {} partitions", topic.partitions),
        );
    }
    if i32::try_from(i.total).is_err() {
        return err(
            TopicErrorKind::InvalidPartitions,
            format!("{} partitions: a topic has at most 2^31-1", i.total),
        );
    }
    topic.partitions = i.total;
    Ok(())
}

fn alter(state: &mut BTreeMap<String, Topic>, c: &ConfigChange) -> Result<(), TopicError> {
    let Some(topic) = state.get_mut(&c.topic) else {
        return err(TopicErrorKind::UnknownTopic, "the topic does not exist");
    };
    for (key, value) in &c.set {
        check_config(key, value)?;
    }
    for key in &c.delete {
        if kind_of(key).is_none() {
            return err(
                TopicErrorKind::InvalidConfig,
                format!("Unknown topic config name: {key}"),
            );
        }
        if c.set.contains_key(key) {
            return err(
                TopicErrorKind::InvalidConfig,
                format!("config {key} is both set and deleted in one request"),
            );
        }
    }
    for key in &c.delete {
        topic.configs.remove(key);
    }
    for (key, value) in &c.set {
        topic.configs.insert(key.clone(), value.clone());
    }
    Ok(())
}

/// Value types of Kafka's topic-level configs (Kafka 3.9 `TopicConfig`).
#[derive(Clone, Copy)]
enum ConfigKind {
    Long,
    Int,
    Bool,
    Ratio,
    OneOf(&'static [&'static str]),
    List,
    Text,
}

fn kind_of(key: &str) -> Option<ConfigKind> {
    use ConfigKind::*;
    Some(match key {
        "cleanup.policy" => List,
        "compression.type" => OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "compression.gzip.level"
        | "compression.lz4.level"
        | "compression.zstd.level"
        | "max.message.bytes"
        | "index.interval.bytes"
        | "min.insync.replicas"
        | "segment.bytes"
        | "segment.index.bytes" => Int,
        "delete.retention.ms"
        | "file.delete.delay.ms"
        | "flush.messages"
        | "flush.ms"
        | "local.retention.bytes"
        | "local.retention.ms"
        | "max.compaction.lag.ms"
        | "message.timestamp.after.max.ms"
        | "message.timestamp.before.max.ms"
        | "message.timestamp.difference.max.ms"
        | "min.compaction.lag.ms"
        | "retention.bytes"
        | "retention.ms"
        | "segment.jitter.ms"
        | "segment.ms" => Long,
        "message.downconversion.enable"
        | "preallocate"
        | "remote.storage.enable"
        | "remote.log.copy.disable"
        | "remote.log.delete.on.disable"
        | "unclean.leader.election.enable" => Bool,
        "min.cleanable.dirty.ratio" => Ratio,
        "message.timestamp.type" => OneOf(&["CreateTime", "LogAppendTime"]),
        "follower.replication.throttled.replicas"
        | "leader.replication.throttled.replicas"
        | "message.format.version" => Text,
        _ => return None,
    })
}

fn check_config(key: &str, value: &str) -> Result<(), TopicError> {
    let Some(kind) = kind_of(key) else {
        return err(
            TopicErrorKind::InvalidConfig,
            format!("Unknown topic config name: {key}"),
        );
    };
    let v = value.trim();
    let ok = match kind {
        ConfigKind::Long => v.parse::<i64>().is_ok(),
        ConfigKind::Int => v.parse::<i32>().is_ok(),
        ConfigKind::Bool => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        ConfigKind::Ratio => v.parse::<f64>().is_ok_and(|r| (0.0..=1.0).contains(&r)),
        ConfigKind::OneOf(allowed) => allowed.contains(&v),
        ConfigKind::List => v
            .split(',')
            .all(|p| matches!(p.trim(), "delete" | "compact")),
        ConfigKind::Text => true,
    };
    if ok {
        Ok(())
    } else {
        let expected = match kind {
            ConfigKind::Long => "a 64-bit integer".to_string(),
            ConfigKind::Int => "a 32-bit integer".to_string(),
            ConfigKind::Bool => "true or false".to_string(),
            ConfigKind::Ratio => "a number from 0 to 1".to_string(),
            ConfigKind::OneOf(allowed) => format!("one of {}", allowed.join(", ")),
            ConfigKind::List => "delete, compact or both (comma-separated)".to_string(),
            ConfigKind::Text => String::new(),
        };
        err(
            TopicErrorKind::InvalidConfig,
            format!("Invalid value {value} for configuration {key}: expected {expected}"),
        )
    }
}

/// Atomically replaces the state file through the sandboxes' one crash-safe writer (write
/// temp, fsync, rename, fsync directory). Topics are few and small, so the whole document is
/// rewritten; the Kusto sandbox, which can hold tens of thousands of tables, keeps a journal.
fn save(dir: &Path, topics: &BTreeMap<String, Topic>) -> Result<(), String> {
    let state = State {
        format: STATE_FORMAT,
        topics: topics.clone(),
    };
    persist::save_json(dir, STATE_FILE, &state).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, partitions: u32, configs: &[(&str, &str)]) -> Topic {
        Topic {
            name: name.into(),
            partitions,
            replication_factor: None,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn kinds(outcomes: &[TopicOutcome]) -> Vec<(&str, Option<TopicErrorKind>)> {
        outcomes
            .iter()
            .map(|o| (o.topic.as_str(), o.result.as_ref().err().map(|e| e.kind)))
            .collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn create_then_observe_and_existing_topic_fails_alone() {
        let sb = KafkaSandbox::in_memory();
        let out = sb
            .create_topics(&[
                topic("a", 3, &[("retention.ms", "60000")]),
                topic("b", 1, &[]),
            ])
            .expect("create");
        assert_eq!(kinds(&out), [("a", None), ("b", None)]);
        let out = sb
            .create_topics(&[topic("a", 9, &[]), topic("c", 2, &[])])
            .expect("create again");
        assert_eq!(
            kinds(&out),
            [("a", Some(TopicErrorKind::AlreadyExists)), ("c", None)]
        );
        let seen = sb.observe(&names(&["a", "c", "missing"]));
        assert_eq!(seen.keys().collect::<Vec<_>>(), ["a", "c"]);
        let a = &seen["a"];
        assert_eq!(a.partitions, 3, "the failed re-create changed nothing");
        assert_eq!(a.replication_factor, Some(1));
        assert_eq!(a.configs["retention.ms"], "60000");
    }

    #[test]
    fn partitions_only_grow() {
        let sb = KafkaSandbox::in_memory();
        sb.create_topics(&[topic("t", 4, &[])]).expect("create");
        let inc = |topic: &str, total| PartitionIncrease {
            topic: topic.into(),
            total,
        };
        let out = sb
            .create_partitions(&[inc("t", 2), inc("nope", 3)])
            .expect("request");
        assert_eq!(
            kinds(&out),
            [
                ("t", Some(TopicErrorKind::InvalidPartitions)),
                ("nope", Some(TopicErrorKind::UnknownTopic))
            ]
        );
        let msg = &out[0].result.as_ref().expect_err("decrease").message;
        assert!(
            msg.contains("has 4 partitions and 2 were requested"),
            "{msg}"
        );
        let out = sb.create_partitions(&[inc("t", 4)]).expect("request");
        assert_eq!(
            kinds(&out),
            [("t", Some(TopicErrorKind::InvalidPartitions))]
        );
        let out = sb.create_partitions(&[inc("t", 6)]).expect("request");
        assert_eq!(kinds(&out), [("t", None)]);
        assert_eq!(sb.observe(&names(&["t"]))["t"].partitions, 6);
    }

    #[test]
    fn alter_configs_is_incremental_and_all_or_nothing_per_topic() {
        let sb = KafkaSandbox::in_memory();
        sb.create_topics(&[topic(
            "t",
            1,
            &[("retention.ms", "1000"), ("cleanup.policy", "delete")],
        )])
        .expect("create");
        let change = |set: &[(&str, &str)], delete: &[&str]| ConfigChange {
            topic: "t".into(),
            set: set
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            delete: delete.iter().map(|s| s.to_string()).collect(),
        };
        let out = sb
            .alter_configs(&[change(
                &[("max.message.bytes", "2000000")],
                &["retention.ms"],
            )])
            .expect("alter");
        assert_eq!(kinds(&out), [("t", None)]);
        let configs = sb.observe(&names(&["t"]))["t"].configs.clone();
        assert_eq!(
            configs.into_iter().collect::<Vec<_>>(),
            [
                ("cleanup.policy".to_string(), "delete".to_string()),
                ("max.message.bytes".to_string(), "2000000".to_string())
            ]
        );
        // One bad key refuses the whole change of that topic.
        let out = sb
            .alter_configs(&[change(
                &[("retention.ms", "5"), ("retention.msec", "5")],
                &[],
            )])
            .expect("alter");
        let e = out[0].result.as_ref().expect_err("unknown key");
        assert_eq!(e.kind, TopicErrorKind::InvalidConfig);
        assert!(e.message.contains("retention.msec"), "{}", e.message);
        assert!(
            !sb.observe(&names(&["t"]))["t"]
                .configs
                .contains_key("retention.ms")
        );
        let out = sb
            .alter_configs(&[change(&[("retention.ms", "soon")], &[])])
            .expect("alter");
        let e = out[0].result.as_ref().expect_err("bad value");
        assert!(e.message.contains("64-bit integer"), "{}", e.message);
    }

    #[test]
    fn invalid_topics_are_refused_like_kafka() {
        let sb = KafkaSandbox::in_memory();
        let mut rf0 = topic("rf0", 1, &[]);
        rf0.replication_factor = Some(0);
        let out = sb
            .create_topics(&[
                topic("bad name", 1, &[]),
                topic("zero", 0, &[]),
                rf0,
                topic("cfg", 1, &[("cleanup.policy", "shred")]),
            ])
            .expect("create");
        assert_eq!(
            kinds(&out),
            [
                ("bad name", Some(TopicErrorKind::InvalidTopic)),
                ("zero", Some(TopicErrorKind::InvalidPartitions)),
                ("rf0", Some(TopicErrorKind::InvalidReplicationFactor)),
                ("cfg", Some(TopicErrorKind::InvalidConfig)),
            ]
        );
        assert!(
            sb.observe(&names(&["bad name", "zero", "rf0", "cfg"]))
                .is_empty()
        );
    }

    #[test]
    fn state_survives_reopen_and_writes_are_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sb = KafkaSandbox::open(dir.path()).expect("open");
        let mut t = topic("t", 2, &[("retention.ms", "1")]);
        t.replication_factor = Some(3);
        sb.create_topics(&[t.clone()]).expect("create");
        drop(sb);
        let reopened = KafkaSandbox::open(dir.path()).expect("reopen");
        assert_eq!(reopened.observe(&names(&["t"]))["t"], t);
        let files: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        assert_eq!(files, [STATE_FILE], "no temp file is left behind");
    }

    #[test]
    fn corrupt_state_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(STATE_FILE), b"{torn").expect("write");
        let e = KafkaSandbox::open(dir.path()).expect_err("corrupt");
        assert!(matches!(e, OpenError::Corrupt { .. }), "{e}");
        assert_eq!(
            fs::read(dir.path().join(STATE_FILE)).expect("read"),
            b"{torn"
        );
        fs::write(
            dir.path().join(STATE_FILE),
            br#"{"format": 99, "topics": {}}"#,
        )
        .expect("write");
        let e = KafkaSandbox::open(dir.path()).expect_err("future format");
        assert!(e.to_string().contains("format 99"), "{e}");
    }

    #[test]
    fn failed_save_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sb = KafkaSandbox::open(dir.path()).expect("open");
        // A directory where the temp file should go makes the write fail.
        fs::create_dir(dir.path().join(format!("{STATE_FILE}.tmp"))).expect("mkdir");
        let e = sb
            .create_topics(&[topic("t", 1, &[])])
            .expect_err("save fails");
        assert!(matches!(e, KafkaError::Storage(_)), "{e}");
        assert!(sb.observe(&names(&["t"])).is_empty());
    }
}

#[cfg(test)]
mod provider_tests {
    //! The provider's apply against the sandbox: one request per kind of operation, a result
    //! per operation.

    use std::collections::BTreeMap;

    use super::KafkaSandbox;
    use crate::model::connect::Topic;
    use crate::plan::Operation;
    use crate::providers::kafka::apply::execute;
    use crate::providers::kafka::{KafkaBackend, TopicErrorKind};

    fn create(name: &str, partitions: u32) -> Operation {
        Operation::CreateTopic {
            topic: Topic {
                name: name.into(),
                partitions,
                replication_factor: None,
                configs: BTreeMap::from([("retention.ms".into(), "1000".into())]),
            },
        }
    }

    #[tokio::test]
    async fn plan_operations_become_three_requests_with_per_operation_results() {
        let transport = KafkaSandbox::in_memory();
        let report = execute(&transport, &[create("a", 2), create("b", 1)]).await;
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(transport.requests(), 1);

        let ops = vec![
            Operation::AlterTopicConfigs {
                topic: "a".into(),
                configs: BTreeMap::from([
                    ("retention.ms".into(), None),
                    ("cleanup.policy".into(), Some("compact".into())),
                ]),
            },
            Operation::CreatePartitions {
                topic: "a".into(),
                total: 5,
            },
            Operation::CreatePartitions {
                topic: "b".into(),
                total: 1,
            },
            create("a", 9),
            create("c", 1),
        ];
        let report = execute(&transport, &ops).await;
        assert_eq!(transport.requests(), 4, "one request per kind of operation");
        let results: Vec<(String, Option<TopicErrorKind>)> = report
            .ran
            .iter()
            .map(|(op, r)| (describe(op), r.as_ref().err().map(|e| e.kind)))
            .collect();
        assert_eq!(
            results,
            [
                ("create a".to_string(), Some(TopicErrorKind::AlreadyExists)),
                ("create c".to_string(), None),
                ("grow a".to_string(), None),
                (
                    "grow b".to_string(),
                    Some(TopicErrorKind::InvalidPartitions)
                ),
                ("alter a".to_string(), None),
            ]
        );
        assert!(report.error.is_none() && report.not_run.is_empty());
        let seen = KafkaBackend::observe(&transport, &["a".to_string()])
            .await
            .expect("observe");
        assert_eq!(seen["a"].partitions, 5);
        assert_eq!(
            seen["a"].configs,
            BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())])
        );
    }

    fn describe(op: &Operation) -> String {
        let verb = match op {
            Operation::CreateTopic { .. } => "create",
            Operation::CreatePartitions { .. } => "grow",
            _ => "alter",
        };
        let topic = match op {
            Operation::CreateTopic { topic } => topic.name.as_str(),
            Operation::CreatePartitions { topic, .. }
            | Operation::AlterTopicConfigs { topic, .. } => topic.as_str(),
            _ => "",
        };
        format!("{verb} {topic}")
    }
}
