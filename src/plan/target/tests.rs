use std::collections::BTreeMap;

use super::*;
use crate::model::connect::{Connector, RunState};
use crate::model::sink::key;
use crate::plan::{ImpactClass, Target};

fn change(address: &str, action: Action, target: Target) -> Change {
    Change {
        address: address.parse().expect("address"),
        action,
        impact: ImpactClass::Safe,
        summary: String::new(),
        before: None,
        after: None,
        before_state: None,
        after_state: None,
        target,
        kusto_commands: Vec::new(),
        operations: Vec::new(),
        phase: crate::plan::Phase::Topics,
        previous_address: None,
    }
}

fn kusto(address: &str, action: Action) -> Change {
    change(
        address,
        action,
        Target::Kusto {
            database: "gamedb".into(),
        },
    )
}

fn filter(patterns: &[&str]) -> TargetFilter {
    let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
    TargetFilter::new(&patterns).unwrap().unwrap()
}

fn gameplay_sink() -> BTreeMap<String, ConnectCluster> {
    let config = [(
        key::ROUTES.to_string(),
        r#"[{"topic":"gameplay","db":"gamedb","table":"GamePlay","format":"json","mapping":"m"}]"#
            .to_string(),
    )]
    .into_iter()
    .collect();
    let sink = Connector {
        name: "sink".into(),
        config,
        state: RunState::Running,
        renamed_from: None,
    };
    [("main".to_string(), [("sink".to_string(), sink)].into())].into()
}

#[test]
fn a_pattern_selects_its_address_everything_under_it_and_nothing_else() {
    let f = filter(&["kusto.gamedb.table.GamePlay"]);
    assert!(f.matches(&"kusto.gamedb.table.GamePlay".parse().expect("address")));
    assert!(
        f.matches(
            &"kusto.gamedb.table.GamePlay.mapping.m"
                .parse()
                .expect("address")
        )
    );
    assert!(
        !f.matches(&"kusto.gamedb.table.GamePlayers".parse().expect("address")),
        "a prefix is not a parent"
    );
    assert!(!f.matches(&"kusto.gamedb.table.Other".parse().expect("address")));
    let f = filter(&["connect.*.connector.game-*", "kafka.topic.t?"]);
    assert!(f.matches(&"connect.main.connector.game-sink".parse().expect("address")));
    assert!(!f.matches(&"connect.main.connector.other".parse().expect("address")));
    assert!(f.matches(&"kafka.topic.t1".parse().expect("address")));
    assert!(!f.matches(&"kafka.topic.t12".parse().expect("address")));
    assert!(filter(&["*"]).matches(&"kafka.topic.anything".parse().expect("address")));
    assert!(
        !filter(&["kusto.a+b"]).matches(&"kusto.aab".parse().expect("address")),
        "regex characters are literal"
    );
}

#[test]
fn patterns_that_cannot_select_anything_are_refused() {
    assert!(TargetFilter::new(&[]).unwrap().is_none());
    assert_eq!(
        TargetFilter::new(&[" ".to_string()]).unwrap_err(),
        TargetPatternError::Empty
    );
    assert_eq!(
        TargetFilter::new(&["gamedb.table.GamePlay".to_string()]).unwrap_err(),
        TargetPatternError::UnknownSystem("gamedb.table.GamePlay".into())
    );
    assert!(TargetFilter::new(&["k*.topic.x".to_string()]).is_ok());
}

#[test]
fn left_out_changes_are_dropped_and_prunes_outside_the_target_never_run() {
    let changes = vec![
        kusto("kusto.gamedb.table.GamePlay", Action::Update),
        kusto("kusto.gamedb.table.Old", Action::Delete),
        change("kafka.topic.old", Action::Delete, Target::Kafka),
    ];
    let (kept, missing) = select(
        changes,
        &filter(&["kusto.gamedb.table.GamePlay"]),
        &BTreeMap::new(),
    );
    let kept: Vec<&str> = kept.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(kept, vec!["kusto.gamedb.table.GamePlay"]);
    assert_eq!(missing, vec![]);
}

#[test]
fn a_child_of_an_object_still_to_be_created_needs_it() {
    let changes = vec![
        kusto("kusto.gamedb.table.GamePlay", Action::Create),
        kusto("kusto.gamedb.table.GamePlay.mapping.m", Action::Create),
    ];
    let (_, missing) = select(
        changes.clone(),
        &filter(&["kusto.gamedb.table.GamePlay.mapping.m"]),
        &BTreeMap::new(),
    );
    assert_eq!(
        missing,
        vec![MissingDependency {
            change: "kusto.gamedb.table.GamePlay.mapping.m"
                .parse()
                .expect("address"),
            needs: "kusto.gamedb.table.GamePlay".parse().expect("address"),
            because: "it is created there",
        }]
    );
    assert!(
        missing[0]
            .to_string()
            .ends_with("add --target kusto.gamedb.table.GamePlay")
    );
    let (kept, missing) = select(
        changes,
        &filter(&["kusto.gamedb.table.GamePlay"]),
        &BTreeMap::new(),
    );
    assert_eq!(kept.len(), 2, "the table's target includes its mapping");
    assert_eq!(missing, vec![]);
}

