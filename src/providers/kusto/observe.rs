//! Observing the live Kusto state of the databases a stack declares, in a constant number of
//! requests per database (see [`crate::kusto::observe`]).

use crate::kusto::observe::{bulk_reads, database_state, table_principals_read};
use crate::model::kusto::{DatabaseState, KustoState};

use super::transport::{KustoTransport, TransportError};

/// Reads every declared database. A database that does not exist is an error: Kusto databases
/// are created in Azure, not by control commands. Table principals are read only for declared
/// tables that declare some (Kusto has no bulk read of them).
pub async fn observe(
    transport: &KustoTransport,
    desired: &KustoState,
) -> Result<KustoState, TransportError> {
    let mut state = KustoState::default();
    for (db, want) in &desired.databases {
        let db_state = observe_database(transport, db, |table| {
            want.tables
                .get(table)
                .is_some_and(|t| !t.principals.is_empty())
        })
        .await?;
        state.databases.insert(db.clone(), db_state);
    }
    Ok(state)
}

/// Reads databases whole, the principals of every table included, for `import`. That costs the
/// bulk reads plus one request per table; a plan never needs it.
pub async fn observe_whole(
    transport: &KustoTransport,
    databases: &[String],
) -> Result<KustoState, TransportError> {
    let mut state = KustoState::default();
    for db in databases {
        let db_state = observe_database(transport, db, |_| true).await?;
        state.databases.insert(db.clone(), db_state);
    }
    Ok(state)
}

/// The names of the databases the caller can see, with one `.show databases`: what `import`
/// reads when no database is named.
pub async fn database_names(transport: &KustoTransport) -> Result<Vec<String>, TransportError> {
    let command = crate::kusto::render::show_databases();
    let response = transport.mgmt("", &command).await?;
    let names = response
        .primary()
        .and_then(|t| t.column_values("DatabaseName"))
        .ok_or_else(|| TransportError {
            message: format!("unexpected result of `{command}`: no DatabaseName column"),
            outcome_unknown: false,
        })?;
    Ok(names
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// One database: the bulk reads, then the principals of the live tables `principals_of` picks.
async fn observe_database(
    transport: &KustoTransport,
    db: &str,
    principals_of: impl Fn(&str) -> bool,
) -> Result<DatabaseState, TransportError> {
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
    let unreadable = |e: crate::kusto::observe::ObserveError| TransportError {
        message: e.to_string(),
        outcome_unknown: false,
    };
    let live_tables = database_state(db, &bulk, &[]).map_err(unreadable)?;
    let mut per_table = Vec::new();
    for table in live_tables.tables.keys().filter(|t| principals_of(t)) {
        let response = transport.mgmt(db, &table_principals_read(table)).await?;
        per_table.push((table.clone(), response));
    }
    database_state(db, &bulk, &per_table).map_err(unreadable)
}
