//! The commands kustoplan sends to Kusto, built as [`Command`] values and printed by their
//! `Display` ([`crate::kusto::command`]'s printer, the one place command text is written).
//!
//! Plans show these strings to reviewers and apply executes them verbatim, so they must be
//! exact, deterministic and safe whatever names and texts the manifests hold. All functions
//! are pure. Conventions:
//! - JSON (mappings, policies) is compact, single-line JSON inside one string literal.
//! - Every command is a single line, so any list of them can go into
//!   [`execute_script`], which splits commands at line starts. The one exception is a
//!   function body or a view query, which keeps its lines (a `//` comment ends at its line's
//!   end, so a body cannot be joined into one line); it sits inside `{ ... }`, which both the
//!   service and the sandbox read as one block, so no line of it starts a command.
//! - Table commands address tables of the request's database (the `db` of the request); the
//!   database is named only where the command needs it.
//!
//! Each command is checked against our own parser and the sandbox (unit tests) and against
//! Microsoft's Kusto parser (`tests/it/render_conformance.rs`).

use serde_json::Value;

use crate::kusto::command::{
    ColumnDecl, Command, DatabaseRole, EntityRef, ExtentSelection, MappingVerb, PolicyKind,
    PolicyShowTarget, PolicyTarget, PolicyValue, PrincipalAction, Property,
    RoleScope as AstRoleScope, SchemaScriptOptions, SchemaVerb, TableRef, TableRole, TagFilter,
    TagOp, ViewMetadata, script_header,
};
use crate::model::{
    BatchingPolicy, CachingPolicy, ColumnType, MappingKind, MaterializedView, PrincipalRef,
    RetentionPolicy, UpdatePolicy, update_policies_json,
};

pub use crate::kusto::command::ViewSource;
pub use crate::kusto::command::quote::{name as quote_name, string as quote_string};
pub use crate::kusto::command::timespan_literal;

/// The entity a policy is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope<'a> {
    /// A table of the request's database.
    Table(&'a str),
    /// A database.
    Database(&'a str),
}

impl PolicyScope<'_> {
    /// `table T` or `database DB`.
    fn entity(self) -> EntityRef {
        match self {
            PolicyScope::Table(t) => EntityRef::Table(table_ref(t)),
            PolicyScope::Database(d) => EntityRef::Database(d.to_string()),
        }
    }
}

/// A security role of a database or of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleScope<'a> {
    /// A database role.
    Database(&'a str, DatabaseRole),
    /// A role on a table of the request's database.
    Table(&'a str, TableRole),
}

impl RoleScope<'_> {
    /// `database DB role` or `table T role`.
    fn ast(self) -> AstRoleScope {
        match self {
            RoleScope::Database(d, role) => AstRoleScope::Database(d.to_string(), role),
            RoleScope::Table(t, role) => AstRoleScope::Table(table_ref(t), role),
        }
    }
}

/// A table of the request's database.
fn table_ref(table: &str) -> TableRef {
    TableRef {
        database: None,
        table: table.to_string(),
    }
}

fn column_decls<N: AsRef<str>>(columns: &[(N, ColumnType)]) -> Vec<ColumnDecl> {
    columns
        .iter()
        .map(|(name, ty)| ColumnDecl {
            name: name.as_ref().to_string(),
            ty: *ty,
        })
        .collect()
}

/// A function body or view query as it goes between the braces: line endings normalised,
/// on lines of its own.
fn block(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    format!("\n{}\n", text.trim_end().trim_start_matches('\n'))
}

/// `.alter[-merge] table|database X policy P <value>`.
fn alter(scope: PolicyScope<'_>, policy: PolicyKind, merge: bool, value: PolicyValue) -> Command {
    let target = match scope {
        PolicyScope::Table(t) => PolicyTarget::Tables(vec![table_ref(t)]),
        PolicyScope::Database(d) => PolicyTarget::Database(d.to_string()),
    };
    Command::AlterPolicy {
        merge,
        target,
        policy,
        value,
    }
}

/// `.delete table|database X policy P`.
fn delete(scope: PolicyScope<'_>, policy: PolicyKind) -> Command {
    Command::DeletePolicy {
        entity: scope.entity(),
        policy,
    }
}

