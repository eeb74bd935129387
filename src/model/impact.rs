//! How risky a change is: the one scale plans label changes with, `apply` refuses by, and the
//! Stack's `safety.allow` names. It lives with the shared vocabulary because manifests, the
//! planner and every provider's report speak it alike.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How risky a change is; `apply` refuses `restart` and `data-loss` unless allowed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ImpactClass {
    /// Nothing is lost and nothing restarts.
    Safe,
    /// Disruptive but nothing is lost: a connector rebalances or restarts (records may be
    /// delivered twice), or an object is renamed (queries and functions that use the old name
    /// fail until they are changed).
    Restart,
    /// Data or access is removed or nulled.
    DataLoss,
}
