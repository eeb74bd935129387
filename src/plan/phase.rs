//! Apply order across systems: topics first, then Kusto objects, then connectors, and Kusto
//! removals last: a route is removed or re-pointed (its connector updated, stopped or deleted)
//! before the table, mapping or role it used is dropped, so a running pipeline never writes into
//! something that is gone. Within a phase renames run first, then changes in address order (see
//! [`super::Change::apply_order`]).
//!
//! | number | phase |
//! |---|---|
//! | 0 | [`Phase::Topics`] |
//! | 1 | [`Phase::KustoTables`] |
//! | 2 | [`Phase::KustoMappings`] |
//! | 3 | [`Phase::KustoPolicies`] |
//! | 4 | [`Phase::KustoPrincipals`] |
//! | 5 | [`Phase::KustoFunctions`] |
//! | 6 | [`Phase::KustoUpdatePolicies`] |
//! | 7 | [`Phase::KustoMaterializedViews`] |
//! | 8 | [`Phase::KustoViewsOverViews`] |
//! | 9 | [`Phase::Connectors`] |
//! | 10 | [`Phase::ConnectorStates`] |
//! | 11 | [`Phase::ConnectorRemovals`] |
//! | 12 | [`Phase::KustoRemovals`] |
//!
//! Plan files and JSON plans carry the number, so a saved plan keeps its meaning only while
//! these numbers stay; moving one needs a new [`super::PLAN_VERSION`].

use serde::{Deserialize, Serialize};

/// The phase a change runs in; phases run in their numeric order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum Phase {
    /// Kafka topics.
    Topics = 0,
    /// Kusto tables and columns.
    KustoTables = 1,
    /// Kusto mappings.
    KustoMappings = 2,
    /// Kusto policies.
    KustoPolicies = 3,
    /// Kusto principals.
    KustoPrincipals = 4,
    /// Kusto stored functions, after the tables, columns and mappings their bodies may use.
    KustoFunctions = 5,
    /// Kusto update policies, after the tables they read and write and the functions their
    /// queries call (the service checks a policy's query when it is set).
    KustoUpdatePolicies = 6,
    /// Kusto materialized views, after the tables they read and the update policies and
    /// functions that fill those tables (a view created with backfill reads its source at
    /// once).
    KustoMaterializedViews = 7,
    /// Kusto materialized views over other materialized views, after the views they read
    /// (the service allows one level: the source must be a deduplicating view over a table).
    KustoViewsOverViews = 8,
    /// Connector configs.
    Connectors = 9,
    /// Connector run states.
    ConnectorStates = 10,
    /// Connector removals.
    ConnectorRemovals = 11,
    /// Kusto removals (tables, columns, mappings, roles, functions, materialized views), after
    /// every connector change (views sort before the tables they read, so they go first).
    KustoRemovals = 12,
}

impl Phase {
    /// Every phase, in apply order.
    pub const ALL: [Phase; 13] = [
        Phase::Topics,
        Phase::KustoTables,
        Phase::KustoMappings,
        Phase::KustoPolicies,
        Phase::KustoPrincipals,
        Phase::KustoFunctions,
        Phase::KustoUpdatePolicies,
        Phase::KustoMaterializedViews,
        Phase::KustoViewsOverViews,
        Phase::Connectors,
        Phase::ConnectorStates,
        Phase::ConnectorRemovals,
        Phase::KustoRemovals,
    ];
}

impl From<Phase> for u8 {
    fn from(phase: Phase) -> u8 {
        phase as u8
    }
}

/// A phase number no kustoplan of this plan format writes: the plan file was edited or damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown phase {0} (phases are 0 to 12)")]
pub struct UnknownPhase(pub u8);

impl TryFrom<u8> for Phase {
    type Error = UnknownPhase;

    fn try_from(number: u8) -> Result<Phase, UnknownPhase> {
        Phase::ALL
            .get(usize::from(number))
            .copied()
            .ok_or(UnknownPhase(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_numbered_in_apply_order() {
        for (i, phase) in Phase::ALL.iter().enumerate() {
            assert_eq!(usize::from(u8::from(*phase)), i, "{phase:?}");
        }
        assert!(Phase::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(Phase::KustoTables < Phase::Connectors);
        assert!(Phase::ConnectorRemovals < Phase::KustoRemovals);
    }

    #[test]
    fn a_phase_serialises_as_its_number_and_reads_back() {
        for phase in Phase::ALL {
            let json = serde_json::to_string(&phase).unwrap();
            assert_eq!(json, u8::from(phase).to_string());
            assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), phase);
        }
        assert_eq!(serde_json::to_string(&Phase::KustoRemovals).unwrap(), "12");
    }

    #[test]
    fn an_unknown_phase_number_is_refused() {
        let error = serde_json::from_str::<Phase>("13").unwrap_err();
        assert!(error.to_string().contains("unknown phase 13"), "{error}");
        assert_eq!(Phase::try_from(200), Err(UnknownPhase(200)));
    }
}
