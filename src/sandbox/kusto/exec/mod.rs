//! Executes one parsed command against the state (no access checks, no persistence, no
//! scripts: those belong to the engine).

mod functions;
mod mappings;
mod materialized_views;
mod policies;
mod principals;
pub(super) mod results;
mod schema_doc;
mod schema_script;
mod tables;
mod update_policies;

use super::clock;
use super::data;
use super::error::KustoError;
use super::state::{Database, IngestionFailure, SandboxState, Shared, Table};
use crate::kusto::command::{
    Command, EntityRef, PolicyTarget, Property, RoleScope, TableRef, TableRename,
};
use crate::kusto::v1::V1Table;

/// The database a command runs in, as given by the request's `db` field, and whether its
/// result table is wanted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    /// Context database, if the request named one.
    pub database: Option<&'a str>,
    /// False for a command inside a script: the script answers with each command's outcome,
    /// never its result table, so the commands that render one at a cost (table schemas,
    /// mappings and policies as JSON) skip it. A script of 1,000 commands rendered 1,000
    /// tables under the sandbox's lock only to drop them.
    pub results: bool,
}

/// The database the service falls back to when a request names none.
const DEFAULT_DATABASE: &str = "NetDefaultDB";

impl<'a> Context<'a> {
    /// The context for the commands of a script run in this context: no result tables.
    pub fn in_script(self) -> Self {
        Context {
            results: false,
            ..self
        }
    }

    /// The database a command addresses: explicit if written, else the context.
    pub fn resolve(&self, explicit: Option<&'a str>) -> &'a str {
        explicit.or(self.database).unwrap_or(DEFAULT_DATABASE)
    }

    /// The database of a table or database reference.
    pub fn entity_database(&self, entity: &'a EntityRef) -> &'a str {
        match entity {
            EntityRef::Table(t) => self.resolve(t.database.as_deref()),
            EntityRef::Database(d) => d,
        }
    }
}

pub(super) fn database<'s>(
    state: &'s SandboxState,
    name: &str,
) -> Result<&'s Database, KustoError> {
    state
        .databases
        .get(name)
        .ok_or_else(|| KustoError::database_not_found(name))
}

pub(super) fn database_mut<'s>(
    state: &'s mut SandboxState,
    name: &str,
) -> Result<&'s mut Database, KustoError> {
    state
        .databases
        .get_mut(name)
        .ok_or_else(|| KustoError::database_not_found(name))
}

pub(super) fn table<'s>(db: &'s Database, name: &str) -> Result<&'s Table, KustoError> {
    db.tables
        .get(name)
        .map(|t| &**t)
        .ok_or_else(|| KustoError::entity_not_found("Table", name))
}

pub(super) fn table_mut<'s>(db: &'s mut Database, name: &str) -> Result<&'s mut Table, KustoError> {
    db.tables
        .get_mut(name)
        .map(|t| &mut **t)
        .ok_or_else(|| KustoError::entity_not_found("Table", name))
}

/// The database and table a table reference resolves to.
pub(super) fn table_ref<'s>(
    state: &'s mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
) -> Result<(String, &'s mut Table), KustoError> {
    let db_name = ctx.resolve(t.database.as_deref()).to_string();
    let db = database_mut(state, &db_name)?;
    let tb = table_mut(db, &t.table)?;
    Ok((db_name, tb))
}

/// Runs a non-script command atomically: on error the state is unchanged. Reads change
/// nothing, so they skip the copy that makes writes atomic (a copy of every table per command
/// made reads cost O(tables)).
pub(super) fn execute(
    state: &mut SandboxState,
    ctx: Context<'_>,
    cmd: &Command,
) -> Result<V1Table, KustoError> {
    if cmd.is_read_only() || changes_only_data(cmd) {
        // Data commands validate everything before they change anything, and rows are not
        // schema: they bump no version.
        return dispatch(state, ctx, cmd);
    }
    if let Some(t) = single_table(cmd) {
        let db_name = ctx.resolve(t.database.as_deref()).to_string();
        if let Some(db) = state.databases.get(&db_name) {
            return execute_on_table(
                state,
                ctx,
                cmd,
                &db_name,
                &t.table,
                Snapshot::of(db, &t.table),
            );
        }
    }
    let mut work = state.clone();
    let result = dispatch(&mut work, ctx, cmd)?;
    if work != *state {
        for (name, db) in &mut work.databases {
            if state.databases.get(name) != Some(db) {
                db.minor_version += 1;
            }
        }
        *state = work;
    }
    Ok(result)
}

/// Commands that add or remove rows and change nothing else.
fn changes_only_data(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::IngestInline { .. } | Command::DropExtents { .. } | Command::DeleteRecords { .. }
    )
}

