//! Plans: the ordered changes that take the live systems to the declared state.
//!
//! A plan is pure data: made by pure functions from (desired, observed), rendered for humans and
//! machines, saved to a file, and applied later only if the live state still matches the
//! fingerprint it was made from.

pub mod address;
pub mod connect;
pub mod cross;
pub mod kafka;
pub mod kusto;
pub mod markdown_escape;
pub mod phase;
pub mod render;
pub mod target;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kusto::command::Command;
use crate::model::connect::Topic;

use crate::model::ConnectManager;
pub use crate::model::ImpactClass;
pub use address::Address;
pub use phase::Phase;

/// What a change does to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The object does not exist yet.
    Create,
    /// The object exists and is changed in place.
    Update,
    /// The object is removed and created again.
    Replace,
    /// The object is removed.
    Delete,
}

impl Action {
    /// Setting an object or a policy: `Update` where one exists already, else `Create`.
    pub fn setting(exists: bool) -> Action {
        if exists {
            Action::Update
        } else {
            Action::Create
        }
    }

    /// Terraform's symbol for the action.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    /// The verb used in summaries.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// Which live system a change is carried out on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "system", rename_all = "kebab-case")]
pub enum Target {
    /// Kafka admin operations on the stack's Kafka cluster.
    Kafka,
    /// Kusto control commands run in this database.
    Kusto {
        /// Database the commands run in.
        database: String,
    },
    /// Kafka Connect REST requests to this Connect cluster.
    Connect {
        /// The cluster's name in `targets.connect`.
        cluster: String,
    },
}

/// A structured request for Kafka or Kafka Connect (Kusto changes are control commands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Operation {
    /// Create a topic.
    CreateTopic {
        /// The topic as declared.
        topic: Topic,
    },
    /// Grow a topic to this many partitions.
    CreatePartitions {
        /// Topic name.
        topic: String,
        /// New total partition count.
        total: u32,
    },
    /// Set (or, with `None`, delete) topic configs incrementally.
    AlterTopicConfigs {
        /// Topic name.
        topic: String,
        /// Key -> new value, or `None` to delete.
        configs: BTreeMap<String, Option<String>>,
    },
    /// Validate, then create or update a connector (`PUT /connectors/N/config`).
    PutConnectorConfig {
        /// Connector name.
        name: String,
        /// Full config. Credentials are placeholders: validation refuses a literal value for every
        /// key plans mask ([`crate::model::connect::must_be_reference`]).
        config: BTreeMap<String, String>,
    },
    /// Validate, then create a connector that starts in `initial_state` (`POST /connectors`,
    /// KIP-980), so a connector declared paused or stopped never runs, not even briefly.
    CreateConnector {
        /// Connector name.
        name: String,
        /// Full config. Credentials are placeholders: validation refuses a literal value for every
        /// key plans mask ([`crate::model::connect::must_be_reference`]).
        config: BTreeMap<String, String>,
        /// The declared state it starts in.
        initial_state: crate::model::connect::RunState,
    },
    /// `PUT /connectors/N/pause`.
    PauseConnector {
        /// Connector name.
        name: String,
    },
    /// `PUT /connectors/N/resume`.
    ResumeConnector {
        /// Connector name.
        name: String,
    },
    /// `PUT /connectors/N/stop`.
    StopConnector {
        /// Connector name.
        name: String,
    },
    /// `DELETE /connectors/N`.
    DeleteConnector {
        /// Connector name.
        name: String,
    },
    /// Wait until `from` is stopped (its tasks have committed their last offsets), read its
    /// consumer offsets (`GET /connectors/FROM/offsets`) and write them to `to`, which is
    /// stopped too (`PATCH /connectors/TO/offsets`, KIP-875): a renamed sink resumes where
    /// the old one stopped instead of re-ingesting its topics.
    CopyConnectorOffsets {
        /// The connector the offsets are read from.
        from: String,
        /// The connector they are written to.
        to: String,
    },
}

/// One change of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ChangeFile", try_from = "ChangeFile")]
pub struct Change {
    /// Stable address, e.g. `kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping`.
    pub address: Address,
    /// What happens to the object.
    pub action: Action,
    /// How risky it is; `apply` refuses `restart` and `data-loss` unless allowed.
    pub impact: ImpactClass,
    /// One line for humans: what and why.
    pub summary: String,
    /// The object's relevant state before, as text (for a unified diff), when there is one.
    pub before: Option<String>,
    /// The object's relevant state after, as text.
    pub after: Option<String>,
    /// The same facts as `before`, as JSON (objects with named fields, secrets masked as in
    /// the text), so programs reading a plan need not parse text made for a diff.
    pub before_state: Option<serde_json::Value>,
    /// The same facts as `after`, as JSON.
    pub after_state: Option<serde_json::Value>,
    /// Where the commands run.
    pub target: Target,
    /// The Kusto control commands apply runs, in order; empty for Kafka/Connect changes. Kept
    /// as values, not text, so the AST's one printer writes every text that is shown or sent,
    /// and code that needs to know what a command does reads it instead of parsing text.
    pub kusto_commands: Vec<Command>,
    /// The structured Kafka/Connect requests; empty for Kusto changes.
    pub operations: Vec<Operation>,
    /// When in the apply order the change runs (see [`phase`]).
    pub phase: Phase,
    /// For a rename (`renamed_from` on a table, column, function or sink), the object's
    /// address under its old name, as Terraform's `previous_address`: the object is kept and
    /// moved, not dropped and created. A rename runs before the other changes of its phase,
    /// which build on the new name.
    pub previous_address: Option<Address>,
}

