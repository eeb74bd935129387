//! The in-process Kusto engine: parse, authorise, execute, persist.
//!
//! Synchronous and free of I/O apart from persistence, so the planner's tests can drive it
//! directly and the HTTP server is a thin shell around it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::changes::{self, Change};
use super::clock;
use super::data;
use super::directory;
use super::error::KustoError;
use super::exec::{self, Context, results};
use super::query::{self, ResultTable};
use super::queued::QueuedIngestion;
use super::queued::batching::Limits;
use super::queued::sas::StorageAccount;
use super::state::{Database, Extent, IngestionFailure, SandboxState};
use super::store::{Store, StoreError};
use super::validate::{self, PrincipalName};
use crate::kusto::command::{
    self, Command, DatabaseRole, EntityRef, PolicyTarget, Property, RoleScope, ScriptCommand,
    TableRole,
};
use crate::kusto::v1::V1Response;
use crate::sandbox::group_commit::Durability;

/// Who is calling: the principal FQN the bearer token maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Principal FQN, e.g. `aadapp=...;tenant`.
    pub principal: String,
    /// Cluster admins pass every role check (the way the sandbox is bootstrapped).
    pub cluster_admin: bool,
}

impl Caller {
    /// A caller that passes every role check (used when authentication is off).
    pub fn cluster_admin(principal: impl Into<String>) -> Self {
        Caller {
            principal: principal.into(),
            cluster_admin: true,
        }
    }

    /// A caller whose rights come only from its database and table roles.
    pub fn principal(principal: impl Into<String>) -> Self {
        Caller {
            principal: principal.into(),
            cluster_admin: false,
        }
    }
}

/// One request to the engine.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The request's `db` field ("" when absent).
    pub database: &'a str,
    /// The command text.
    pub csl: &'a str,
    /// Who is calling.
    pub caller: &'a Caller,
    /// Reject state-changing commands (the query endpoint).
    pub read_only: bool,
    /// Fault injection: for an `.execute database script`, stop after this many commands
    /// (their effects are kept) and report [`Execution::ConnectionDropped`].
    pub cut_script_after: Option<usize>,
}

/// One streaming ingestion request (`POST /v1/rest/ingest/DATABASE/TABLE`).
#[derive(Debug, Clone, Copy)]
pub struct StreamIngest<'a> {
    /// Target database.
    pub database: &'a str,
    /// Target table.
    pub table: &'a str,
    /// `streamFormat` (required).
    pub format: Option<&'a str>,
    /// `mappingName`, if given.
    pub mapping: Option<&'a str>,
    /// The data, already decompressed.
    pub data: &'a [u8],
    /// Who is calling.
    pub caller: &'a Caller,
}

/// What happened to a request that did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Execution {
    /// The command ran; here is its result.
    Completed(V1Response),
    /// A script was cut by fault injection after `executed` commands; the caller must not
    /// get a response.
    ConnectionDropped {
        /// How many script commands ran (and were persisted).
        executed: usize,
    },
}

/// Why a sandbox could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Loading or saving the state failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A declared database name is not a valid Kusto name.
    #[error("invalid database name: {0}")]
    InvalidDatabase(String),
}

/// The Kusto sandbox engine. Thread-safe: requests are serialised, like one control-command
/// queue.
#[derive(Debug)]
pub struct KustoSandbox {
    inner: Mutex<Inner>,
    /// The journal's group commit (persisted sandboxes): requests wait on it after the lock.
    durability: Option<Arc<Durability>>,
}

#[derive(Debug)]
struct Inner {
    state: SandboxState,
    store: Option<Store>,
    /// Set once queued ingestion is served (`.get ingestion resources` fails before).
    queued: Option<QueuedIngestion>,
}

/// One blob of a sealed queued-ingestion batch, downloaded (and decompressed) or not.
#[derive(Debug)]
pub(super) struct QueuedBlob {
    /// The message's `Id`.
    pub source_id: String,
    /// The blob URI without its SAS.
    pub source_path: String,
    /// The data, or why it could not be read.
    pub data: Result<Vec<u8>, KustoError>,
}