/// `.ingest inline`: reads all the data first, then adds one extent.
fn ingest_inline(
    state: &mut SandboxState,
    ctx: Context<'_>,
    t: &TableRef,
    properties: &[Property],
    data: &str,
) -> Result<V1Table, KustoError> {
    let options = data::inline_options(properties)?;
    let db_name = ctx.resolve(t.database.as_deref());
    let db = database_mut(state, db_name)?;
    let tb = table(db, &t.table)?;
    if data::already_ingested(tb, &options.ingest_if_not_exists) {
        return Ok(data::inline_result(None));
    }
    let built = data::build_extent(
        db,
        tb,
        &data::inline_text(data),
        &options.reading,
        options.tags,
    );
    // The service lists failures of ingestion management commands in
    // `.show ingestion failures`; the command still fails. A transactional update policy that
    // fails fails the command; a non-transactional one only records its failure.
    let ingested = built.and_then(|extent| data::update::append(db, &t.table, extent));
    let ingested = match ingested {
        Ok(ingested) => ingested,
        Err(e) => {
            record_failures(state, vec![inline_failure(db_name, &t.table, &e)]);
            return Err(e);
        }
    };
    let failures = ingested
        .failures
        .iter()
        .map(|f| inline_failure(db_name, &f.table, &f.error))
        .collect();
    record_failures(state, failures);
    let id = ingested.added.first().map(|(_, id)| id.as_str());
    Ok(data::inline_result(id))
}

/// Adds failures for `.show ingestion failures`, keeping the most recent ones.
pub(super) fn record_failures(state: &mut SandboxState, failures: Vec<IngestionFailure>) {
    state.ingestion_failures.extend(failures);
    let excess = state
        .ingestion_failures
        .len()
        .saturating_sub(super::queued::MAX_FAILURES);
    state.ingestion_failures.drain(..excess);
}

/// The `.show ingestion failures` record of a failed `.ingest inline` (or of an update policy
/// it ran).
pub(super) fn inline_failure(database: &str, table: &str, e: &KustoError) -> IngestionFailure {
    IngestionFailure {
        operation_id: clock::new_guid(),
        database: database.to_string(),
        table: table.to_string(),
        failed_on: clock::now(),
        source_path: String::new(),
        source_id: String::new(),
        details: e.detail.clone(),
        error_code: e.code.clone(),
        permanent: e.permanent,
        root_activity_id: clock::new_guid(),
        principal: String::new(),
        properties: String::new(),
        operation_kind: "DataIngestPush".to_string(),
    }
}

/// The one table a write touches, for the commands that touch nothing else; other writes
/// (database-level ones, multi-table policies) take the whole-state copy.
fn single_table(cmd: &Command) -> Option<&TableRef> {
    match cmd {
        Command::TableSchema { table, .. }
        | Command::AlterColumnType { table, .. }
        | Command::DropColumn { table, .. }
        | Command::RenameColumn { table, .. }
        | Command::DropTable { table, .. }
        | Command::AlterDocString { table, .. }
        | Command::AlterFolder { table, .. }
        | Command::SetMapping {
            entity: EntityRef::Table(table),
            ..
        }
        | Command::DropMapping {
            entity: EntityRef::Table(table),
            ..
        }
        | Command::DeletePolicy {
            entity: EntityRef::Table(table),
            ..
        }
        | Command::Principals {
            scope: RoleScope::Table(table, _),
            ..
        } => Some(table),
        Command::AlterPolicy {
            target: PolicyTarget::Tables(tables),
            ..
        } => match tables.as_slice() {
            [table] => Some(table),
            _ => None,
        },
        _ => None,
    }
}

/// What a single-table write may change: the table itself and the database's own settings.
/// Copying these instead of the whole state keeps a write O(1) in the number of tables.
struct Snapshot {
    table: Option<Shared<Table>>,
    meta: Database,
}

impl Snapshot {
    fn of(db: &Database, table: &str) -> Snapshot {
        Snapshot {
            table: db.tables.get(table).cloned(),
            meta: db.clone_without_tables(),
        }
    }

    fn matches(&self, db: &Database, table: &str) -> bool {
        db.tables.get(table) == self.table.as_ref() && self.meta.same_settings(db)
    }

    fn restore(self, db: &mut Database, table: &str) {
        match self.table {
            Some(t) => {
                db.tables.insert(table.to_string(), t);
            }
            None => {
                db.tables.remove(table);
            }
        }
        db.restore_settings(self.meta);
    }
}

fn execute_on_table(
    state: &mut SandboxState,
    ctx: Context<'_>,
    cmd: &Command,
    db_name: &str,
    table: &str,
    snapshot: Snapshot,
) -> Result<V1Table, KustoError> {
    let result = dispatch(state, ctx, cmd);
    let Some(db) = state.databases.get_mut(db_name) else {
        return result;
    };
    match result {
        Err(e) => {
            snapshot.restore(db, table);
            Err(e)
        }
        Ok(r) => {
            if !snapshot.matches(db, table) {
                db.minor_version += 1;
            }
            Ok(r)
        }
    }
}