/// `.show table|database X policy P`.
fn show_policy(scope: PolicyScope<'_>, policy: PolicyKind) -> String {
    let target = match scope {
        PolicyScope::Table(t) => PolicyShowTarget::Table(table_ref(t)),
        PolicyScope::Database(d) => PolicyShowTarget::Database(d.to_string()),
    };
    Command::ShowPolicy { target, policy }.to_string()
}

/// `.create table T (a:int, ...)`: creates a missing table. Kusto treats it as a no-op on an
/// existing table (even with other columns), so plans use it only for tables observed
/// missing; [`create_merge_table`] is the idempotent form.
pub fn create_table<N: AsRef<str>>(table: &str, cols: &[(N, ColumnType)]) -> String {
    Command::TableSchema {
        verb: SchemaVerb::Create,
        table: table_ref(table),
        columns: column_decls(cols),
        properties: Vec::new(),
    }
    .to_string()
}

/// `.create table T (...) with (folder = "...", docstring = "...")`, each property only when
/// non-empty: the docstring (with the ownership marker) is part of the create, so a script cut
/// right after it still leaves a table this stack owns and may prune.
pub fn create_table_with<N: AsRef<str>>(
    table: &str,
    cols: &[(N, ColumnType)],
    folder: &str,
    docstring: &str,
) -> Command {
    Command::TableSchema {
        verb: SchemaVerb::Create,
        table: table_ref(table),
        columns: column_decls(cols),
        properties: table_properties(folder, docstring),
    }
}

/// `.create-merge table T (...)`: creates the table or adds the missing columns, never drops
/// or retypes one, so it is safe to re-run after a partial apply.
pub fn create_merge_table<N: AsRef<str>>(table: &str, cols: &[(N, ColumnType)]) -> String {
    create_merge_table_with(table, cols, "", "")
}

/// `.create-merge table T (...) with (folder = "...", docstring = "...")`, each property only
/// when non-empty: the form `.show database DB schema as csl script` uses for a table, so
/// the sandbox's script reads back like the service's.
pub fn create_merge_table_with<N: AsRef<str>>(
    table: &str,
    cols: &[(N, ColumnType)],
    folder: &str,
    docstring: &str,
) -> String {
    Command::TableSchema {
        verb: SchemaVerb::CreateMerge,
        table: table_ref(table),
        columns: column_decls(cols),
        properties: table_properties(folder, docstring),
    }
    .to_string()
}

/// `with (folder = "...", docstring = "...")` with the non-empty ones.
fn table_properties(folder: &str, docstring: &str) -> Vec<Property> {
    [("folder", folder), ("docstring", docstring)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| Property::text(key, value))
        .collect()
}

/// `.alter-merge table T (...)`: adds columns to an existing table (fails if it is missing),
/// keeping existing columns and data. kustoplan never renders `.alter table T (...)`, which
/// would drop every column not listed.
pub fn alter_merge_table<N: AsRef<str>>(table: &str, cols: &[(N, ColumnType)]) -> Command {
    Command::TableSchema {
        verb: SchemaVerb::AlterMerge,
        table: table_ref(table),
        columns: column_decls(cols),
        properties: Vec::new(),
    }
}

/// `.alter column T.C type=X`: retypes a column. Kusto nulls the existing data of the column
/// (data loss), so plans classify it `data-loss`.
pub fn alter_column_type(table: &str, column: &str, ty: ColumnType) -> Command {
    Command::AlterColumnType {
        table: table_ref(table),
        column: column.to_string(),
        ty,
    }
}

/// `.drop column T.C`: removes a column and its data. No `ifexists`: Microsoft's parser does
/// not accept it here, and the plan only drops columns it observed.
pub fn drop_column(table: &str, column: &str) -> Command {
    Command::DropColumn {
        table: table_ref(table),
        column: column.to_string(),
        if_exists: false,
    }
}

/// `.drop table T ifexists`: removes a table and its data; `ifexists` makes a re-run after a
/// partial apply succeed instead of failing on the table already gone.
pub fn drop_table(table: &str) -> Command {
    Command::DropTable {
        table: table_ref(table),
        if_exists: true,
    }
}