#[test]
fn a_change_under_a_renamed_table_needs_the_rename() {
    let mut rename = kusto("kusto.gamedb.table.GamePlays", Action::Update);
    rename.previous_address = Some("kusto.gamedb.table.GamePlay".parse().expect("address"));
    let changes = vec![
        rename,
        kusto("kusto.gamedb.table.GamePlays.mapping.m", Action::Update),
    ];
    let (_, missing) = select(
        changes.clone(),
        &filter(&["kusto.gamedb.table.GamePlays.mapping.m"]),
        &BTreeMap::new(),
    );
    assert_eq!(
        missing,
        vec![MissingDependency {
            change: "kusto.gamedb.table.GamePlays.mapping.m"
                .parse()
                .expect("address"),
            needs: "kusto.gamedb.table.GamePlays".parse().expect("address"),
            because: "it is renamed to there",
        }]
    );
    // An in-place update of the parent is not needed first.
    let (_, missing) = select(
        vec![
            kusto("kusto.gamedb.table.GamePlays", Action::Update),
            kusto("kusto.gamedb.table.GamePlays.mapping.m", Action::Update),
        ],
        &filter(&["kusto.gamedb.table.GamePlays.mapping.m"]),
        &BTreeMap::new(),
    );
    assert_eq!(missing, vec![]);
}

#[test]
fn a_connector_needs_its_routes_topic_table_mapping_and_role_changes() {
    let sink = || {
        change(
            "connect.main.connector.sink",
            Action::Create,
            Target::Connect {
                cluster: "main".into(),
            },
        )
    };
    let changes = vec![
        change("kafka.topic.gameplay", Action::Create, Target::Kafka),
        change("kafka.topic.unrelated", Action::Create, Target::Kafka),
        kusto("kusto.gamedb.table.GamePlay.mapping.m", Action::Update),
        kusto(
            "kusto.gamedb.table.GamePlay.mapping.m.extra",
            Action::Update,
        ),
        kusto("kusto.gamedb.table.Other", Action::Create),
        kusto("kusto.gamedb.role.ingestors.aadapp=x", Action::Create),
        sink(),
    ];
    let (_, missing) = select(
        changes,
        &filter(&["connect.main.connector.sink"]),
        &gameplay_sink(),
    );
    let needs: Vec<&str> = missing.iter().map(|m| m.needs.as_str()).collect();
    assert_eq!(
        needs,
        vec![
            "kafka.topic.gameplay",
            "kusto.gamedb.table.GamePlay.mapping.m",
            "kusto.gamedb.role.ingestors.aadapp=x"
        ]
    );
    let (kept, missing) = select(
        vec![
            change("kafka.topic.gameplay", Action::Create, Target::Kafka),
            sink(),
        ],
        &filter(&["connect.main.connector.sink", "kafka.topic.gameplay"]),
        &gameplay_sink(),
    );
    assert_eq!((kept.len(), missing.len()), (2, 0));
}

#[test]
fn an_update_policy_needs_its_new_source_and_the_functions_its_query_calls() {
    let mut policy = kusto("kusto.gamedb.table.Wins.policy.update", Action::Create);
    policy.after = Some(
        r#"[{"IsEnabled":true,"Source":"Raw","Query":"WinsOf()","IsTransactional":true}]"#.into(),
    );
    let changes = vec![
        kusto("kusto.gamedb.table.Raw", Action::Create),
        kusto("kusto.gamedb.function.WinsOf", Action::Update),
        kusto("kusto.gamedb.function.WinsOfOld", Action::Create),
        kusto("kusto.gamedb.table.Other", Action::Create),
        policy,
    ];
    let (kept, missing) = select(
        changes,
        &filter(&["kusto.gamedb.table.Wins"]),
        &BTreeMap::new(),
    );
    assert_eq!(kept.len(), 1);
    assert_eq!(
        missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "kusto.gamedb.table.Wins.policy.update needs kusto.gamedb.table.Raw (the update policy reads from the table), which --target leaves out; add --target kusto.gamedb.table.Raw",
            "kusto.gamedb.table.Wins.policy.update needs kusto.gamedb.function.WinsOf (the update policy's query calls the function), which --target leaves out; add --target kusto.gamedb.function.WinsOf",
        ]
    );
}

#[test]
fn a_materialized_view_needs_its_new_or_renamed_source() {
    let mut view = kusto("kusto.gamedb.materialized_view.V", Action::Create);
    view.after =
        Some("V on table GamePlay\n{\nGamePlay | summarize count() by PlayerID\n}\n".into());
    let table = kusto("kusto.gamedb.table.GamePlay", Action::Create);
    let other = kusto("kusto.gamedb.table.Other", Action::Create);
    let (kept, missing) = select(
        vec![table.clone(), other, view.clone()],
        &filter(&["kusto.gamedb.materialized_view.V"]),
        &BTreeMap::new(),
    );
    assert_eq!(kept.len(), 1);
    assert_eq!(
        missing
            .iter()
            .map(|m| (m.needs.as_str(), m.because))
            .collect::<Vec<_>>(),
        [(
            "kusto.gamedb.table.GamePlay",
            "the materialized view reads from it"
        )]
    );
    // A source view that is created too is needed the same way; an updated one is not.
    view.after = Some("V on table Dedup\n{\nDedup | summarize count() by PlayerID\n}\n".into());
    let dedup = kusto("kusto.gamedb.materialized_view.Dedup", Action::Create);
    let (_, missing) = select(
        vec![dedup, view.clone()],
        &filter(&["kusto.gamedb.materialized_view.V"]),
        &BTreeMap::new(),
    );
    assert_eq!(missing.len(), 1);
    let dedup = kusto("kusto.gamedb.materialized_view.Dedup", Action::Update);
    let (_, missing) = select(
        vec![dedup, view],
        &filter(&["kusto.gamedb.materialized_view.V"]),
        &BTreeMap::new(),
    );
    assert!(missing.is_empty());
}