fn dispatch(
    state: &mut SandboxState,
    ctx: Context<'_>,
    cmd: &Command,
) -> Result<V1Table, KustoError> {
    match cmd {
        Command::ShowVersion => Ok(results::version()),
        Command::ShowDatabases => Ok(results::databases(state.databases.iter(), ctx.database)),
        Command::ShowTables => {
            let name = ctx.resolve(None);
            Ok(results::table_details(
                name,
                database(state, name)?.tables.values().map(|t| &**t),
            ))
        }
        Command::ShowDatabaseSchemaJson { database: name } => {
            results::database_schema(name, database(state, name)?)
                .map_err(|e| KustoError::internal(format!("cannot write the schema: {e}")))
        }
        Command::ShowDatabaseSchemaScript {
            database: name,
            options,
        } => schema_script::show(state, name, *options),
        Command::ShowTableSchemaJson { table: t } => {
            let (db, tb) = table_ref(state, ctx, t)?;
            Ok(results::table_schema(&db, tb))
        }
        Command::TableSchema {
            verb,
            table: t,
            columns,
            properties,
        } => tables::schema(state, ctx, *verb, t, columns, properties),
        Command::AlterColumnType {
            table: t,
            column,
            ty,
        } => tables::alter_column(state, ctx, t, column, *ty),
        Command::DropColumn {
            table: t,
            column,
            if_exists,
        } => tables::drop_column(state, ctx, t, column, *if_exists),
        Command::DropTable {
            table: t,
            if_exists,
        } => tables::drop_table(state, ctx, t, *if_exists),
        Command::RenameTable { from, to } => tables::rename(
            state,
            ctx,
            &[TableRename {
                to: to.clone(),
                from: from.clone(),
                if_exists: false,
            }],
        ),
        Command::RenameTables { renames } => tables::rename(state, ctx, renames),
        Command::RenameColumn { table: t, from, to } => {
            tables::rename_column(state, ctx, t, from, to)
        }
        Command::AlterDocString {
            table: t,
            docstring,
        } => tables::alter_details(state, ctx, t, |tb| tb.docstring = docstring.clone()),
        Command::AlterFolder { table: t, folder } => {
            tables::alter_details(state, ctx, t, |tb| tb.folder = folder.clone())
        }
        Command::SetMapping {
            verb,
            entity,
            kind,
            name,
            json,
        } => mappings::set(state, ctx, *verb, entity, *kind, name, json),
        Command::DropMapping { entity, kind, name } => {
            mappings::drop(state, ctx, entity, *kind, name)
        }
        Command::ShowMappings { entity, kind, name } => {
            mappings::show(state, ctx, entity, *kind, name.as_deref())
        }
        Command::AlterPolicy {
            merge,
            target,
            policy,
            value,
        } => policies::alter(state, ctx, *merge, target, *policy, &value.to_json()),
        Command::DeletePolicy { entity, policy } => policies::delete(state, ctx, entity, *policy),
        Command::ShowPolicy { target, policy } => policies::show(state, ctx, target, *policy),
        Command::Principals {
            action,
            scope,
            principals: list,
            skip_results,
            notes,
        } => principals::change(
            state,
            ctx,
            *action,
            scope,
            list,
            *skip_results,
            notes.as_deref(),
        ),
        Command::ShowDatabasePrincipals { database: name } => {
            principals::show_database(state, name)
        }
        Command::ShowTablePrincipals { table: t } => principals::show_table(state, ctx, t),
        Command::ShowExtents { table: t, tags } => {
            let db_name = ctx.resolve(t.database.as_deref());
            let db = database(state, db_name)?;
            Ok(data::extents::show(
                db_name,
                &db.id,
                table(db, &t.table)?,
                tags,
            ))
        }
        Command::DropExtents {
            table: t,
            selection,
            what_if,
        } => {
            let (_, tb) = table_ref(state, ctx, t)?;
            Ok(data::extents::drop(tb, selection, *what_if))
        }
        Command::DeleteRecords {
            table: t,
            what_if,
            predicate,
        } => {
            let query = super::query::parse(predicate)?;
            if !query.table.eq_ignore_ascii_case(&t.table) {
                return Err(KustoError::bad_request(format!(
                    "The predicate of '.delete table {} records' must start from that table, not '{}'.",
                    t.table, query.table
                )));
            }
            let (_, tb) = table_ref(state, ctx, t)?;
            let selected = super::query::rows_to_delete(&query, tb)?;
            Ok(data::extents::delete_rows(tb, &selected, *what_if))
        }
        Command::IngestInline {
            table: t,
            properties,
            data,
        } => ingest_inline(state, ctx, t, properties, data),
        Command::ShowIngestionFailures => {
            let name = ctx.resolve(None);
            database(state, name)?;
            Ok(super::queued::failures_table(
                state.ingestion_failures.iter(),
                name,
            ))
        }
        Command::GetIngestionResources | Command::GetKustoIdentityToken => {
            Err(KustoError::bad_request(
                "Queued ingestion resources are answered by the engine, not inside scripts.",
            ))
        }
        Command::ExecuteScript { .. } => Err(KustoError::bad_request(
            "'.execute database script' cannot be nested inside another script.",
        )),
        Command::CreateOrAlterFunction {
            name,
            parameters,
            body,
            properties,
        } => functions::create_or_alter(
            state,
            ctx,
            functions::Definition {
                name,
                parameters,
                body,
                properties,
            },
        ),
        Command::DropFunction { name, if_exists } => functions::drop(state, ctx, name, *if_exists),
        Command::ShowFunctions => functions::show(state, ctx, None),
        Command::ShowFunction { name } => functions::show(state, ctx, Some(name)),
        Command::CreateMaterializedView {
            is_async,
            if_not_exists,
            or_alter,
            name,
            source,
            query,
            properties,
            // The sandbox tells a view source from a table source by its name.
            source_kind: _,
        } => materialized_views::create(
            state,
            ctx,
            materialized_views::CreateForm {
                is_async: *is_async,
                if_not_exists: *if_not_exists,
                or_alter: *or_alter,
            },
            materialized_views::Definition {
                name,
                source,
                query,
                properties,
            },
        ),
        Command::AlterMaterializedView {
            name,
            source,
            query,
            properties,
            source_kind: _,
        } => materialized_views::alter(
            state,
            ctx,
            materialized_views::Definition {
                name,
                source,
                query,
                properties,
            },
        ),
        Command::AlterMaterializedViewMetadata { name, field, value } => {
            materialized_views::alter_metadata(state, ctx, name, *field, value)
        }
        Command::DropMaterializedView { name, if_exists } => {
            materialized_views::drop(state, ctx, name, *if_exists)
        }
        Command::RenameMaterializedView { from, to } => {
            materialized_views::rename(state, ctx, from, to)
        }
        Command::ShowMaterializedViews => materialized_views::show(state, ctx, None),
        Command::ShowMaterializedView { name } => materialized_views::show(state, ctx, Some(name)),
        Command::ShowOperation { id } => Ok(materialized_views::show_operation(state, id)),
    }
}