/// `.rename column T.Old to New`: renames a column in place, keeping its type and data (the
/// plan's way to apply a column's `renamed_from`). It fails when `Old` is missing or `New`
/// exists.
pub fn rename_column(table: &str, from: &str, to: &str) -> Command {
    Command::RenameColumn {
        table: table_ref(table),
        from: from.to_string(),
        to: to.to_string(),
    }
}

/// `.rename table Old to New`: Kusto's one atomic compare-and-swap. It fails when `New` exists
/// (and when `Old` does not), so of several processes renaming onto the same name exactly one
/// wins: the live-system apply lease ([`crate::kusto::lease`]) is built on it.
pub fn rename_table(from: &str, to: &str) -> Command {
    Command::RenameTable {
        from: from.to_string(),
        to: to.to_string(),
    }
}

/// `.alter table T docstring "..."`: sets the table docstring (where the ownership marker
/// can live).
pub fn alter_table_docstring(table: &str, text: &str) -> Command {
    Command::AlterDocString {
        table: table_ref(table),
        docstring: text.to_string(),
    }
}

/// `.alter table T folder "..."`: sets the table folder (where the ownership marker can
/// live).
pub fn alter_table_folder(table: &str, text: &str) -> Command {
    Command::AlterFolder {
        table: table_ref(table),
        folder: text.to_string(),
    }
}

/// `.create-or-alter table T ingestion K mapping "name" "<json>"`: creates or replaces a
/// mapping in one idempotent command (no drop-then-create window in which ingestion fails).
pub fn create_or_alter_mapping(
    table: &str,
    kind: MappingKind,
    name: &str,
    mapping_json: &Value,
) -> Command {
    Command::SetMapping {
        verb: MappingVerb::CreateOrAlter,
        entity: EntityRef::Table(table_ref(table)),
        kind,
        name: name.to_string(),
        json: mapping_json.to_string(),
    }
}

/// `.drop table T ingestion K mapping "name"`: removes a mapping; ingestion that still names
/// it fails, so plans order it after the routes that use it are gone.
pub fn drop_mapping(table: &str, kind: MappingKind, name: &str) -> Command {
    Command::DropMapping {
        entity: EntityRef::Table(table_ref(table)),
        kind,
        name: name.to_string(),
    }
}

/// `.alter table|database X policy P "<json>"` with the policy JSON as given: the form the
/// sandbox's schema script writes a stored policy in (every field it holds).
pub fn alter_policy(scope: PolicyScope<'_>, kind: PolicyKind, policy_json: &Value) -> Command {
    alter(
        scope,
        kind,
        false,
        PolicyValue::Json(policy_json.to_string()),
    )
}

/// [`alter_policy`] with the policy already written as compact JSON text (as the sandbox stores
/// it), so printing a schema script does not parse each policy back into a tree to print it.
pub fn alter_policy_text(scope: PolicyScope<'_>, kind: PolicyKind, policy_json: String) -> Command {
    alter(scope, kind, false, PolicyValue::Json(policy_json))
}

/// `.alter table|database X policy ingestionbatching "<json>"`: sets the whole policy. All
/// three fields are always written, because `.alter` resets omitted fields to defaults.
pub fn alter_batching_policy(scope: PolicyScope<'_>, policy: &BatchingPolicy) -> Command {
    alter_policy(scope, PolicyKind::IngestionBatching, &policy.to_json())
}

/// `.delete table|database X policy ingestionbatching`: back to the inherited policy
/// (the database's for a table, the defaults for a database).
pub fn delete_batching_policy(scope: PolicyScope<'_>) -> Command {
    delete(scope, PolicyKind::IngestionBatching)
}

/// `.alter table|database X policy streamingingestion "{"IsEnabled":true}"`: turns streaming
/// ingestion on or off for the entity.
pub fn alter_streaming_policy(scope: PolicyScope<'_>, enabled: bool) -> Command {
    alter_policy(
        scope,
        PolicyKind::StreamingIngestion,
        &serde_json::json!({ "IsEnabled": enabled }),
    )
}

