//! Plans: the ordered changes that take the live systems to the declared state.
//!
//! A plan is pure data: made by pure functions from (desired, observed), rendered for humans and
//! machines, saved to a file, and applied later only if the live state still matches the
//! fingerprint it was made from.

pub mod kusto;
pub mod render;

use serde::{Deserialize, Serialize};

pub use crate::manifest::spec::ImpactClass;

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
    /// Kusto control commands run in this database.
    Kusto {
        /// Database the commands run in.
        database: String,
    },
}

/// One change of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Stable address, e.g. `kusto.gamedb.table.GamePlay.mapping.gameplay_json_mapping`.
    pub address: String,
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
    /// Where the commands run.
    pub target: Target,
    /// The exact commands apply runs, in order.
    pub commands: Vec<String>,
    /// Ordering phase: tables, then mappings, then policies, then principals, then removals.
    pub phase: u8,
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
    /// state has moved on.
    pub fingerprint: String,
    /// The changes, in the order apply runs them.
    pub changes: Vec<Change>,
}

/// The saved-plan format version this build writes and reads.
pub const PLAN_VERSION: u32 = 1;

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
pub fn fingerprint<T: Serialize>(observed: &T) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(observed).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