/// A sealed batch: blobs for one table with the same properties and authorization.
#[derive(Debug)]
pub(super) struct QueuedBatch<'a> {
    /// Target database.
    pub database: &'a str,
    /// Target table.
    pub table: &'a str,
    /// Ingestion properties (`format`, mapping, `tags`, ...).
    pub properties: &'a [Property],
    /// The messages' authorization context.
    pub authorization_context: Option<&'a str>,
    /// The blobs, in arrival order.
    pub blobs: Vec<QueuedBlob>,
}

/// What happened to each blob of a batch.
#[derive(Debug)]
pub(super) struct BatchOutcome {
    /// The ingestion operation.
    pub operation_id: String,
    /// The root activity.
    pub root_activity_id: String,
    /// One entry per blob, in order: `None` when ingested, else the recorded failure.
    pub results: Vec<Option<IngestionFailure>>,
}

/// What a command needs from the caller.
enum Need<'a> {
    Anyone,
    Read(&'a str),
    Write {
        database: &'a str,
        table: Option<&'a str>,
        ingestor_ok: bool,
    },
}

impl KustoSandbox {
    /// A sandbox that keeps state in memory only, with these databases.
    pub fn in_memory(databases: &[String]) -> Result<Self, SandboxError> {
        let mut state = SandboxState::default();
        declare(&mut state, databases)?;
        Ok(Self::from_parts(state, None))
    }

    /// A sandbox persisted in `dir`: loads the existing state (if any), adds the declared
    /// databases that are missing, and saves. Databases are never created by commands,
    /// exactly like real Kusto.
    pub fn open(dir: &Path, databases: &[String]) -> Result<Self, SandboxError> {
        let (mut store, mut state) = Store::open(dir)?;
        store.commit(&declare(&mut state, databases)?)?;
        Ok(Self::from_parts(state, Some(store)))
    }