/// `.delete table|database X policy streamingingestion`: removes the streaming policy.
pub fn delete_streaming_policy(scope: PolicyScope<'_>) -> Command {
    delete(scope, PolicyKind::StreamingIngestion)
}

/// `.alter table|database X policy retention "<json>"`: sets the whole retention policy, both
/// fields written (`.alter` resets omitted ones to the defaults).
pub fn alter_retention_policy(scope: PolicyScope<'_>, policy: &RetentionPolicy) -> Command {
    alter_policy(scope, PolicyKind::Retention, &policy.to_json())
}

/// `.alter-merge table|database X policy retention softdelete = 365d recoverability =
/// enabled`: the form the service's schema script writes a stored retention policy in.
pub fn alter_merge_retention_properties(
    scope: PolicyScope<'_>,
    policy: &RetentionPolicy,
) -> String {
    alter(
        scope,
        PolicyKind::Retention,
        true,
        PolicyValue::Retention {
            soft_delete: policy.soft_delete,
            recoverable: Some(policy.recoverable),
        },
    )
    .to_string()
}

/// `.delete table|database X policy retention`: back to the inherited retention (the
/// database's for a table, unlimited for a database).
pub fn delete_retention_policy(scope: PolicyScope<'_>) -> String {
    delete(scope, PolicyKind::Retention).to_string()
}

/// `.alter table|database X policy caching hot = 7d[, hot_window = datetime(A) ..
/// datetime(B)]...`: the documented syntax (the policy takes no JSON form).
pub fn alter_caching_policy(scope: PolicyScope<'_>, policy: &CachingPolicy) -> Command {
    alter(
        scope,
        PolicyKind::Caching,
        false,
        PolicyValue::Caching {
            data: policy.hot,
            index: policy.hot,
            windows: policy
                .hot_windows
                .iter()
                .map(|w| (w.from.clone(), w.to.clone()))
                .collect(),
        },
    )
}

/// `.delete table|database X policy caching`: back to the inherited caching policy.
pub fn delete_caching_policy(scope: PolicyScope<'_>) -> Command {
    delete(scope, PolicyKind::Caching)
}

/// `.alter table T policy update "<json array>"`: replaces the table's whole update policy
/// with these entries (`.alter-merge` would append to the live ones).
pub fn alter_update_policy(table: &str, entries: &[UpdatePolicy]) -> Command {
    alter_policy(
        PolicyScope::Table(table),
        PolicyKind::Update,
        &update_policies_json(entries),
    )
}

/// `.delete table T policy update`: removes the table's update policy.
pub fn delete_update_policy(table: &str) -> Command {
    delete(PolicyScope::Table(table), PolicyKind::Update)
}

/// `let F = (a:int) { body };`: a stored function as a query-local one, so that a query
/// prefixed with it types against this body rather than the stored one (how a plan checks an
/// update policy against functions it creates or changes in the same apply).
pub fn let_function<N: AsRef<str>>(
    name: &str,
    parameters: &[(N, ColumnType)],
    body: &str,
) -> String {
    let parameters: Vec<String> = parameters
        .iter()
        .map(|(n, ty)| format!("{}:{}", quote_name(n.as_ref()), ty.as_kql()))
        .collect();
    format!(
        "let {} = ({}) {{{body}}};",
        quote_name(name),
        parameters.join(", ")
    )
}

/// `.add database DB role ("fqn", ...) ["notes"]` (or `table T role`): grants a role. Kusto
/// needs at least one principal; the notes show up in `.show ... principals`.
pub fn add_principals(
    scope: RoleScope<'_>,
    principals: &[PrincipalRef],
    notes: Option<&str>,
) -> Command {
    let fqns: Vec<String> = principals.iter().map(PrincipalRef::fqn).collect();
    add_principal_fqns(scope, &fqns, notes)
}