#[cfg(test)]
mod single_table_tests {
    use crate::sandbox::kusto::{Caller, KustoSandbox};

    fn schema(s: &KustoSandbox) -> serde_json::Value {
        let r = s
            .execute(
                "db",
                ".show database db schema as json",
                &Caller::cluster_admin("aaduser=t"),
            )
            .expect("schema");
        let cell = r
            .primary()
            .and_then(|t| t.value_rows().next().map(|row| row[0].clone()))
            .expect("cell");
        serde_json::from_str(cell.as_str().expect("text")).expect("json")
    }

    /// Single-table writes snapshot only their table: a failure leaves everything as it was and
    /// does not bump the schema version; a success bumps it once.
    #[test]
    fn single_table_writes_are_atomic_and_versioned() {
        let s = KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox");
        let admin = Caller::cluster_admin("aaduser=t");
        s.execute("db", ".create table T (A:int)", &admin)
            .expect("create");
        s.execute("db", ".create table U (X:string)", &admin)
            .expect("create");
        let before = schema(&s);
        for failing in [
            ".alter column T.Missing type=long",
            ".drop table Nope",
            ".alter table T folder 'x' with (bad=1)",
        ] {
            let _ = s.execute("db", failing, &admin);
        }
        assert!(
            s.execute("db", ".alter column T.Missing type=long", &admin)
                .is_err()
        );
        assert_eq!(
            schema(&s),
            before,
            "failed writes change nothing, not even the version"
        );
        s.execute("db", ".create-merge table T (B:string)", &admin)
            .expect("merge");
        let after = schema(&s);
        let version = |v: &serde_json::Value| {
            v["Databases"]["db"]["MinorVersion"]
                .as_u64()
                .expect("version")
        };
        assert_eq!(version(&after), version(&before) + 1);
        assert_eq!(
            after["Databases"]["db"]["Tables"]["T"]["OrderedColumns"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(
            after["Databases"]["db"]["Tables"]["U"],
            before["Databases"]["db"]["Tables"]["U"]
        );
        s.execute("db", ".create table T (A:int)", &admin)
            .expect("no-op create");
        assert_eq!(
            version(&schema(&s)),
            version(&after),
            "a no-op write does not bump the version"
        );
    }
}
