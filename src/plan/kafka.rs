//! The Kafka topic diff. Pure. Partitions can only grow and the replication factor cannot be
//! changed through the admin API, so asking for either is an error in the plan, not a change.

use std::collections::BTreeMap;

use super::connect::describe;
use super::phase::TOPICS;
use super::{Action, Change, ImpactClass, Operation, Target};
use crate::model::connect::Topic;

/// A declared topic that no plan can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    /// `kafka.topic.NAME`.
    pub address: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Changes that take the live topics to the declared ones, and the declared topics that cannot
/// be reached. Undeclared live topics are never touched.
pub fn diff(
    desired: &BTreeMap<String, Topic>,
    observed: &BTreeMap<String, Topic>,
) -> (Vec<Change>, Vec<TopicError>) {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for (name, want) in desired {
        let address = format!("kafka.topic.{name}");
        let Some(have) = observed.get(name) else {
            changes.push(change(
                &address,
                Action::Create,
                format!("create topic {name} with {} partitions", want.partitions),
                None,
                Some(topic_text(want)),
                vec![Operation::CreateTopic {
                    topic: want.clone(),
                }],
            ));
            continue;
        };
        if want.partitions < have.partitions {
            errors.push(TopicError {
                address: address.clone(),
                message: format!(
                    "topic {name} has {} partitions and cannot shrink to {}; declare {} or more (or recreate the topic by hand)",
                    have.partitions, want.partitions, have.partitions
                ),
            });
        }
        if let (Some(w), Some(h)) = (want.replication_factor, have.replication_factor)
            && w != h
        {
            errors.push(TopicError {
                address: address.clone(),
                message: format!(
                    "topic {name} has replication factor {h}, not {w}; the admin API cannot change it (use partition reassignment), so declare {h}"
                ),
            });
        }
        if want.partitions > have.partitions {
            changes.push(change(
                &address,
                Action::Update,
                format!(
                    "grow topic {name} from {} to {} partitions (new records with a key may land in another partition)",
                    have.partitions, want.partitions
                ),
                Some(format!("partitions = {}\n", have.partitions)),
                Some(format!("partitions = {}\n", want.partitions)),
                vec![Operation::CreatePartitions { topic: name.clone(), total: want.partitions }],
            ));
        }
        let configs: BTreeMap<String, Option<String>> = want
            .configs
            .iter()
            .filter(|(k, v)| have.configs.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        if !configs.is_empty() {
            let line = |m: &BTreeMap<String, String>| -> String {
                configs
                    .keys()
                    .map(|k| format!("{k} = {}\n", m.get(k).map_or("(default)", String::as_str)))
                    .collect()
            };
            changes.push(change(
                &format!("{address}.config"),
                Action::Update,
                format!(
                    "set {} on topic {name}",
                    configs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                Some(line(&have.configs)),
                Some(line(&want.configs)),
                vec![Operation::AlterTopicConfigs {
                    topic: name.clone(),
                    configs,
                }],
            ));
        }
    }
    (changes, errors)
}

fn topic_text(t: &Topic) -> String {
    let mut s = format!("partitions = {}\n", t.partitions);
    if let Some(rf) = t.replication_factor {
        s.push_str(&format!("replication_factor = {rf}\n"));
    }
    for (k, v) in &t.configs {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

fn change(
    address: &str,
    action: Action,
    summary: String,
    before: Option<String>,
    after: Option<String>,
    operations: Vec<Operation>,
) -> Change {
    Change {
        address: address.to_string(),
        action,
        impact: ImpactClass::Safe,
        summary,
        before,
        after,
        target: Target::Kafka,
        commands: operations.iter().map(describe).collect(),
        operations,
        phase: TOPICS,
    }
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

    fn map(topics: Vec<Topic>) -> BTreeMap<String, Topic> {
        topics.into_iter().map(|t| (t.name.clone(), t)).collect()
    }

    #[test]
    fn create_grow_configure_and_refuse_shrinking() {
        let desired = map(vec![
            topic("new", 4, &[]),
            topic("grow", 8, &[("retention.ms", "1000")]),
            topic("shrink", 2, &[]),
            topic("same", 1, &[("cleanup.policy", "compact")]),
        ]);
        let observed = map(vec![
            topic("grow", 4, &[("retention.ms", "5000"), ("segment.ms", "1")]),
            topic("shrink", 6, &[]),
            topic("same", 1, &[("cleanup.policy", "compact"), ("other", "x")]),
            topic("undeclared", 3, &[]),
        ]);
        let (changes, errors) = diff(&desired, &observed);
        let got: Vec<(&str, Action, Vec<String>)> = changes
            .iter()
            .map(|c| (c.address.as_str(), c.action, c.commands.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "kafka.topic.grow",
                    Action::Update,
                    vec!["CreatePartitions grow to 8".to_string()]
                ),
                (
                    "kafka.topic.grow.config",
                    Action::Update,
                    vec!["IncrementalAlterConfigs grow: set retention.ms=1000".to_string()]
                ),
                (
                    "kafka.topic.new",
                    Action::Create,
                    vec![
                        "CreateTopics new (partitions 4, replication factor broker default)"
                            .to_string()
                    ]
                ),
            ]
        );
        assert_eq!(
            errors,
            vec![TopicError {
                address: "kafka.topic.shrink".into(),
                message: "topic shrink has 6 partitions and cannot shrink to 2; declare 6 or more (or recreate the topic by hand)".into(),
            }]
        );
    }
}
