//! `--target`: planning and applying part of a stack, as Terraform's `-target` does, without its
//! sharp edges. A pattern selects changes by address (`*` matches any run of characters, `?`
//! one; a pattern also selects everything under the address it matches, so
//! `kusto.gamedb.table.GamePlay` includes the table's mappings and policies). Changes outside
//! the target are left out, so nothing outside it is ever created, changed or pruned. A kept
//! change that needs a left-out one (a mapping of a table still to be created, a route whose
//! topic, table, mapping or ingestor role is still to come, an update policy whose source table
//! or called function is still to come) is a plan error naming what to add, rather than an
//! apply that fails half way.

use std::collections::BTreeMap;

use regex::Regex;

use super::address::SYSTEMS;
use super::{Action, Address, Change, Target};
use crate::model::connect::ConnectCluster;
use crate::model::query_calls;
use crate::model::sink::routes_in;

/// A `--target` pattern that cannot select anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetPatternError {
    /// An empty pattern.
    #[error(
        "--target needs an address, e.g. kusto.DB.table.T, kafka.topic.T or connect.CLUSTER.connector.N"
    )]
    Empty,
    /// A pattern for no system kustoplan plans.
    #[error(
        "--target `{0}` is not an address: addresses start with kusto., kafka. or connect. (e.g. kusto.DB.table.T, kafka.topic.T, connect.CLUSTER.connector.N)"
    )]
    UnknownSystem(String),
}

/// The `--target` patterns of a plan.
#[derive(Debug, Clone)]
pub struct TargetFilter {
    patterns: Vec<Regex>,
}

impl TargetFilter {
    /// The filter of `patterns`, or `None` when there are none (the whole stack is planned).
    pub fn new(patterns: &[String]) -> Result<Option<TargetFilter>, TargetPatternError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut compiled = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            let pattern = pattern.trim();
            if pattern.is_empty() {
                return Err(TargetPatternError::Empty);
            }
            let first = pattern.split('.').next().unwrap_or(pattern);
            let first = glob_regex(first, "");
            if !SYSTEMS.iter().any(|system| first.is_match(system)) {
                return Err(TargetPatternError::UnknownSystem(pattern.to_string()));
            }
            compiled.push(glob_regex(pattern, r"(\..*)?"));
        }
        Ok(Some(TargetFilter { patterns: compiled }))
    }

    /// Whether `address` is selected: some pattern matches it or an address it lies under.
    pub fn matches(&self, address: &Address) -> bool {
        self.patterns.iter().any(|p| p.is_match(address.as_str()))
    }
}

/// `^GLOB` + `tail` + `$`, with `*` and `?` as wildcards and everything else literal.
fn glob_regex(pattern: &str, tail: &str) -> Regex {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            other => re.push_str(&regex::escape(other.encode_utf8(&mut [0; 4]))),
        }
    }
    re.push_str(tail);
    re.push('$');
    Regex::new(&re).unwrap_or_else(|e| unreachable!("an escaped glob is a valid regex: {e}"))
}

/// A kept change that needs a change `--target` left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingDependency {
    /// The kept change's address.
    pub change: Address,
    /// The left-out change's address.
    pub needs: Address,
    /// Why the one needs the other.
    pub because: &'static str,
}

impl std::fmt::Display for MissingDependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} needs {} ({}), which --target leaves out; add --target {}",
            self.change, self.needs, self.because, self.needs
        )
    }
}

/// The changes `filter` selects, in order, and every dependency of a kept change on a
/// left-out one (one per object to add: a table's target covers its mapping and policies). `connectors` are the declared connectors (their routes say what they need).
pub fn select(
    changes: Vec<Change>,
    filter: &TargetFilter,
    connectors: &BTreeMap<String, ConnectCluster>,
) -> (Vec<Change>, Vec<MissingDependency>) {
    let (kept, left): (Vec<Change>, Vec<Change>) = changes
        .into_iter()
        .partition(|c| filter.matches(&c.address));
    let mut missing = Vec::new();
    for k in &kept {
        if k.action == Action::Delete {
            continue;
        }
        let needs = needs_of(k, connectors);
        for l in &left {
            if let Some(because) = needs.iter().find_map(|n| n.needs(l)) {
                missing.push(MissingDependency {
                    change: k.address.clone(),
                    needs: l.address.clone(),
                    because,
                });
            }
        }
    }
    let covered = |m: &MissingDependency| {
        missing
            .iter()
            .any(|other| other.change == m.change && m.needs.is_under(&other.needs))
    };
    let missing: Vec<MissingDependency> = missing.iter().filter(|m| !covered(m)).cloned().collect();
    (kept, missing)
}

