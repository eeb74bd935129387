//! The Kafka topic diff. Pure. Partitions can only grow and the replication factor cannot be
//! changed through the admin API, so asking for either is an error in the plan, not a change.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Address;
use super::{Action, Change, ImpactClass, Operation, Phase, Side, Target};
use crate::model::connect::Topic;

/// A declared topic that no plan can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    /// `kafka.topic.NAME`.
    pub address: Address,
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
        let address = Address::kafka_topic(name);
        let Some(have) = observed.get(name) else {
            changes.push(change(
                &address,
                Action::Create,
                ImpactClass::Safe,
                format!("create topic {name} with {} partitions", want.partitions),
                None,
                Some(topic_side(want)),
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
                ImpactClass::Safe,
                format!(
                    "grow topic {name} from {} to {} partitions (new records with a key may land in another partition)",
                    have.partitions, want.partitions
                ),
                Some(partitions_side(have.partitions)),
                Some(partitions_side(want.partitions)),
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
            let deleting: Vec<&str> = configs
                .keys()
                .filter(|k| deletes_records(k, have.configs.get(*k), want.configs.get(*k)))
                .map(String::as_str)
                .collect();
            let (impact, consequence) = if deleting.is_empty() {
                (ImpactClass::Safe, String::new())
            } else {
                (
                    ImpactClass::DataLoss,
                    format!(
                        " ({} may delete records the broker keeps today)",
                        deleting.join(", ")
                    ),
                )
            };
            changes.push(change(
                &address.topic_config(),
                Action::Update,
                impact,
                format!(
                    "set {} on topic {name}{consequence}",
                    configs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                Some(configs_side(&configs, &have.configs)),
                Some(configs_side(&configs, &want.configs)),
                vec![Operation::AlterTopicConfigs {
                    topic: name.clone(),
                    configs,
                }],
            ));
        }
    }
    (changes, errors)
}

/// How a plan shows a topic it creates: `key = value` lines, and `{"partitions",
/// "replication_factor", "configs"}` (`replication_factor` null for the broker default).
fn topic_side(t: &Topic) -> Side {
    let mut s = format!("partitions = {}\n", t.partitions);
    if let Some(rf) = t.replication_factor {
        s.push_str(&format!("replication_factor = {rf}\n"));
    }
    for (k, v) in &t.configs {
        s.push_str(&format!("{k} = {v}\n"));
    }
    let state = json!({
        "partitions": t.partitions,
        "replication_factor": t.replication_factor,
        "configs": t.configs,
    });
    Side::new(s, state)
}

/// A topic's partition count as a growth shows it (`partitions = 4`; `{"partitions": 4}`).
fn partitions_side(partitions: u32) -> Side {
    Side::new(
        format!("partitions = {partitions}\n"),
        json!({ "partitions": partitions }),
    )
}

/// The values, on one side of a change, of the topic configs it sets: `key = value` lines with
/// `(default)` where the key is not set, and `{"configs": {key: value}}` with `null` there.
fn configs_side(
    changed: &BTreeMap<String, Option<String>>,
    side: &BTreeMap<String, String>,
) -> Side {
    let text = changed
        .keys()
        .map(|k| {
            format!(
                "{k} = {}\n",
                side.get(k).map_or("(default)", String::as_str)
            )
        })
        .collect();
    let configs: serde_json::Map<String, Value> = changed
        .keys()
        .map(|k| (k.clone(), side.get(k).map_or(Value::Null, |v| json!(v))))
        .collect();
    Side::new(text, json!({ "configs": configs }))
}

/// Whether changing a topic config from `before` (`None`: the broker default, unknown here) to
/// `after` can delete records the broker keeps today: a shorter or newly finite retention, or
/// compaction switched on (it drops all but the latest record per key).
fn deletes_records(key: &str, before: Option<&String>, after: Option<&String>) -> bool {
    let Some(after) = after else {
        return false;
    };
    match key {
        "retention.ms" | "retention.bytes" | "local.retention.ms" | "local.retention.bytes" => {
            let limit = |v: &str| -> Option<i64> {
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .map(|n| if n < 0 { i64::MAX } else { n })
            };
            match (before.and_then(|b| limit(b)), limit(after)) {
                (_, Some(i64::MAX)) => false,
                (Some(b), Some(a)) => a < b,
                _ => true,
            }
        }
        "cleanup.policy" => {
            let compacts = |v: &str| v.split(',').any(|p| p.trim() == "compact");
            compacts(after) && !before.is_some_and(|b| compacts(b))
        }
        _ => false,
    }
}

fn change(
    address: &Address,
    action: Action,
    impact: ImpactClass,
    summary: String,
    before: Option<Side>,
    after: Option<Side>,
    operations: Vec<Operation>,
) -> Change {
    let (before, before_state) = Side::split(before);
    let (after, after_state) = Side::split(after);
    Change {
        address: address.clone(),
        action,
        impact,
        summary,
        before,
        after,
        before_state,
        after_state,
        target: Target::Kafka,
        kusto_commands: Vec::new(),
        operations,
        phase: Phase::Topics,
        previous_address: None,
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
            .map(|c| (c.address.as_str(), c.action, c.command_texts()))
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
                address: "kafka.topic.shrink".parse().expect("address"),
                message: "topic shrink has 6 partitions and cannot shrink to 2; declare 6 or more (or recreate the topic by hand)".into(),
            }]
        );
    }

    #[test]
    fn configs_that_can_delete_records_are_data_loss() {
        let s = |v: &str| Some(v.to_string());
        let cases = [
            ("retention.ms", s("604800000"), s("86400000"), true),
            ("retention.ms", s("86400000"), s("604800000"), false),
            ("retention.ms", s("-1"), s("604800000"), true),
            ("retention.ms", s("604800000"), s("-1"), false),
            ("retention.ms", None, s("86400000"), true),
            ("retention.bytes", s("1000"), s("2000"), false),
            ("cleanup.policy", s("delete"), s("compact"), true),
            ("cleanup.policy", s("compact"), s("compact,delete"), false),
            ("cleanup.policy", None, s("delete"), false),
            ("max.message.bytes", s("1"), s("2"), false),
        ];
        for (key, before, after, expected) in cases {
            assert_eq!(
                deletes_records(key, before.as_ref(), after.as_ref()),
                expected,
                "{key}: {before:?} -> {after:?}"
            );
        }
        let topic = |retention: &str| {
            BTreeMap::from([(
                "t".to_string(),
                Topic {
                    name: "t".into(),
                    partitions: 1,
                    replication_factor: None,
                    configs: BTreeMap::from([("retention.ms".into(), retention.into())]),
                },
            )])
        };
        let (changes, _) = diff(&topic("3600000"), &topic("604800000"));
        assert_eq!(changes[0].impact, ImpactClass::DataLoss);
        assert_eq!(
            changes[0].summary,
            "set retention.ms on topic t (retention.ms may delete records the broker keeps today)"
        );
    }

    /// Each topic change carries its sides as JSON: the whole topic when created, the
    /// partition count when grown, and the configs it sets (null for a broker default).
    #[test]
    fn topic_changes_carry_their_states_as_json_objects() {
        let mut created = topic("t", 3, &[("retention.ms", "3600000")]);
        created.replication_factor = Some(2);
        let (changes, _) = diff(&map(vec![created]), &BTreeMap::new());
        assert_eq!(changes[0].before_state, None);
        assert_eq!(
            changes[0].after_state,
            Some(json!({
                "partitions": 3,
                "replication_factor": 2,
                "configs": {"retention.ms": "3600000"}
            }))
        );
        let (changes, _) = diff(
            &map(vec![topic(
                "t",
                6,
                &[("retention.ms", "7200000"), ("cleanup.policy", "delete")],
            )]),
            &map(vec![topic("t", 3, &[("retention.ms", "3600000")])]),
        );
        let states: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.address.as_str(),
                    c.before_state.clone(),
                    c.after_state.clone(),
                )
            })
            .collect();
        assert_eq!(
            states,
            vec![
                (
                    "kafka.topic.t",
                    Some(json!({"partitions": 3})),
                    Some(json!({"partitions": 6}))
                ),
                (
                    "kafka.topic.t.config",
                    Some(json!({"configs": {"cleanup.policy": null, "retention.ms": "3600000"}})),
                    Some(
                        json!({"configs": {"cleanup.policy": "delete", "retention.ms": "7200000"}})
                    )
                ),
            ]
        );
        assert_eq!(
            changes[1].before.as_deref(),
            Some("cleanup.policy = (default)\nretention.ms = 3600000\n")
        );
    }
}