/// [`add_principals`] for FQNs kept as text: the sandbox's schema script writes the FQNs it
/// stores, including kinds kustoplan does not model (`msauser=`).
pub fn add_principal_fqns<F: AsRef<str>>(
    scope: RoleScope<'_>,
    fqns: &[F],
    notes: Option<&str>,
) -> Command {
    Command::Principals {
        action: PrincipalAction::Add,
        scope: scope.ast(),
        principals: fqns.iter().map(|f| f.as_ref().to_string()).collect(),
        skip_results: false,
        notes: notes.map(str::to_string),
    }
}

/// `.drop database DB role ("fqn", ...)` (or `table T role`): revokes a role. The database
/// name is always written: without it Microsoft's parser reads `.drop database admins (...)`
/// as a different command (a detach of a database named `admins`).
pub fn drop_principals(scope: RoleScope<'_>, principals: &[PrincipalRef]) -> Command {
    Command::Principals {
        action: PrincipalAction::Drop,
        scope: scope.ast(),
        principals: principals.iter().map(PrincipalRef::fqn).collect(),
        skip_results: false,
        notes: None,
    }
}

/// `.execute database script with (ContinueOnErrors=...) <|` followed by one command per line:
/// runs several commands in one round trip, in order. Not transactional: the result has one
/// row per command telling which ran. Kusto rejects an empty script, so callers send nothing
/// when there is nothing to do.
pub fn execute_script(commands: &[String], continue_on_errors: bool) -> String {
    let mut out = script_header(continue_on_errors, false);
    for command in commands {
        out.push('\n');
        out.push_str(command);
    }
    out
}

/// `.create-or-alter function [with (folder = "...", docstring = "...", skipvalidation =
/// "true")] F(a:int, ...) {` then the body on its own lines, then `}`: creates the function
/// or replaces its definition in one idempotent command, the form `.show database DB schema
/// as csl script` writes functions in. Properties are written when non-empty (the
/// docstring carries the ownership marker); `skipvalidation` only when asked for, since the
/// service's default is to check the body. The body must be one brace-balanced block
/// ([`crate::model::function::check_body`]; manifest validation enforces it).
pub fn create_or_alter_function<N: AsRef<str>>(
    name: &str,
    parameters: &[(N, ColumnType)],
    body: &str,
    folder: &str,
    docstring: &str,
    skip_validation: bool,
) -> Command {
    let mut properties = table_properties(folder, docstring);
    if skip_validation {
        properties.push(Property::text("skipvalidation", "true"));
    }
    Command::CreateOrAlterFunction {
        name: name.to_string(),
        parameters: column_decls(parameters),
        body: block(body),
        properties,
    }
}

/// `.drop function F ifexists`: removes a stored function; queries, policies and other
/// functions that call it fail from then on. `ifexists` makes a re-run after a partial apply
/// succeed.
pub fn drop_function(name: &str) -> Command {
    Command::DropFunction {
        name: name.to_string(),
        if_exists: true,
    }
}

/// The `with (...)` properties of a materialized view command: `backfill` (creation only),
/// `lookback`, `autoUpdateSchema`, then `folder` and `docString` where `metadata` (the
/// service takes those at creation; later they have their own commands).
fn view_properties(view: &MaterializedView, backfill: bool, metadata: bool) -> Vec<Property> {
    let mut properties = Vec::new();
    if backfill {
        properties.push(Property::bare("backfill", "true"));
    }
    if let Some(lookback) = view.lookback {
        properties.push(Property::bare("lookback", &timespan_literal(lookback)));
    }
    if view.auto_update_schema == Some(true) {
        properties.push(Property::bare("autoUpdateSchema", "true"));
    }
    if metadata {
        let docstring = view.stored_docstring();
        for (key, value) in [("folder", view.folder.as_str()), ("docString", &docstring)] {
            if !value.is_empty() {
                properties.push(Property::text(key, value));
            }
        }
    }
    properties
}

/// Creates a materialized view. With `backfill` it is `.create async ifnotexists
/// materialized-view with (backfill=true, ...)`: the service answers at once with an
/// operation id (`.show operations <id>` follows it) and fills the view from the source's
/// existing records in the background. Without, `.create ifnotexists materialized-view`,
/// which materializes only records ingested from then on. `ifnotexists` makes a re-run after
/// a partial apply succeed.
pub fn create_materialized_view(view: &MaterializedView, source: ViewSource) -> Command {
    Command::CreateMaterializedView {
        is_async: view.backfill,
        if_not_exists: true,
        or_alter: false,
        name: view.name.clone(),
        source: view.source.clone(),
        source_kind: source,
        query: block(&view.query),
        properties: view_properties(view, view.backfill, true),
    }
}