/// A [`Change`] as saved plans and JSON plans write it: the commands as text (Kusto control
/// commands, or the Kafka/Connect requests `operations` carries out), so the file format does
/// not depend on how the plan holds them.
#[derive(Serialize, Deserialize)]
struct ChangeFile {
    address: Address,
    action: Action,
    impact: ImpactClass,
    summary: String,
    before: Option<String>,
    after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before_state: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_state: Option<serde_json::Value>,
    target: Target,
    commands: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    operations: Vec<Operation>,
    phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_address: Option<Address>,
}

impl From<Change> for ChangeFile {
    fn from(change: Change) -> ChangeFile {
        let commands = change.command_texts();
        ChangeFile {
            address: change.address,
            action: change.action,
            impact: change.impact,
            summary: change.summary,
            before: change.before,
            after: change.after,
            before_state: change.before_state,
            after_state: change.after_state,
            target: change.target,
            commands,
            operations: change.operations,
            phase: change.phase,
            previous_address: change.previous_address,
        }
    }
}

impl TryFrom<ChangeFile> for Change {
    type Error = String;

    /// Parses a Kusto change's command texts back into commands. Text that does not parse, or
    /// request texts that are not what the change's requests send, mean the file was damaged or
    /// edited: nothing in it could be trusted to run.
    fn try_from(file: ChangeFile) -> Result<Change, String> {
        let kusto = matches!(file.target, Target::Kusto { .. });
        let kusto_commands = if kusto {
            file
                .commands
                .iter()
                .map(|text| {
                    crate::kusto::command::parse(text).map_err(|e| {
                        format!(
                            "the plan file is damaged or was edited: a command of {} is not a Kusto control command ({e})",
                            file.address
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let change = Change {
            address: file.address,
            action: file.action,
            impact: file.impact,
            summary: file.summary,
            before: file.before,
            after: file.after,
            before_state: file.before_state,
            after_state: file.after_state,
            target: file.target,
            kusto_commands,
            operations: file.operations,
            phase: file.phase,
            previous_address: file.previous_address,
        };
        if !kusto && change.command_texts() != file.commands {
            return Err(format!(
                "the plan file is damaged or was edited: the commands of {} are not the requests it sends",
                change.address
            ));
        }
        Ok(change)
    }
}

/// One side of a change (the object before or after it) in both forms a plan carries: text for
/// the unified diff humans read, JSON for programs. Producers build both from the same typed
/// value in one helper per kind, so the two cannot say different things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// What [`Change::before`] or [`Change::after`] holds.
    pub text: String,
    /// What [`Change::before_state`] or [`Change::after_state`] holds.
    pub state: serde_json::Value,
}

impl Side {
    /// A side in both forms.
    pub fn new(text: String, state: serde_json::Value) -> Side {
        Side { text, state }
    }

    /// A side that is one attribute of its object (a folder, a docstring): the bare value as
    /// text, and `{field: value}` as JSON, so every state a program reads is an object.
    pub fn field(field: &str, text: String) -> Side {
        let state = serde_json::json!({ field: text });
        Side { text, state }
    }

    /// The two fields of a [`Change`] one side fills: (text, JSON).
    pub fn split(side: Option<Side>) -> (Option<String>, Option<serde_json::Value>) {
        side.map_or((None, None), |s| (Some(s.text), Some(s.state)))
    }
}

impl Change {
    /// The commands or requests apply runs, in order, as text: what plans show, saved plans
    /// carry and apply reports name. Printed here from the typed work, never stored.
    pub fn command_texts(&self) -> Vec<String> {
        self.kusto_commands
            .iter()
            .map(Command::to_string)
            .chain(self.operations.iter().map(connect::describe))
            .collect()
    }

    /// The order apply runs changes in: by phase; within a phase renames first (the other
    /// changes address the new names), then by address (a table before its columns and
    /// mappings). Every part of a plan sorts with this key, so a plan's order never depends on
    /// which system's changes came first.
    pub fn apply_order(&self) -> (Phase, bool, &Address) {
        (self.phase, self.previous_address.is_none(), &self.address)
    }
}

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Format version of saved plans.
    pub version: u32,
    /// The stack's name.
    pub stack: String,
    /// The environment the manifests were loaded for.
    pub environment: Option<String>,
    /// Hash of the observed state the plan was made from; apply refuses a plan whose live
    /// state has moved on. Taken only for plans that are saved or printed as JSON (see
    /// [`crate::workflow::Fingerprint`]): a plan only shown to a reviewer has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The changes, in the order apply runs them.
    pub changes: Vec<Change>,
    /// Live principals that are not declared, in roles the manifests do not list: kept, and
    /// counted so that an empty plan does not claim the live systems match the manifests.
    #[serde(default)]
    pub undeclared_principals_left: usize,
    /// The `--target` patterns the plan was limited to; empty for a plan of the whole stack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The Connect clusters this plan changes whose connectors another tool writes (their
    /// `managed_by`): their changes are shown, and `apply` refuses them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub managed_elsewhere: BTreeMap<String, ConnectManager>,
}

/// The saved-plan format version this build writes and reads. 3: update policies and
/// materialized views took phases 6 to 8 and moved the later phases, so a plan file of format
/// 2 would compare as edited; it is refused as written by a different kustoplan instead. 4:
/// changes carry `before_state`/`after_state`, which a format 3 file lacks, so it too would
/// compare as edited and is refused the same way.
pub const PLAN_VERSION: u32 = 4;

impl Plan {
    /// Whether the live state already matches the manifests.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts of creates, updates (incl. replaces) and deletes, for summary lines.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |f: fn(Action) -> bool| self.changes.iter().filter(|c| f(c.action)).count();
        (
            count(|a| a == Action::Create),
            count(|a| matches!(a, Action::Update | Action::Replace)),
            count(|a| a == Action::Delete),
        )
    }

    /// Changes to Connect clusters whose connectors another tool writes, with that tool:
    /// `apply` refuses them whatever is allowed, since the operator would revert them.
    pub fn managed_elsewhere(&self) -> impl Iterator<Item = (&Change, ConnectManager)> + '_ {
        self.changes.iter().filter_map(|c| match &c.target {
            Target::Connect { cluster } => self
                .managed_elsewhere
                .get(cluster)
                .filter(|m| !m.lets_kustoplan_write())
                .map(|m| (c, *m)),
            _ => None,
        })
    }

    /// Changes whose impact class is not allowed.
    pub fn refused<'a>(
        &'a self,
        allowed: &'a [ImpactClass],
    ) -> impl Iterator<Item = &'a Change> + 'a {
        self.changes
            .iter()
            .filter(move |c| c.impact != ImpactClass::Safe && !allowed.contains(&c.impact))
    }
}

/// A stable fingerprint of observed state: SHA-256 of its canonical JSON.
///
/// A state that cannot be serialized is an error, never the hash of nothing: a fingerprint that
/// does not depend on the state would let a stale saved plan through.
pub fn fingerprint<T: Serialize>(observed: &T) -> Result<String, serde_json::Error> {
    use sha2::{Digest, Sha256};
    /// Feeds the JSON to the hash as it is written, instead of holding all of it first (tens
    /// of megabytes at 10,000 tables).
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = std::io::BufWriter::with_capacity(64 * 1024, Hashing(Sha256::new()));
    serde_json::to_writer(&mut hashing, observed)?;
    let hashing = hashing
        .into_inner()
        .map_err(|e| serde_json::Error::io(e.into_error()))?;
    Ok(hex(&hashing.0.finalize()))
}

/// Lower-case hex SHA-256, the form fingerprints and input digests take in plan files.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` has the form [`sha256_hex`] produces (64 lower-case hex digits); anything else
/// in a plan file means the file was damaged or edited.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A safe Kusto create in `database` at `address` running `commands` (command text, parsed):
/// the change the Kusto provider's apply tests build, written once.
#[cfg(test)]
pub(crate) fn kusto_change_for_test(database: &str, address: &str, commands: &[String]) -> Change {
    Change {
        address: address.parse().expect("address"),
        action: Action::Create,
        impact: ImpactClass::Safe,
        summary: String::new(),
        before: None,
        after: None,
        before_state: None,
        after_state: None,
        target: Target::Kusto {
            database: database.into(),
        },
        kusto_commands: commands
            .iter()
            .map(|c| crate::kusto::command::parse(c).expect("command"))
            .collect(),
        operations: Vec::new(),
        phase: Phase::Topics,
        previous_address: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint hashes the JSON as it is written: the same digest as hashing the whole
    /// JSON text, also past the writer's buffer.
    #[test]
    fn fingerprint_is_the_sha256_of_the_json_text() {
        let mut state = BTreeMap::new();
        for i in 0..20_000 {
            state.insert(format!("table{i}"), vec![i, i * 2]);
        }
        let text = serde_json::to_vec(&state).expect("json");
        assert!(text.len() > 128 * 1024);
        assert_eq!(fingerprint(&state).expect("fingerprint"), sha256_hex(&text));
        assert_eq!(
            fingerprint(&"x").expect("fingerprint"),
            sha256_hex(b"\"x\"")
        );
    }
}
