//! Observing the live Kusto state of the databases a stack declares: four reads per database,
//! sent concurrently, whatever the number of tables (see [`crate::kusto::observe`]), plus one
//! `.show table T principals` for each table whose roles hold a user or group known only by
//! object id where the manifests name one by UPN or group name (see
//! [`crate::kusto::observe::tables_to_name`]), plus one `<query> | getschema` for each
//! declared update policy entry the plan sets, or whose called function it changes, whose
//! source table is live (see
//! [`crate::kusto::observe::schema_probes`]). In steady state only the four reads are sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::task::AbortOnDropHandle;

use crate::kusto::observe::{
    BulkRead, Part, add_query_schema, add_table_names, join_parts, read_part, schema_probes,
    tables_to_name,
};
use crate::kusto::rows::RowsError;
use crate::kusto::v1::V1Response;
use crate::model::kusto::{DatabaseState, KustoState};

use super::transport::{KustoTransport, TransportError};

/// Databases observed at once, each with its four reads in flight together: 32 requests.
/// Reading every database at once sent 400 requests for 100 databases, past a cluster's limit
/// on concurrent requests, and past what a server or proxy serves at once: the sandbox serves
/// 256 connections, so the rest waited for idle keep-alive connections to time out (30 s).
pub const DATABASES_IN_FLIGHT: usize = 8;

/// The four bulk reads of one database, each read into its part on a task of its own. A read
/// nobody waits for any more (a stack refused after its reads started, a database whose other
/// read failed) is stopped, not left to retry and warn while the process ends.
type BulkReads = [AbortOnDropHandle<Result<Part, TransportError>>; 4];

/// Bulk reads sent before the plan asks for them: a read-only command starts them as soon as
/// the manifests name the target and the databases, and the answers arrive and are read while
/// the manifests are still being checked. [`observe_prefetched`] takes a database's reads from
/// here instead of sending them again.
#[derive(Default)]
pub struct Prefetched {
    reads: BTreeMap<String, BulkReads>,
}

impl Prefetched {
    /// Starts, on `runtime`, the bulk reads of the databases among `databases` that
    /// [`observe`] reads first (it reads them in name order, [`DATABASES_IN_FLIGHT`] at a
    /// time), so that no more requests are in flight than observe itself sends.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        transport: &Arc<KustoTransport>,
        databases: impl IntoIterator<Item = String>,
    ) -> Prefetched {
        let mut names: Vec<String> = databases.into_iter().collect();
        names.sort();
        names.dedup();
        names.truncate(DATABASES_IN_FLIGHT);
        let reads = names
            .into_iter()
            .map(|db| {
                let reads = BulkRead::ALL.map(|read| {
                    AbortOnDropHandle::new(runtime.spawn(read_bulk(
                        transport.clone(),
                        db.clone(),
                        read,
                    )))
                });
                (db, reads)
            })
            .collect();
        Prefetched { reads }
    }
}

/// Reads every declared database. A database that does not exist is an error: Kusto databases
/// are created in Azure, not by control commands.
pub async fn observe(
    transport: &Arc<KustoTransport>,
    desired: &KustoState,
) -> Result<KustoState, TransportError> {
    observe_prefetched(transport, desired, Prefetched::default()).await
}

