//! Change addresses: the stable names plans, `--target` patterns and reports use for objects
//! (`kusto.DB.table.T.mapping.M`, `kafka.topic.T`, `connect.CLUSTER.connector.N`).
//!
//! Every address is built here, one constructor per object kind, so the planner, `--target`,
//! `verify` and the renderers cannot spell the same object two ways. Plan files and JSON plans
//! carry the address as its text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The systems an address can start with.
pub const SYSTEMS: [&str; 3] = ["kusto", "kafka", "connect"];

/// The address of one object (or one attribute of an object) a plan changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// `kusto.DB`: the database, and the prefix of everything in it.
    pub fn kusto_database(db: &str) -> Address {
        Address(format!("kusto.{db}"))
    }

    /// `kusto.DB.table.T`.
    pub fn kusto_table(db: &str, table: &str) -> Address {
        Address::kusto_database(db).child("table", table)
    }

    /// `kusto.DB.table.T.mapping.NAME`.
    pub fn kusto_mapping(db: &str, table: &str, name: &str) -> Address {
        Address::kusto_table(db, table).child("mapping", name)
    }

    /// `kusto.DB.function.F`.
    pub fn kusto_function(db: &str, name: &str) -> Address {
        Address::kusto_database(db).child("function", name)
    }

    /// `kusto.DB.materialized_view.V`.
    pub fn kusto_materialized_view(db: &str, name: &str) -> Address {
        Address::kusto_database(db).child("materialized_view", name)
    }

    /// `kafka.topic.T`.
    pub fn kafka_topic(name: &str) -> Address {
        Address(format!("kafka.topic.{name}"))
    }

    /// `connect.CLUSTER.connector.N`.
    pub fn connector(cluster: &str, name: &str) -> Address {
        Address(format!("connect.{cluster}.connector.{name}"))
    }

    /// `TABLE.column.C`, a column of the table at `self`.
    pub fn column(&self, name: &str) -> Address {
        self.child("column", name)
    }

    /// `SCOPE.policy.KIND`, a policy of the database or table at `self` (`retention`,
    /// `update`, …).
    pub fn policy(&self, kind: &str) -> Address {
        self.child("policy", kind)
    }

    /// `SCOPE.role.ROLE.FQN`, a principal's role in the database or table at `self`.
    pub fn role(&self, role: &str, fqn: &str) -> Address {
        Address(format!("{}.role.{role}.{fqn}", self.0))
    }

    /// `OBJECT.docstring`, the docstring of the table, function or view at `self`.
    pub fn docstring(&self) -> Address {
        self.attribute("docstring")
    }

    /// `OBJECT.folder`, the folder of the table, function or view at `self`.
    pub fn folder(&self) -> Address {
        self.attribute("folder")
    }

    /// `kafka.topic.T.config`, the configs of the topic at `self`.
    pub fn topic_config(&self) -> Address {
        self.attribute("config")
    }

    /// `connect.CLUSTER.connector.N.state`, the run state of the connector at `self`.
    pub fn connector_state(&self) -> Address {
        self.attribute("state")
    }

    fn child(&self, kind: &str, name: &str) -> Address {
        Address(format!("{}.{kind}.{name}", self.0))
    }

    fn attribute(&self, name: &str) -> Address {
        Address(format!("{}.{name}", self.0))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `self` names something inside the object at `parent` (`kusto.db.table.T.mapping.M`
    /// inside `kusto.db.table.T`), not merely an address that starts with the same text.
    pub fn is_under(&self, parent: &Address) -> bool {
        self.0
            .strip_prefix(parent.as_str())
            .is_some_and(|rest| rest.starts_with('.'))
    }

    /// Every address `self` lies under, outermost first (`kusto.db`, `kusto.db.table`,
    /// `kusto.db.table.T` for `kusto.db.table.T.mapping.M`): each proper prefix at a `.`.
    pub fn parents(&self) -> Vec<Address> {
        self.0
            .char_indices()
            .filter(|(_, c)| *c == '.')
            .map(|(i, _)| Address(self.0[..i].to_string()))
            .collect()
    }

    /// The name of the connector at `self` when it is one of `cluster`'s connectors.
    pub fn connector_name(&self, cluster: &str) -> Option<&str> {
        self.0
            .strip_prefix("connect.")
            .and_then(|rest| rest.strip_prefix(cluster))
            .and_then(|rest| rest.strip_prefix(".connector."))
    }

    /// The name of a function at `self` when it is one of `db`'s stored functions.
    pub fn function_name(&self, db: &str) -> Option<&str> {
        self.0
            .strip_prefix("kusto.")
            .and_then(|rest| rest.strip_prefix(db))
            .and_then(|rest| rest.strip_prefix(".function."))
    }
}

/// Text that cannot be an address: it names no system kustoplan plans.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address: addresses start with kusto., kafka. or connect.")]
pub struct NotAnAddress(pub String);

/// Reads an address written elsewhere (a test's expectation, a tool's input): any text under one
/// of the [`SYSTEMS`]; the planner itself builds addresses with the constructors.
impl FromStr for Address {
    type Err = NotAnAddress;

    fn from_str(text: &str) -> Result<Address, NotAnAddress> {
        let known = SYSTEMS.iter().any(|system| {
            text.strip_prefix(system)
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
        });
        if known {
            Ok(Address(text.to_string()))
        } else {
            Err(NotAnAddress(text.to_string()))
        }
    }
}

impl PartialEq<str> for Address {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Address {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_form() {
        let table = Address::kusto_table("gamedb", "GamePlay");
        let topic = Address::kafka_topic("gameplay");
        let sink = Address::connector("main", "gameplay-sink");
        let cases = [
            (Address::kusto_database("gamedb"), "kusto.gamedb"),
            (table.clone(), "kusto.gamedb.table.GamePlay"),
            (
                Address::kusto_mapping("gamedb", "GamePlay", "json"),
                "kusto.gamedb.table.GamePlay.mapping.json",
            ),
            (
                Address::kusto_function("gamedb", "Parse"),
                "kusto.gamedb.function.Parse",
            ),
            (
                Address::kusto_materialized_view("gamedb", "Daily"),
                "kusto.gamedb.materialized_view.Daily",
            ),
            (
                table.column("Score"),
                "kusto.gamedb.table.GamePlay.column.Score",
            ),
            (
                table.policy("retention"),
                "kusto.gamedb.table.GamePlay.policy.retention",
            ),
            (
                Address::kusto_database("gamedb").role("viewers", "aaduser=a@b.c"),
                "kusto.gamedb.role.viewers.aaduser=a@b.c",
            ),
            (table.docstring(), "kusto.gamedb.table.GamePlay.docstring"),
            (table.folder(), "kusto.gamedb.table.GamePlay.folder"),
            (topic.clone(), "kafka.topic.gameplay"),
            (topic.topic_config(), "kafka.topic.gameplay.config"),
            (sink.clone(), "connect.main.connector.gameplay-sink"),
            (
                sink.connector_state(),
                "connect.main.connector.gameplay-sink.state",
            ),
        ];
        for (address, text) in cases {
            assert_eq!(address.as_str(), text);
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn an_address_serialises_as_its_text_and_reads_back() {
        let address = Address::kusto_mapping("db", "T", "m");
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(json, r#""kusto.db.table.T.mapping.m""#);
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
    }

    #[test]
    fn under_means_inside_not_merely_a_common_prefix() {
        let table = Address::kusto_table("db", "T");
        assert!(Address::kusto_mapping("db", "T", "m").is_under(&table));
        assert!(!Address::kusto_table("db", "T2").is_under(&table));
        assert!(!table.is_under(&table));
        let parents: Vec<String> = Address::kusto_mapping("db", "T", "m")
            .parents()
            .iter()
            .map(Address::to_string)
            .collect();
        assert_eq!(
            parents,
            [
                "kusto",
                "kusto.db",
                "kusto.db.table",
                "kusto.db.table.T",
                "kusto.db.table.T.mapping"
            ]
        );
    }

    #[test]
    fn text_under_a_known_system_parses_and_other_text_does_not() {
        let table: Address = "kusto.db.table.T".parse().unwrap();
        assert_eq!(table, Address::kusto_table("db", "T"));
        assert_eq!(table, "kusto.db.table.T");
        for bad in [
            "",
            "kusto",
            "kusto.",
            "kustodb.table.T",
            "mysql.db",
            ".kafka.topic.t",
        ] {
            assert_eq!(
                bad.parse::<Address>(),
                Err(NotAnAddress(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_are_read_back_only_from_their_own_scope() {
        let sink = Address::connector("main", "s");
        assert_eq!(sink.connector_name("main"), Some("s"));
        assert_eq!(sink.connector_name("mai"), None);
        assert_eq!(
            Address::connector("main2", "s").connector_name("main"),
            None
        );
        let f = Address::kusto_function("db", "F");
        assert_eq!(f.function_name("db"), Some("F"));
        assert_eq!(f.function_name("d"), None);
        assert_eq!(Address::kusto_table("db", "F").function_name("db"), None);
    }
}