/// `.alter materialized-view [with (lookback=..., autoUpdateSchema=...)] V on table T { q }`:
/// changes the query (keeping the source and group-by keys) or those properties in place,
/// keeping the records already materialized.
pub fn alter_materialized_view(view: &MaterializedView, source: ViewSource) -> Command {
    Command::AlterMaterializedView {
        name: view.name.clone(),
        source: view.source.clone(),
        source_kind: source,
        query: block(&view.query),
        properties: view_properties(view, false, false),
    }
}

/// `.alter materialized-view V docstring "text"`: sets the docstring (with the ownership
/// marker) without touching the query.
pub fn alter_materialized_view_docstring(name: &str, text: &str) -> Command {
    Command::AlterMaterializedViewMetadata {
        name: name.to_string(),
        field: ViewMetadata::DocString,
        value: text.to_string(),
    }
}

/// `.alter materialized-view V folder "text"`: sets the folder without touching the query.
pub fn alter_materialized_view_folder(name: &str, text: &str) -> Command {
    Command::AlterMaterializedViewMetadata {
        name: name.to_string(),
        field: ViewMetadata::Folder,
        value: text.to_string(),
    }
}

/// `.drop materialized-view V`: removes a view and all its materialized records. Without
/// `ifexists`: the docs list it, but Microsoft's parser (Kusto.Language 12.4.1) does not
/// accept it here; plans only drop views that observe found, and a re-plan after a partial
/// apply no longer lists a view that is gone.
pub fn drop_materialized_view(name: &str) -> Command {
    Command::DropMaterializedView {
        name: name.to_string(),
        if_exists: false,
    }
}

/// `.rename materialized-view Old to New`: renames a view, keeping its records.
pub fn rename_materialized_view(from: &str, to: &str) -> Command {
    Command::RenameMaterializedView {
        from: from.to_string(),
        to: to.to_string(),
    }
}

/// `.show materialized-views`: every view of the request's database with its state (Name,
/// SourceTable, Query, ..., Lookback). Observe reads views from
/// [`show_database_schema_json`] instead, in the same round trip as the tables.
pub fn show_materialized_views() -> String {
    Command::ShowMaterializedViews.to_string()
}

/// `.show operations <id>`: the state of an async operation, such as the backfill of a view
/// created with [`create_materialized_view`].
pub fn show_operation(id: &str) -> String {
    Command::ShowOperation { id: id.to_string() }.to_string()
}

/// `T | where Col == literal`: the rows whose `column` equals `literal` (a Kusto literal as
/// written, e.g. `'x'`, `-12`, `guid(...)`); `verify` finds its canary rows this way.
pub fn rows_where_equal(table: &str, column: &str, literal: &str) -> String {
    format!(
        "{} | where {} == {literal}",
        quote_name(table),
        quote_name(column)
    )
}

/// `.delete table T records <| T | where Col == literal` (soft delete): removes the rows the
/// predicate selects. `verify` removes a route's canary this way, since the Kusto sink cannot
/// give one record's rows a `drop-by:` tag.
pub fn delete_records_where_equal(table: &str, column: &str, literal: &str) -> String {
    Command::DeleteRecords {
        table: table_ref(table),
        what_if: false,
        predicate: rows_where_equal(table, column, literal),
    }
    .to_string()
}

/// `.drop extents <| .show table T extents where tags has 'TAG'`: drops the extents ingested
/// with the tag (management-drop-extents.md); `verify` removes a queued canary by its
/// `drop-by:` tag this way.
pub fn drop_extents_tagged(table: &str, tag: &str) -> String {
    Command::DropExtents {
        table: table_ref(table),
        selection: ExtentSelection::Tags(vec![TagFilter {
            op: TagOp::Has,
            tag: tag.to_string(),
        }]),
        what_if: false,
    }
    .to_string()
}

