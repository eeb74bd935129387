//! The sandbox as the Kusto provider's [`KustoBackend`]: management commands and queries run
//! in this process, as the cluster admin of its own sandbox, and answer in the same v1 shape
//! and with the same failure classes as a cluster over HTTP.

use async_trait::async_trait;

use super::{Caller, KustoError, KustoSandbox, QueryResult};
use crate::kusto::v1::{V1Response, V1Table};
use crate::model::ColumnType;
use crate::providers::kusto::transport::{Failure, KustoBackend, TransportError};

/// The identity the in-process sandbox sees: kustoplan runs as cluster admin of its own sandbox.
const LOCAL_CALLER: &str = "aaduser=kustoplan@localhost";

#[async_trait]
impl KustoBackend for KustoSandbox {
    async fn mgmt(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        self.execute(db, csl, &Caller::cluster_admin(LOCAL_CALLER))
            .map_err(|e| transport_error(&e))
    }

    async fn query(&self, db: &str, csl: &str) -> Result<V1Response, TransportError> {
        KustoSandbox::query(self, db, csl, &Caller::cluster_admin(LOCAL_CALLER))
            .map(|result| V1Response::single(v1_table(&result)))
            .map_err(|e| transport_error(&e))
    }

    fn in_process(&self) -> bool {
        true
    }
}

/// A sandbox error as the provider reports a service error.
fn transport_error(e: &KustoError) -> TransportError {
    TransportError {
        message: format!("{}: {}", e.code, e.detail),
        outcome_unknown: false,
        failure: Failure::classify(Some(&e.code), Some(&e.exception_type), &e.detail),
    }
}

/// The in-process sandbox's query result as the v1 table `/v1/rest/query` would return, so
/// callers parse one shape whichever backend answered.
fn v1_table(result: &QueryResult) -> V1Table {
    let columns: Vec<(&str, ColumnType)> = result
        .columns
        .iter()
        .map(|(name, ty)| (name.as_str(), *ty))
        .collect();
    let mut table = V1Table::new("Table_0", &columns);
    for row in &result.rows {
        table.push(row.clone());
    }
    table
}
