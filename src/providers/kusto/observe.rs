//! Observing the live Kusto state of the databases a stack declares, in a constant number of
//! requests per database (see [`crate::kusto::observe`]).

use crate::kusto::observe::{bulk_reads, database_state, table_principals_read};
use crate::model::kusto::KustoState;

use super::transport::{KustoTransport, TransportError};

/// Reads every declared database. A database that does not exist is an error: Kusto databases
/// are created in Azure, not by control commands.
pub async fn observe(
    transport: &KustoTransport,
    desired: &KustoState,
) -> Result<KustoState, TransportError> {
    let mut state = KustoState::default();
    for (db, want) in &desired.databases {
        let mut bulk = Vec::new();
        for command in bulk_reads(db) {
            bulk.push(
                transport
                    .mgmt(db, &command)
                    .await
                    .map_err(|e| TransportError {
                        message: format!("cannot read database `{db}`: {}", e.message),
                        outcome_unknown: false,
                    })?,
            );
        }
        let mut per_table = Vec::new();
        let live_tables = database_state(db, &bulk, &[]).map_err(|e| TransportError {
            message: e.to_string(),
            outcome_unknown: false,
        })?;
        for table in want.tables.values().filter(|t| !t.principals.is_empty()) {
            if live_tables.tables.contains_key(&table.name) {
                let response = transport
                    .mgmt(db, &table_principals_read(&table.name))
                    .await?;
                per_table.push((table.name.clone(), response));
            }
        }
        let db_state = database_state(db, &bulk, &per_table).map_err(|e| TransportError {
            message: e.to_string(),
            outcome_unknown: false,
        })?;
        state.databases.insert(db.clone(), db_state);
    }
    Ok(state)
}