/// `.show functions`: every stored function of the request's database (Name, Parameters,
/// Body, Folder, DocString). Observe reads functions from [`show_database_schema_json`]
/// instead, which gives typed parameters in the same round trip as the tables.
pub fn show_functions() -> String {
    Command::ShowFunctions.to_string()
}

/// `.show function F`: one stored function, in the columns of [`show_functions`].
pub fn show_function(name: &str) -> String {
    Command::ShowFunction {
        name: name.to_string(),
    }
    .to_string()
}

/// `.show databases`: the databases the caller can see (import's default selection).
pub fn show_databases() -> String {
    Command::ShowDatabases.to_string()
}

/// `.show database DB schema as json`: every table, column, docstring and folder, and every
/// stored function, of a database in one round trip (bulk observe).
pub fn show_database_schema_json(database: &str) -> String {
    Command::ShowDatabaseSchemaJson {
        database: database.to_string(),
    }
    .to_string()
}

/// `.show database DB schema as csl script with (IncludeEncodingPolicies = false,
/// IncludeIngestionMappings = false)`: one row per command that recreates the database. Bulk
/// observe reads the batching and streaming policies of the database and of every table, and
/// every table's principals, from it in one round trip (Kusto has no bulk `.show` for
/// streaming policies or table principals). Encoding policies and mappings are left out: observe
/// does not use them (mappings come structured from [`show_database_mappings`]).
pub fn show_database_schema_script(database: &str) -> String {
    Command::ShowDatabaseSchemaScript {
        database: database.to_string(),
        options: SchemaScriptOptions {
            include_encoding_policies: false,
            include_ingestion_mappings: false,
            ..SchemaScriptOptions::default()
        },
    }
    .to_string()
}

/// `.show database DB ingestion mappings`: the database's mappings and those of all its
/// tables in one round trip (bulk observe).
pub fn show_database_mappings(database: &str) -> String {
    Command::ShowMappings {
        entity: EntityRef::Database(database.to_string()),
        kind: None,
        name: None,
    }
    .to_string()
}

/// `.show table T schema as json`: one table's schema, folder and docstring in one row (the
/// apply lease reads its holder record from the docstring).
pub fn show_table_schema_json(table: &str) -> String {
    Command::ShowTableSchemaJson {
        table: table_ref(table),
    }
    .to_string()
}

/// `.show table T ingestion mappings`: one table's mappings (verification after apply).
pub fn show_table_mappings(table: &str) -> String {
    Command::ShowMappings {
        entity: EntityRef::Table(table_ref(table)),
        kind: None,
        name: None,
    }
    .to_string()
}

/// `.show table * policy ingestionbatching`: the batching policy of every table of the
/// request's database in one round trip (ad-hoc checks; observe reads policies from
/// [`show_database_schema_script`], which also covers streaming policies).
pub fn show_tables_batching_policy() -> String {
    Command::ShowPolicy {
        target: PolicyShowTarget::AllTables,
        policy: PolicyKind::IngestionBatching,
    }
    .to_string()
}

/// `.show table|database X policy ingestionbatching`: one entity's batching policy.
pub fn show_batching_policy(scope: PolicyScope<'_>) -> String {
    show_policy(scope, PolicyKind::IngestionBatching)
}

/// `.show table|database X policy streamingingestion`: one entity's streaming policy.
/// (Microsoft's grammar has no `.show table *` form for this policy.)
pub fn show_streaming_policy(scope: PolicyScope<'_>) -> String {
    show_policy(scope, PolicyKind::StreamingIngestion)
}

/// `.show database DB principals`: every role assignment of a database in one round trip
/// (bulk observe).
pub fn show_database_principals(database: &str) -> String {
    Command::ShowDatabasePrincipals {
        database: database.to_string(),
    }
    .to_string()
}

/// `.show table T principals`: the role assignments of one table (ad-hoc checks; observe reads
/// every table's from [`show_database_schema_script`] instead of one request per table).
pub fn show_table_principals(table: &str) -> String {
    Command::ShowTablePrincipals {
        table: table_ref(table),
    }
    .to_string()
}

#[cfg(test)]
mod tests;
