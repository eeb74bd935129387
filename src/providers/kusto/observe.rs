//! Observing the live Kusto state of the databases a stack declares: four reads per database,
//! sent concurrently, whatever the number of tables (see [`crate::kusto::observe`]).

use crate::kusto::observe::{bulk_reads, database_state};
use crate::kusto::v1::V1Response;
use crate::model::kusto::KustoState;

use super::transport::{KustoTransport, TransportError};

/// Reads every declared database. A database that does not exist is an error: Kusto databases
/// are created in Azure, not by control commands.
pub async fn observe(
    transport: &KustoTransport,
    desired: &KustoState,
) -> Result<KustoState, TransportError> {
    let mut state = KustoState::default();
    for db in desired.databases.keys() {
        let [schema, mappings, principals, script] = bulk_reads(db);
        // The reads are independent: one round trip of latency instead of four.
        let bulk = tokio::try_join!(
            read(transport, db, &schema),
            read(transport, db, &mappings),
            read(transport, db, &principals),
            read(transport, db, &script),
        )?;
        let db_state =
            database_state(db, &[bulk.0, bulk.1, bulk.2, bulk.3]).map_err(|e| TransportError {
                message: e.to_string(),
                outcome_unknown: false,
            })?;
        state.databases.insert(db.clone(), db_state);
    }
    Ok(state)
}

async fn read(
    transport: &KustoTransport,
    db: &str,
    command: &str,
) -> Result<V1Response, TransportError> {
    transport
        .mgmt(db, command)
        .await
        .map_err(|e| TransportError {
            message: format!("cannot read database `{db}`: {}", e.message),
            outcome_unknown: false,
        })
}