/// One thing a change needs to be there when it runs.
enum Need {
    /// The object it lies under must be created (or renamed to its name) first.
    Parent(Address),
    /// A route's topic.
    Topic(Address),
    /// A route's table, or anything under it (columns, mapping, policies, table roles).
    Table(Address),
    /// The roles of the database a route writes to (the sink's ingestor role): the database's
    /// address.
    DatabaseRoles(Address),
    /// An update policy's source table (its address): created (or renamed) first.
    PolicySource(Address),
    /// The functions an update policy's queries may call: the database and the queries' text.
    PolicyFunctions(String, String),
    /// A materialized view's source: the addresses it has as a table and as a view; created
    /// (or renamed) first.
    ViewSource([Address; 2]),
}

impl Need {
    /// Why `other` is needed, when it is.
    fn needs(&self, other: &Change) -> Option<&'static str> {
        let under = |prefix: &Address| other.address == *prefix || other.address.is_under(prefix);
        match self {
            Need::Parent(address) if other.address == *address => {
                if other.action == Action::Create {
                    Some("it is created there")
                } else if other.previous_address.is_some() {
                    Some("it is renamed to there")
                } else {
                    None
                }
            }
            Need::Parent(_) => None,
            Need::Topic(address) => {
                (other.address == *address).then_some("a route reads the topic")
            }
            Need::Table(address) => under(address).then_some("a route ingests into the table"),
            Need::DatabaseRoles(database) => (other
                .address
                .as_str()
                .starts_with(&format!("{database}.role."))
                && other.action != Action::Delete)
                .then_some("the sink needs its role in the database"),
            Need::PolicySource(address) => (other.address == *address
                && (other.action == Action::Create || other.previous_address.is_some()))
            .then_some("the update policy reads from the table"),
            Need::ViewSource(addresses) => (addresses.contains(&other.address)
                && (other.action == Action::Create || other.previous_address.is_some()))
            .then_some("the materialized view reads from it"),
            Need::PolicyFunctions(database, queries) => other
                .address
                .function_name(database)
                .filter(|name| other.action != Action::Delete && query_calls(queries, name))
                .map(|_| "the update policy's query calls the function"),
        }
    }
}

fn needs_of(change: &Change, connectors: &BTreeMap<String, ConnectCluster>) -> Vec<Need> {
    let mut needs: Vec<Need> = change
        .address
        .parents()
        .into_iter()
        .map(Need::Parent)
        .collect();
    if let Target::Kusto { database } = &change.target
        && change.address.as_str().ends_with(".policy.update")
    {
        // `after` is the plan's own JSON array of the entries it sets (the Kusto diff writes
        // it); a change without one sets no entry and so needs nothing.
        let entries: Vec<serde_json::Value> = match change.after.as_deref() {
            Some(text) => serde_json::from_str(text).unwrap_or_else(|e| {
                tracing::warn!(address = %change.address, "update policy entries unreadable: {e}");
                Vec::new()
            }),
            None => Vec::new(),
        };
        let field = |e: &serde_json::Value, key: &str| {
            e.get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        let mut queries = String::new();
        for e in &entries {
            if let Some(source) = field(e, "Source") {
                needs.push(Need::PolicySource(Address::kusto_table(database, &source)));
            }
            if let Some(query) = field(e, "Query") {
                queries.push_str(&query);
                queries.push('\n');
            }
        }
        needs.push(Need::PolicyFunctions(database.clone(), queries));
    }
    if let Target::Kusto { database } = &change.target
        && change.address.as_str().contains(".materialized_view.")
        && change.action != Action::Delete
        && let Some(source) = change
            .after
            .as_deref()
            .and_then(|text| text.lines().next())
            .and_then(|first| first.split_once(" on table "))
            .map(|(_, source)| source)
    {
        // `after` is the plan's own text of the view, whose first line is `V on table T`.
        needs.push(Need::ViewSource([
            Address::kusto_table(database, source),
            Address::kusto_materialized_view(database, source),
        ]));
    }
    if let Target::Connect { cluster } = &change.target {
        let name = change.address.connector_name(cluster).unwrap_or_default();
        let routes = connectors
            .get(cluster)
            .and_then(|c| c.get(name))
            .and_then(|c| routes_in(&c.config))
            .unwrap_or_default();
        for r in routes {
            needs.push(Need::Topic(Address::kafka_topic(&r.topic)));
            needs.push(Need::Table(Address::kusto_table(&r.db, &r.table)));
            needs.push(Need::DatabaseRoles(Address::kusto_database(&r.db)));
        }
    }
    needs
}

#[cfg(test)]
mod tests;