    fn from_parts(state: SandboxState, store: Option<Store>) -> Self {
        KustoSandbox {
            durability: store.as_ref().map(Store::durability),
            inner: Mutex::new(Inner {
                state,
                store,
                queued: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied command behind (commands
        // run on a copy), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The journal position after every change made so far: read while holding the lock, what
    /// an answer may have seen.
    fn position(&self) -> u64 {
        self.durability.as_ref().map_or(0, |d| d.position())
    }

    /// Returns once everything up to `position` is on disk: no answer may leave before the
    /// changes it could have seen are committed.
    fn settle(&self, position: u64) -> Result<(), KustoError> {
        match &self.durability {
            Some(d) => d.wait(position).map_err(persist_error),
            None => Ok(()),
        }
    }

    /// A snapshot of the whole state, for inspection.
    pub fn state(&self) -> SandboxState {
        self.lock().state.clone()
    }

    /// Where the state is persisted, if anywhere.
    pub fn state_path(&self) -> Option<PathBuf> {
        self.lock().store.as_ref().map(Store::path)
    }

    /// Runs one management command in database `db` ("" for none) as `caller`.
    pub fn execute(&self, db: &str, csl: &str, caller: &Caller) -> Result<V1Response, KustoError> {
        let request = Request {
            database: db,
            csl,
            caller,
            read_only: false,
            cut_script_after: None,
        };
        match self.run(request)? {
            Execution::Completed(response) => Ok(response),
            Execution::ConnectionDropped { .. } => Err(KustoError::internal(
                "script was cut without fault injection",
            )),
        }
    }

    /// Answers a query (not a control command) in database `database`: the subset described
    /// in the query module, or the service's error.
    pub fn query(
        &self,
        database: &str,
        csl: &str,
        caller: &Caller,
    ) -> Result<ResultTable, KustoError> {
        let (answer, seen) = match query::schema::strip_getschema(csl) {
            Some(tabular) => {
                let inner = self.lock();
                let answer = schema_of_query(&inner.state, database, caller, tabular);
                (answer, self.position())
            }
            None => {
                let parsed = query::parse(csl)?;
                let inner = self.lock();
                let answer = evaluate(&inner.state, database, caller, &parsed);
                (answer, self.position())
            }
        };
        self.settle(seen)?;
        answer
    }

    /// Streams data into a table: checks access (table or database ingestor or admin), the
    /// streaming ingestion policy, then reads the data into one new extent and persists it.
    pub fn stream_ingest(&self, request: StreamIngest<'_>) -> Result<V1Response, KustoError> {
        let mut inner = self.lock();
        authorize(
            &inner.state,
            request.caller,
            Need::Write {
                database: request.database,
                table: Some(request.table),
                ingestor_ok: true,
            },
        )?;
        let db = exec::database(&inner.state, request.database)?;
        let table = exec::table(db, request.table)?;
        if !data::streaming_enabled(db, table) {
            return Err(KustoError::streaming_disabled(
                request.database,
                request.table,
            ));
        }
        let format = request.format.filter(|f| !f.is_empty()).ok_or_else(|| {
            KustoError::bad_request(
                "The streaming ingestion request has no 'streamFormat' parameter.",
            )
        })?;
        let reading = data::stream_reading(format, request.mapping)?;
        let text = data::formats::text(request.data)?;
        let extent = data::build_extent(db, table, text, &reading, Vec::new())?;
        let Inner { state, store, .. } = &mut *inner;
        if let Some(store) = store {
            store.compact_if_due(state).map_err(persist_error)?;
        }
        let db = exec::database_mut(state, request.database)?;
        let ingested = data::update::append(db, request.table, extent)?;
        let failures = ingested
            .failures
            .iter()
            .map(|f| exec::inline_failure(request.database, &f.table, &f.error))
            .collect();
        let saved_failures = state.ingestion_failures.clone();
        exec::record_failures(state, failures);
        let changes = changes::ingested(state, request.database, &ingested.added, &saved_failures);
        if let Some(store) = store
            && let Err(e) = store.commit(&changes)
        {
            state.ingestion_failures = saved_failures;
            let db = exec::database_mut(state, request.database)?;
            data::update::undo(db, &ingested);
            return Err(persist_error(e));
        }
        Ok(V1Response::single(data::stream_result()))
    }

    /// Serves queued ingestion through `account`: `.get ingestion resources` hands out its
    /// SAS URIs and `.get kusto identity token` contexts signed by a fresh key.
    pub(super) fn enable_queued_ingestion(&self, account: StorageAccount) {
        self.lock().queued = Some(QueuedIngestion::new(account));
    }

    /// The batching limits in effect for `database.table` (the defaults when either is
    /// missing: the failure shows when the batch is ingested).
    pub(super) fn batching_limits(&self, database: &str, table: &str) -> Limits {
        let inner = self.lock();
        inner
            .state
            .databases
            .get(database)
            .and_then(|db| db.tables.get(table).map(|t| Limits::effective(db, t)))
            .unwrap_or(Limits::DEFAULT)
    }

    /// Ingests a sealed queued batch: checks the authorization context (the caller it was
    /// issued to must be an ingestor or admin of the table), reads every blob, appends the
    /// readable ones as one extent, records a failure per unreadable blob for
    /// `.show ingestion failures`, and persists.
    pub(super) fn ingest_queued(&self, batch: QueuedBatch<'_>) -> BatchOutcome {
        let operation_id = clock::new_guid();
        let root_activity_id = clock::new_guid();
        let mut inner = self.lock();
        let principal = batch
            .authorization_context
            .and_then(|t| inner.queued.as_ref().and_then(|q| q.caller_of(t)));
        let properties = batch
            .properties
            .iter()
            .map(|p| format!("{}={}", p.key, p.value))
            .collect::<Vec<_>>()
            .join(", ");
        let failure = |source: &QueuedBlob, e: &KustoError| IngestionFailure {
            operation_id: operation_id.clone(),
            database: batch.database.to_string(),
            table: batch.table.to_string(),
            failed_on: clock::now(),
            source_path: source.source_path.clone(),
            source_id: source.source_id.clone(),
            details: e.detail.clone(),
            error_code: e.code.clone(),
            permanent: e.permanent,
            root_activity_id: root_activity_id.clone(),
            principal: principal
                .as_ref()
                .map_or_else(String::new, |c| c.principal.clone()),
            properties: properties.clone(),
            operation_kind: "DataIngestPull".to_string(),
        };
        let (extent, errors) = read_batch(&inner.state, &batch, principal.as_ref());
        let results: Vec<Option<IngestionFailure>> = batch
            .blobs
            .iter()
            .zip(&errors)
            .map(|(blob, e)| e.as_ref().map(|e| failure(blob, e)))
            .collect();
        let persist_failed = |e: StoreError| {
            let error = KustoError::transient_ingestion(
                "General_InternalError",
                format!("The sandbox could not persist its state: {e}"),
            );
            BatchOutcome {
                operation_id: operation_id.clone(),
                root_activity_id: root_activity_id.clone(),
                results: batch
                    .blobs
                    .iter()
                    .map(|b| Some(failure(b, &error)))
                    .collect(),
            }
        };
        let Inner { state, store, .. } = &mut *inner;
        if let Some(store) = store
            && let Err(e) = store.compact_if_due(state)
        {
            return persist_failed(e);
        }
        let saved_failures = state.ingestion_failures.clone();
        let mut results = results;
        let mut policy_failures = Vec::new();
        let mut added = Vec::new();
        if let Some(extent) = extent
            && let Ok(db) = exec::database_mut(state, batch.database)
        {
            match data::update::append(db, batch.table, extent) {
                Ok(ingested) => {
                    policy_failures = ingested.failures;
                    added = ingested.added;
                }
                // A transactional update policy failed: no blob's rows are kept.
                Err(e) => {
                    for (result, blob) in results.iter_mut().zip(&batch.blobs) {
                        if result.is_none() {
                            *result = Some(failure(blob, &e));
                        }
                    }
                }
            }
        }
        let mut failures: Vec<IngestionFailure> = results.iter().flatten().cloned().collect();
        for f in policy_failures {
            for blob in &batch.blobs {
                failures.push(IngestionFailure {
                    table: f.table.clone(),
                    ..failure(blob, &f.error)
                });
            }
        }
        exec::record_failures(state, failures);
        let changes = changes::ingested(state, batch.database, &added, &saved_failures);
        if let Some(store) = store
            && let Err(e) = store.commit(&changes)
        {
            state.ingestion_failures = saved_failures;
            if let Ok(db) = exec::database_mut(state, batch.database) {
                data::update::undo(
                    db,
                    &data::update::Ingested {
                        added,
                        failures: Vec::new(),
                    },
                );
            }
            return persist_failed(e);
        }
        BatchOutcome {
            operation_id,
            root_activity_id,
            results,
        }
    }

    /// Runs a request; changes are persisted before the result is returned, including the
    /// effects of script commands that ran before a failure or a cut.
    pub fn run(&self, request: Request<'_>) -> Result<Execution, KustoError> {
        let command = command::parse(request.csl).map_err(|e| KustoError::syntax(&e))?;
        if request.read_only && !command.is_read_only() {
            return Err(KustoError::bad_request(format!(
                "'{}' changes state and cannot run on the query endpoint; send it to /v1/rest/mgmt.",
                command.command_type()
            )));
        }
        let ctx = Context {
            database: Some(request.database).filter(|d| !d.is_empty()),
            results: true,
        };
        let mut inner = self.lock();
        let Inner { state, store, .. } = &mut *inner;
        if !command.is_read_only()
            && let Some(store) = store
        {
            store.compact_if_due(state).map_err(persist_error)?;
        }
        if matches!(
            command,
            Command::GetIngestionResources | Command::GetKustoIdentityToken
        ) {
            let queued = inner.queued.as_ref().ok_or_else(|| {
                KustoError::bad_request(
                    "Queued ingestion is not enabled in this sandbox: start it with 'kustoplan sandbox serve --ingest'.",
                )
            })?;
            let table = if command == Command::GetIngestionResources {
                queued.resources()
            } else {
                queued.identity_token(request.caller)
            };
            return Ok(Execution::Completed(V1Response::single(table)));
        }
        if command.is_read_only() {
            // Reads run on the live state: no copy, nothing to persist (a copy of 10,000 tables
            // per bulk read made the sandbox, not kustoplan, the bottleneck at scale).
            let answer = authorize(&inner.state, request.caller, need(&command, ctx))
                .and_then(|()| exec::execute(&mut inner.state, ctx, &command))
                .map(|t| Execution::Completed(V1Response::single(t)));
            let seen = self.position();
            drop(inner);
            self.settle(seen)?;
            return answer;
        }
        let mut work = inner.state.clone();
        let outcome = match &command {
            Command::ExecuteScript {
                continue_on_errors,
                throw_on_errors,
                commands,
            } => run_script(
                &mut work,
                ctx,
                request.caller,
                ScriptOptions {
                    continue_on_errors: *continue_on_errors,
                    throw_on_errors: *throw_on_errors,
                    cut_after: request.cut_script_after,
                },
                commands,
            ),
            single => authorize(&work, request.caller, need(single, ctx))
                .and_then(|()| exec::execute(&mut work, ctx, single))
                .map(|t| Execution::Completed(V1Response::single(t))),
        };
        let Inner { state, store, .. } = &mut *inner;
        let changes = changes::between(state, &work);
        let unused = if changes.is_empty() {
            work
        } else {
            if let Some(store) = store {
                store.write(&changes).map_err(persist_error)?;
            }
            std::mem::replace(state, work)
        };
        let seen = self.position();
        // The state not kept (usually the one replaced, whose map of table names the script's
        // first table write copied) is freed after the lock: other requests need not wait for
        // 10,000 names to be freed.
        drop(inner);
        drop(unused);
        // Committed once on disk, with the records of the requests that wrote meanwhile.
        self.settle(seen)?;
        outcome
    }
}

/// `QUERY | getschema`: the columns the query would return.
fn schema_of_query(
    state: &SandboxState,
    database: &str,
    caller: &Caller,
    tabular: &str,
) -> Result<ResultTable, KustoError> {
    authorize(state, caller, Need::Read(database))?;
    let db = exec::database(state, database)?;
    let schema = query::schema::query_schema(db, tabular).map_err(|e| e.into_kusto())?;
    Ok(query::schema::getschema_result(&schema))
}

/// A parsed query over one table of `database`.
fn evaluate(
    state: &SandboxState,
    database: &str,
    caller: &Caller,
    parsed: &query::Query,
) -> Result<ResultTable, KustoError> {
    authorize(state, caller, Need::Read(database))?;
    let db = exec::database(state, database)?;
    let table = db.tables.get(&parsed.table).ok_or_else(|| {
        KustoError::query_semantic(
            "SEM0100",
            format!(
                "'table' operator: Failed to resolve table expression named '{}'",
                parsed.table
            ),
        )
    })?;
    query::evaluate(parsed, table)
}

/// Reads a queued batch against the current state (nothing is changed): the extent of the
/// readable blobs (if any) and, per blob, why it was not ingested.
fn read_batch(
    state: &SandboxState,
    batch: &QueuedBatch<'_>,
    principal: Option<&Caller>,
) -> (Option<Extent>, Vec<Option<KustoError>>) {
    let all = |e: KustoError| (None, vec![Some(e); batch.blobs.len()]);
    let Some(caller) = principal else {
        return all(KustoError::ingestion(
            "BadRequest_InvalidAuthorizationContext",
            "The message's 'authorizationContext' is missing or was not issued by this sandbox (contexts come from '.get kusto identity token' and end with the sandbox process).",
        ));
    };
    let need = Need::Write {
        database: batch.database,
        table: Some(batch.table),
        ingestor_ok: true,
    };
    let checked = authorize(state, caller, need)
        .and_then(|()| data::inline_options(batch.properties))
        .and_then(|options| {
            let db = exec::database(state, batch.database)?;
            Ok((db, exec::table(db, batch.table)?, options))
        });
    let (db, table, options) = match checked {
        Ok(found) => found,
        Err(e) => return all(e),
    };
    if data::already_ingested(table, &options.ingest_if_not_exists) {
        return (None, vec![None; batch.blobs.len()]);
    }
    let mut merged: Option<Extent> = None;
    let mut errors = Vec::with_capacity(batch.blobs.len());
    for blob in &batch.blobs {
        let read = blob.data.clone().and_then(|bytes| {
            let text = data::formats::text(&bytes)?;
            data::build_extent(db, table, text, &options.reading, options.tags.clone())
        });
        match read {
            Ok(extent) => {
                errors.push(None);
                match &mut merged {
                    // One mapping plan per batch: every extent has the same columns.
                    Some(m) if m.columns == extent.columns => {
                        m.original_size += extent.original_size;
                        m.rows.extend(extent.rows);
                    }
                    Some(_) => {
                        errors.pop();
                        errors.push(Some(KustoError::internal(
                            "The blobs of one batch were read with different columns.",
                        )));
                    }
                    None => merged = Some(extent),
                }
            }
            Err(e) => errors.push(Some(e)),
        }
    }
    (merged, errors)
}

/// Adds missing databases; the changes to persist.
fn declare(state: &mut SandboxState, databases: &[String]) -> Result<Vec<Change>, SandboxError> {
    let mut added = Vec::new();
    for name in databases {
        validate::entity_name("database", name)
            .map_err(|e| SandboxError::InvalidDatabase(e.detail))?;
        if !state.databases.contains_key(name) {
            let db = Database::new(clock::new_guid());
            added.push(Change::Database {
                name: name.clone(),
                value: Some(Box::new(db.clone())),
            });
            state.databases.insert(name.clone(), db);
        }
    }
    Ok(added)
}

/// The service's answer when the sandbox cannot write its files.
fn persist_error(e: StoreError) -> KustoError {
    KustoError::internal(format!("The sandbox could not persist its state: {e}"))
}

fn need<'a>(cmd: &'a Command, ctx: Context<'a>) -> Need<'a> {
    let table_write = |t: &'a command::TableRef, ingestor_ok| Need::Write {
        database: ctx.resolve(t.database.as_deref()),
        table: Some(&t.table),
        ingestor_ok,
    };
    let entity_write = |e: &'a EntityRef, ingestor_ok| match e {
        EntityRef::Table(t) => table_write(t, ingestor_ok),
        EntityRef::Database(d) => Need::Write {
            database: d,
            table: None,
            ingestor_ok,
        },
    };
    match cmd {
        Command::ShowVersion
        | Command::ShowDatabases
        | Command::GetIngestionResources
        | Command::GetKustoIdentityToken => Need::Anyone,
        Command::ShowIngestionFailures => Need::Read(ctx.resolve(None)),
        Command::ShowDatabaseSchemaJson { database }
        | Command::ShowDatabaseSchemaScript { database, .. }
        | Command::ShowDatabasePrincipals { database } => Need::Read(database),
        Command::ShowMappings { entity, .. } => Need::Read(ctx.entity_database(entity)),
        Command::ShowTables
        | Command::ShowPolicy { .. }
        | Command::ShowFunctions
        | Command::ShowFunction { .. }
        | Command::ShowMaterializedViews
        | Command::ShowMaterializedView { .. } => Need::Read(ctx.resolve(None)),
        // The service shows an operation to its caller; the sandbox to anyone who can connect.
        Command::ShowOperation { .. } => Need::Anyone,
        Command::ShowTableSchemaJson { table }
        | Command::ShowTablePrincipals { table }
        | Command::ShowExtents { table, .. } => Need::Read(ctx.resolve(table.database.as_deref())),
        Command::DropExtents { table, .. } | Command::DeleteRecords { table, .. } => {
            table_write(table, false)
        }
        Command::IngestInline { table, .. } => table_write(table, true),
        Command::TableSchema { table, .. }
        | Command::AlterColumnType { table, .. }
        | Command::DropColumn { table, .. }
        | Command::RenameColumn { table, .. }
        | Command::DropTable { table, .. }
        | Command::AlterDocString { table, .. }
        | Command::AlterFolder { table, .. } => table_write(table, false),
        Command::SetMapping { entity, .. } | Command::DropMapping { entity, .. } => {
            entity_write(entity, true)
        }
        Command::DeletePolicy { entity, .. } => entity_write(entity, false),
        Command::AlterPolicy { target, .. } => match target {
            PolicyTarget::Tables(tables) if tables.len() == 1 => table_write(&tables[0], false),
            PolicyTarget::Tables(_) => Need::Write {
                database: ctx.resolve(None),
                table: None,
                ingestor_ok: false,
            },
            PolicyTarget::Database(d) => Need::Write {
                database: d,
                table: None,
                ingestor_ok: false,
            },
        },
        Command::Principals { scope, .. } => match scope {
            RoleScope::Database(d, _) => Need::Write {
                database: d,
                table: None,
                ingestor_ok: false,
            },
            RoleScope::Table(t, _) => table_write(t, false),
        },
        // Table Admin on the source, as documented (the creator of a table is its admin).
        Command::RenameTable { from, .. } => Need::Write {
            database: ctx.resolve(None),
            table: Some(from),
            ingestor_ok: false,
        },
        // Several tables: the sandbox asks for Database Admin rather than Table Admin on each.
        Command::RenameTables { .. }
        | Command::ExecuteScript { .. }
        | Command::CreateOrAlterFunction { .. }
        | Command::DropFunction { .. }
        | Command::CreateMaterializedView { .. }
        | Command::AlterMaterializedView { .. }
        | Command::AlterMaterializedViewMetadata { .. }
        | Command::DropMaterializedView { .. }
        | Command::RenameMaterializedView { .. } => Need::Write {
            database: ctx.resolve(None),
            table: None,
            ingestor_ok: false,
        },
    }
}

fn authorize(state: &SandboxState, caller: &Caller, need: Need<'_>) -> Result<(), KustoError> {
    let (database, action) = match need {
        Need::Anyone => return Ok(()),
        Need::Read(d) | Need::Write { database: d, .. } => (
            d,
            if matches!(need, Need::Read(_)) {
                "read"
            } else {
                "write"
            },
        ),
    };
    let db = exec::database(state, database)?;
    if caller.cluster_admin {
        return Ok(());
    }
    // The caller is known by the FQN the directory resolves its name to, as roles are stored.
    let principal = PrincipalName::parse(&caller.principal)
        .map_or_else(|_| caller.principal.clone(), |p| directory::resolve(&p).fqn);
    let holds = |role: DatabaseRole| {
        db.principals
            .iter()
            .any(|a| a.role == role && a.fqn.eq_ignore_ascii_case(&principal))
    };
    let table_holds = |table: Option<&str>, role: TableRole| {
        table.and_then(|t| db.tables.get(t)).is_some_and(|t| {
            t.principals
                .iter()
                .any(|a| a.role == role && a.fqn.eq_ignore_ascii_case(&principal))
        })
    };
    let allowed = match need {
        Need::Anyone => true,
        Need::Read(_) => [
            DatabaseRole::Admins,
            DatabaseRole::Users,
            DatabaseRole::Viewers,
            DatabaseRole::UnrestrictedViewers,
            DatabaseRole::Monitors,
        ]
        .into_iter()
        .any(holds),
        Need::Write {
            table, ingestor_ok, ..
        } => {
            holds(DatabaseRole::Admins)
                || table_holds(table, TableRole::Admins)
                || (ingestor_ok
                    && (holds(DatabaseRole::Ingestors) || table_holds(table, TableRole::Ingestors)))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(KustoError::forbidden(&caller.principal, action, database))
    }
}

struct ScriptOptions {
    continue_on_errors: bool,
    throw_on_errors: bool,
    cut_after: Option<usize>,
}

/// Sequential and not transactional: each command commits on its own, so a failure or a cut
/// keeps the effects of the commands before it.
fn run_script(
    state: &mut SandboxState,
    ctx: Context<'_>,
    caller: &Caller,
    opts: ScriptOptions,
    commands: &[ScriptCommand],
) -> Result<Execution, KustoError> {
    if opts.continue_on_errors && opts.throw_on_errors {
        return Err(KustoError::bad_request(
            "ContinueOnErrors and ThrowOnErrors cannot be used together.",
        ));
    }
    authorize(
        state,
        caller,
        Need::Write {
            database: ctx.resolve(None),
            table: None,
            ingestor_ok: false,
        },
    )?;
    let mut table = results::script();
    let mut stopped = false;
    for (i, sc) in commands.iter().enumerate() {
        if opts.cut_after == Some(i) {
            return Ok(Execution::ConnectionDropped { executed: i });
        }
        let (result, reason) = if stopped {
            (
                "Skipped",
                "Not executed: a previous command failed and ContinueOnErrors is false."
                    .to_string(),
            )
        } else if sc.command.is_read_only() {
            ("Skipped", String::new())
        } else {
            match authorize(state, caller, need(&sc.command, ctx))
                .and_then(|()| exec::execute(state, ctx.in_script(), &sc.command))
            {
                Ok(_) => ("Completed", String::new()),
                Err(e) if opts.throw_on_errors => return Err(e),
                Err(e) => {
                    stopped = !opts.continue_on_errors;
                    ("Failed", e.detail)
                }
            }
        };
        table.push(vec![
            clock::new_guid().into(),
            sc.command.command_type().into(),
            sc.text.clone().into(),
            result.into(),
            reason.into(),
        ]);
    }
    if opts.cut_after.is_some() {
        return Ok(Execution::ConnectionDropped {
            executed: commands.len(),
        });
    }
    Ok(Execution::Completed(V1Response::single(table)))
}