/// [`observe`], taking the bulk reads of the databases in `prefetched` from there.
pub async fn observe_prefetched(
    transport: &Arc<KustoTransport>,
    desired: &KustoState,
    prefetched: Prefetched,
) -> Result<KustoState, TransportError> {
    use futures::{StreamExt, TryStreamExt};
    let mut prefetched = prefetched.reads;
    // Databases are independent: up to DATABASES_IN_FLIGHT of them are read at once.
    let databases: Vec<DatabaseState> =
        futures::stream::iter(desired.databases.iter().map(|(db, declared)| {
            let reads = prefetched.remove(db);
            observe_one(transport, db, declared, reads)
        }))
        .buffered(DATABASES_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(KustoState {
        databases: databases
            .into_iter()
            .map(|db| (db.name.clone(), db))
            .collect(),
    })
}

async fn observe_one(
    transport: &Arc<KustoTransport>,
    db: &str,
    desired: &DatabaseState,
    prefetched: Option<BulkReads>,
) -> Result<DatabaseState, TransportError> {
    // The reads are independent: one round trip of latency instead of four. Each answer is
    // read on a task of its own as soon as it arrives, so the large ones are read on all
    // cores while the others are still on their way.
    let reads = prefetched.unwrap_or_else(|| {
        BulkRead::ALL.map(|read| {
            AbortOnDropHandle::new(tokio::spawn(read_bulk(
                transport.clone(),
                db.to_string(),
                read,
            )))
        })
    });
    let mut parts = Vec::with_capacity(reads.len());
    for read in reads {
        let part = read
            .await
            .map_err(|e| TransportError::other(format!("cannot read database `{db}`: {e}")))??;
        parts.push(part);
    }
    let unreadable = |e: crate::kusto::observe::ObserveError| TransportError::other(e.to_string());
    let mut state = join_parts(db, parts).map_err(unreadable)?;
    // Users and groups that hold only table roles are listed by object id alone; where the
    // manifests name one by UPN or group name, the table's principals name it.
    let unnamed = tables_to_name(&state, desired);
    let named = futures::future::try_join_all(unnamed.iter().map(|table| {
        let command = crate::kusto::render::show_table_principals(table);
        async move { read(transport, db, &command).await }
    }))
    .await?;
    for (table, result) in unnamed.iter().zip(&named) {
        add_table_names(&mut state, table, result).map_err(unreadable)?;
    }
    // Update policy entries the plan sets (or whose functions it changes) are checked against
    // their target: the cluster
    // types each query (`| getschema`). An error answer is recorded for the plan to show,
    // not a failure of observe: the query may use what the same apply creates.
    let probes = schema_probes(&state, desired);
    let answers = futures::future::join_all(
        probes
            .iter()
            .map(|probe| async move { transport.query(db, probe).await }),
    )
    .await;
    for (probe, answer) in probes.iter().zip(&answers) {
        let answer = answer
            .as_ref()
            .map_err(|e| stable_reason(&e.message, probe));
        add_query_schema(&mut state, probe, answer).map_err(unreadable)?;
    }
    Ok(state)
}

/// The part of a probe's error that a plan can show and compare: a saved plan is applied only
/// if re-planning gives the same changes, so the reason drops what differs on every request
/// (the client's `[request id ..., activity id ..., N attempt(s)]` and the hint after it) and
/// the probe's text when the message repeats it whole (the change already implies it).
fn stable_reason(message: &str, probe: &str) -> String {
    let reason = message.split(" [request id ").next().unwrap_or(message);
    reason.replace(&format!(" to `{probe}`"), "")
}

/// One of the [`crate::kusto::observe::bulk_reads`] of `db`, read into its [`Part`].
async fn read_bulk(
    transport: Arc<KustoTransport>,
    db: String,
    read: BulkRead,
) -> Result<Part, TransportError> {
    let command = &read.command(&db);
    let answer = transport
        .mgmt_answer(&db, command)
        .await
        .map_err(|e| cannot_read(&db, &e))?;
    read_part(&db, read, &answer.v1).map_err(|e| match e {
        RowsError::Sink(unreadable) => TransportError::other(unreadable.to_string()),
        failed => cannot_read(&db, &answer.failure(failed)),
    })
}

fn cannot_read(db: &str, e: &TransportError) -> TransportError {
    TransportError::other(format!("cannot read database `{db}`: {}", e.message))
}

async fn read(
    transport: &KustoTransport,
    db: &str,
    command: &str,
) -> Result<V1Response, TransportError> {
    transport
        .mgmt(db, command)
        .await
        .map_err(|e| cannot_read(db, &e))
}

/// The names of the databases the caller can see, with one `.show databases`: what `import`
/// reads when no database is named.
pub async fn database_names(transport: &KustoTransport) -> Result<Vec<String>, TransportError> {
    let command = crate::kusto::render::show_databases();
    let response = transport.mgmt("", &command).await?;
    let names = response
        .primary()
        .and_then(|t| t.column_values("DatabaseName"))
        .ok_or_else(|| {
            TransportError::other(format!(
                "unexpected result of `{command}`: no DatabaseName column"
            ))
        })?;
    Ok(names
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::stable_reason;

    #[test]
    fn probe_errors_lose_request_ids_and_the_probe_text() {
        let probe = "T | summarize n = count()\n| getschema";
        let message = format!(
            "Kusto answered HTTP 400 (General_BadRequest) to `{probe}`: the 'summarize' operator is not supported [request id KP.plan;1234, activity id 99, 1 attempt(s)]. Fix the command."
        );
        assert_eq!(
            stable_reason(&message, probe),
            "Kusto answered HTTP 400 (General_BadRequest): the 'summarize' operator is not supported"
        );
        assert_eq!(stable_reason("SEM0100: unknown", probe), "SEM0100: unknown");
    }
}
