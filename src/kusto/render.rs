//! Every control command kustoplan sends to Kusto is built here, and only here.
//!
//! Plans show these strings to reviewers and apply executes them verbatim, so they must be
//! exact, deterministic and safe whatever names and texts the manifests hold. All functions
//! are pure. Conventions:
//! - Names go through [`quote_name`]: bare when a plain identifier, else `['...']`.
//! - Literals go through [`quote_string`]: always `"..."` with backslash escapes.
//! - JSON (mappings, policies) is compact, single-line JSON inside one string literal.
//! - Every command is a single line, so any list of them can go into
//!   [`execute_script`], which splits commands at line starts. The one exception is a
//!   function body, which keeps its lines (a `//` comment ends at its line's end, so a body
//!   cannot be joined into one line); it sits inside `{ ... }`, which both the service and the
//!   sandbox read as one block, so no line of it starts a command.
//! - Table commands address tables of the request's database (the `db` of the request); the
//!   database is named only where the command needs it.
//!
//! Each command is checked against our own parser and the sandbox (unit tests) and against
//! Microsoft's Kusto parser (`tests/render_conformance.rs`).

mod quote;

use serde_json::Value;

use crate::kusto::command::{DatabaseRole, PolicyKind, TableRole};
use crate::model::{
    BatchingPolicy, CachingPolicy, ColumnType, MappingKind, MaterializedView, PrincipalRef,
    RetentionPolicy, Timespan, UpdatePolicy, update_policies_json,
};

pub use quote::{name as quote_name, string as quote_string};

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
    fn target(self) -> String {
        match self {
            PolicyScope::Table(t) => format!("table {}", quote_name(t)),
            PolicyScope::Database(d) => format!("database {}", quote_name(d)),
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
    fn target(self) -> String {
        match self {
            RoleScope::Database(d, role) => {
                format!("database {} {}", quote_name(d), role.keyword())
            }
            RoleScope::Table(t, role) => format!("table {} {}", quote_name(t), role.keyword()),
        }
    }
}

fn columns<N: AsRef<str>>(columns: &[(N, ColumnType)]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|(n, ty)| format!("{}:{}", quote_name(n.as_ref()), ty.as_kql()))
        .collect();
    format!("({})", list.join(", "))
}

fn principal_list<F: AsRef<str>>(fqns: &[F]) -> String {
    let list: Vec<String> = fqns.iter().map(|f| quote_string(f.as_ref())).collect();
    format!("({})", list.join(", "))
}

/// Compact, single-line JSON inside one string literal. `serde_json` escapes control
/// characters inside JSON strings, so the text never holds a raw line break.
fn json_literal(value: &Value) -> String {
    quote_string(&value.to_string())
}

/// `.create table T (a:int, ...)`: creates a missing table. Kusto treats it as a no-op on an
/// existing table (even with other columns), so plans use it only for tables observed
/// missing; [`create_merge_table`] is the idempotent form.
pub fn create_table<N: AsRef<str>>(table: &str, cols: &[(N, ColumnType)]) -> String {
    format!(".create table {} {}", quote_name(table), columns(cols))
}

/// `.create table T (...) with (folder = "...", docstring = "...")`, each property only when
/// non-empty: the docstring (with the ownership marker) is part of the create, so a script cut
/// right after it still leaves a table this stack owns and may prune.
pub fn create_table_with<N: AsRef<str>>(
    table: &str,
    cols: &[(N, ColumnType)],
    folder: &str,
    docstring: &str,
) -> String {
    create_table(table, cols) + &table_properties(folder, docstring)
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
    format!(
        ".create-merge table {} {}{}",
        quote_name(table),
        columns(cols),
        table_properties(folder, docstring)
    )
}

/// ` with (folder = "...", docstring = "...")` with the non-empty ones, or nothing.
fn table_properties(folder: &str, docstring: &str) -> String {
    let properties: Vec<String> = [("folder", folder), ("docstring", docstring)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key} = {}", quote_string(value)))
        .collect();
    if properties.is_empty() {
        String::new()
    } else {
        format!(" with ({})", properties.join(", "))
    }
}

/// `.alter-merge table T (...)`: adds columns to an existing table (fails if it is missing),
/// keeping existing columns and data. kustoplan never renders `.alter table T (...)`, which
/// would drop every column not listed.
pub fn alter_merge_table<N: AsRef<str>>(table: &str, cols: &[(N, ColumnType)]) -> String {
    format!(".alter-merge table {} {}", quote_name(table), columns(cols))
}

/// `.alter column T.C type=X`: retypes a column. Kusto nulls the existing data of the column
/// (data loss), so plans classify it `data-loss`.
pub fn alter_column_type(table: &str, column: &str, ty: ColumnType) -> String {
    format!(
        ".alter column {}.{} type={}",
        quote_name(table),
        quote_name(column),
        ty.as_kql()
    )
}

/// `.drop column T.C`: removes a column and its data. No `ifexists`: Microsoft's parser does
/// not accept it here, and the plan only drops columns it observed.
pub fn drop_column(table: &str, column: &str) -> String {
    format!(".drop column {}.{}", quote_name(table), quote_name(column))
}

/// `.drop table T ifexists`: removes a table and its data; `ifexists` makes a re-run after a
/// partial apply succeed instead of failing on the table already gone.
pub fn drop_table(table: &str) -> String {
    format!(".drop table {} ifexists", quote_name(table))
}

/// `.rename column T.Old to New`: renames a column in place, keeping its type and data (the
/// plan's way to apply a column's `renamed_from`). It fails when `Old` is missing or `New`
/// exists.
pub fn rename_column(table: &str, from: &str, to: &str) -> String {
    format!(
        ".rename column {}.{} to {}",
        quote_name(table),
        quote_name(from),
        quote_name(to)
    )
}

/// `.rename table Old to New`: Kusto's one atomic compare-and-swap. It fails when `New` exists
/// (and when `Old` does not), so of several processes renaming onto the same name exactly one
/// wins: the live-system apply lease ([`crate::kusto::lease`]) is built on it.
pub fn rename_table(from: &str, to: &str) -> String {
    format!(".rename table {} to {}", quote_name(from), quote_name(to))
}

/// `.alter table T docstring "..."`: sets the table docstring (where the ownership marker
/// can live).
pub fn alter_table_docstring(table: &str, text: &str) -> String {
    format!(
        ".alter table {} docstring {}",
        quote_name(table),
        quote_string(text)
    )
}

/// `.alter table T folder "..."`: sets the table folder (where the ownership marker can
/// live).
pub fn alter_table_folder(table: &str, text: &str) -> String {
    format!(
        ".alter table {} folder {}",
        quote_name(table),
        quote_string(text)
    )
}

/// `.create-or-alter table T ingestion K mapping "name" "<json>"`: creates or replaces a
/// mapping in one idempotent command (no drop-then-create window in which ingestion fails).
pub fn create_or_alter_mapping(
    table: &str,
    kind: MappingKind,
    name: &str,
    mapping_json: &Value,
) -> String {
    format!(
        ".create-or-alter table {} ingestion {} mapping {} {}",
        quote_name(table),
        kind.as_kql(),
        quote_string(name),
        json_literal(mapping_json)
    )
}

/// `.drop table T ingestion K mapping "name"`: removes a mapping; ingestion that still names
/// it fails, so plans order it after the routes that use it are gone.
pub fn drop_mapping(table: &str, kind: MappingKind, name: &str) -> String {
    format!(
        ".drop table {} ingestion {} mapping {}",
        quote_name(table),
        kind.as_kql(),
        quote_string(name)
    )
}

/// `.alter table|database X policy P "<json>"` with the policy JSON as given: the form the
/// sandbox's schema script writes a stored policy in (every field it holds).
pub fn alter_policy(scope: PolicyScope<'_>, kind: PolicyKind, policy_json: &Value) -> String {
    format!(
        ".alter {} policy {} {}",
        scope.target(),
        kind.keyword(),
        json_literal(policy_json)
    )
}

/// `.alter table|database X policy ingestionbatching "<json>"`: sets the whole policy. All
/// three fields are always written, because `.alter` resets omitted fields to defaults.
pub fn alter_batching_policy(scope: PolicyScope<'_>, policy: &BatchingPolicy) -> String {
    alter_policy(scope, PolicyKind::IngestionBatching, &policy.to_json())
}

/// `.delete table|database X policy ingestionbatching`: back to the inherited policy
/// (the database's for a table, the defaults for a database).
pub fn delete_batching_policy(scope: PolicyScope<'_>) -> String {
    format!(".delete {} policy ingestionbatching", scope.target())
}

/// `.alter table|database X policy streamingingestion "{"IsEnabled":true}"`: turns streaming
/// ingestion on or off for the entity.
pub fn alter_streaming_policy(scope: PolicyScope<'_>, enabled: bool) -> String {
    alter_policy(
        scope,
        PolicyKind::StreamingIngestion,
        &serde_json::json!({ "IsEnabled": enabled }),
    )
}

/// `.delete table|database X policy streamingingestion`: removes the streaming policy.
pub fn delete_streaming_policy(scope: PolicyScope<'_>) -> String {
    format!(".delete {} policy streamingingestion", scope.target())
}

/// `.alter table|database X policy retention "<json>"`: sets the whole retention policy, both
/// fields written (`.alter` resets omitted ones to the defaults).
pub fn alter_retention_policy(scope: PolicyScope<'_>, policy: &RetentionPolicy) -> String {
    alter_policy(scope, PolicyKind::Retention, &policy.to_json())
}

/// `.alter-merge table|database X policy retention softdelete = 365d recoverability =
/// enabled`: the form the service's schema script writes a stored retention policy in.
pub fn alter_merge_retention_properties(
    scope: PolicyScope<'_>,
    policy: &RetentionPolicy,
) -> String {
    format!(
        ".alter-merge {} policy retention softdelete = {} recoverability = {}",
        scope.target(),
        timespan_literal(policy.soft_delete),
        if policy.recoverable {
            "enabled"
        } else {
            "disabled"
        }
    )
}

/// `.delete table|database X policy retention`: back to the inherited retention (the
/// database's for a table, unlimited for a database).
pub fn delete_retention_policy(scope: PolicyScope<'_>) -> String {
    format!(".delete {} policy retention", scope.target())
}

/// `.alter table|database X policy caching hot = 7d[, hot_window = datetime(A) ..
/// datetime(B)]...`: the documented syntax (the policy takes no JSON form).
pub fn alter_caching_policy(scope: PolicyScope<'_>, policy: &CachingPolicy) -> String {
    let mut out = format!(
        ".alter {} policy caching hot = {}",
        scope.target(),
        timespan_literal(policy.hot)
    );
    for w in &policy.hot_windows {
        out.push_str(&format!(
            ", hot_window = datetime({}) .. datetime({})",
            w.from, w.to
        ));
    }
    out
}

/// `.delete table|database X policy caching`: back to the inherited caching policy.
pub fn delete_caching_policy(scope: PolicyScope<'_>) -> String {
    format!(".delete {} policy caching", scope.target())
}

/// `.alter table T policy update "<json array>"`: replaces the table's whole update policy
/// with these entries (`.alter-merge` would append to the live ones).
pub fn alter_update_policy(table: &str, entries: &[UpdatePolicy]) -> String {
    alter_policy(
        PolicyScope::Table(table),
        PolicyKind::Update,
        &update_policies_json(entries),
    )
}

/// `.delete table T policy update`: removes the table's update policy.
pub fn delete_update_policy(table: &str) -> String {
    format!(
        ".delete {} policy update",
        PolicyScope::Table(table).target()
    )
}

/// `let F = (a:int) { body };`: a stored function as a query-local one, so that a query
/// prefixed with it types against this body rather than the stored one (how a plan checks an
/// update policy against functions it creates or changes in the same apply).
pub fn let_function<N: AsRef<str>>(
    name: &str,
    parameters: &[(N, ColumnType)],
    body: &str,
) -> String {
    format!(
        "let {} = {} {{{body}}};",
        quote_name(name),
        columns(parameters)
    )
}

/// A timespan as a KQL literal in its largest whole unit: `365d`, `12h`, `90m`, `10s`,
/// `250ms`.
pub fn timespan_literal(t: Timespan) -> String {
    let ms = t.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// `.add database DB role ("fqn", ...) ["notes"]` (or `table T role`): grants a role. Kusto
/// needs at least one principal; the notes show up in `.show ... principals`.
pub fn add_principals(
    scope: RoleScope<'_>,
    principals: &[PrincipalRef],
    notes: Option<&str>,
) -> String {
    let fqns: Vec<String> = principals.iter().map(PrincipalRef::fqn).collect();
    add_principal_fqns(scope, &fqns, notes)
}

/// [`add_principals`] for FQNs kept as text: the sandbox's schema script writes the FQNs it
/// stores, including kinds kustoplan does not model (`msauser=`).
pub fn add_principal_fqns<F: AsRef<str>>(
    scope: RoleScope<'_>,
    fqns: &[F],
    notes: Option<&str>,
) -> String {
    let mut out = format!(".add {} {}", scope.target(), principal_list(fqns));
    if let Some(notes) = notes {
        out.push(' ');
        out.push_str(&quote_string(notes));
    }
    out
}

/// `.drop database DB role ("fqn", ...)` (or `table T role`): revokes a role. The database
/// name is always written: without it Microsoft's parser reads `.drop database admins (...)`
/// as a different command (a detach of a database named `admins`).
pub fn drop_principals(scope: RoleScope<'_>, principals: &[PrincipalRef]) -> String {
    let fqns: Vec<String> = principals.iter().map(PrincipalRef::fqn).collect();
    format!(".drop {} {}", scope.target(), principal_list(&fqns))
}

/// `.execute database script with (ContinueOnErrors=...) <|` followed by one command per line:
/// runs several commands in one round trip, in order. Not transactional: the result has one
/// row per command telling which ran. Kusto rejects an empty script, so callers send nothing
/// when there is nothing to do.
pub fn execute_script(commands: &[String], continue_on_errors: bool) -> String {
    let mut out =
        format!(".execute database script with (ContinueOnErrors={continue_on_errors}) <|");
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
) -> String {
    let mut properties: Vec<String> = [("folder", folder), ("docstring", docstring)]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key} = {}", quote_string(value)))
        .collect();
    if skip_validation {
        properties.push("skipvalidation = \"true\"".to_string());
    }
    let with = if properties.is_empty() {
        String::new()
    } else {
        format!("with ({}) ", properties.join(", "))
    };
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let body = body.trim_end().trim_start_matches('\n');
    format!(
        ".create-or-alter function {with}{}{} {{\n{body}\n}}",
        quote_name(name),
        columns(parameters)
    )
}

/// `.drop function F ifexists`: removes a stored function; queries, policies and other
/// functions that call it fail from then on. `ifexists` makes a re-run after a partial apply
/// succeed.
pub fn drop_function(name: &str) -> String {
    format!(".drop function {} ifexists", quote_name(name))
}

/// The `with (...)` properties of a materialized view command: `backfill` (creation only),
/// `lookback`, `autoUpdateSchema`, then `folder` and `docString` where `metadata` (the
/// service takes those at creation; later they have their own commands).
fn view_properties(view: &MaterializedView, backfill: bool, metadata: bool) -> String {
    let mut properties = Vec::new();
    if backfill {
        properties.push("backfill=true".to_string());
    }
    if let Some(lookback) = view.lookback {
        properties.push(format!("lookback={}", timespan_literal(lookback)));
    }
    if view.auto_update_schema == Some(true) {
        properties.push("autoUpdateSchema=true".to_string());
    }
    if metadata {
        let docstring = view.stored_docstring();
        for (key, value) in [("folder", view.folder.as_str()), ("docString", &docstring)] {
            if !value.is_empty() {
                properties.push(format!("{key}={}", quote_string(value)));
            }
        }
    }
    if properties.is_empty() {
        String::new()
    } else {
        format!("with ({}) ", properties.join(", "))
    }
}

/// What a materialized view reads: a table, or (for a view over a deduplicating view)
/// another materialized view, which the commands name with `on materialized-view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewSource {
    /// `on table T`.
    Table,
    /// `on materialized-view V`.
    MaterializedView,
}

/// `V on table T\n{\nquery\n}` (or `on materialized-view`): the part every create and alter
/// of a view ends with (the query with line endings normalised, as function bodies are sent).
fn view_definition(view: &MaterializedView, source: ViewSource) -> String {
    let query = view.query.replace("\r\n", "\n").replace('\r', "\n");
    let query = query.trim_end().trim_start_matches('\n');
    let on = match source {
        ViewSource::Table => "table",
        ViewSource::MaterializedView => "materialized-view",
    };
    format!(
        "{} on {on} {}\n{{\n{query}\n}}",
        quote_name(&view.name),
        quote_name(&view.source)
    )
}

/// Creates a materialized view. With `backfill` it is `.create async ifnotexists
/// materialized-view with (backfill=true, ...)`: the service answers at once with an
/// operation id (`.show operations <id>` follows it) and fills the view from the source's
/// existing records in the background. Without, `.create ifnotexists materialized-view`,
/// which materializes only records ingested from then on. `ifnotexists` makes a re-run after
/// a partial apply succeed.
pub fn create_materialized_view(view: &MaterializedView, source: ViewSource) -> String {
    let verb = if view.backfill {
        ".create async ifnotexists"
    } else {
        ".create ifnotexists"
    };
    format!(
        "{verb} materialized-view {}{}",
        view_properties(view, view.backfill, true),
        view_definition(view, source)
    )
}

/// `.alter materialized-view [with (lookback=..., autoUpdateSchema=...)] V on table T { q }`:
/// changes the query (keeping the source and group-by keys) or those properties in place,
/// keeping the records already materialized.
pub fn alter_materialized_view(view: &MaterializedView, source: ViewSource) -> String {
    format!(
        ".alter materialized-view {}{}",
        view_properties(view, false, false),
        view_definition(view, source)
    )
}

/// `.alter materialized-view V docstring "text"`: sets the docstring (with the ownership
/// marker) without touching the query.
pub fn alter_materialized_view_docstring(name: &str, text: &str) -> String {
    format!(
        ".alter materialized-view {} docstring {}",
        quote_name(name),
        quote_string(text)
    )
}

/// `.alter materialized-view V folder "text"`: sets the folder without touching the query.
pub fn alter_materialized_view_folder(name: &str, text: &str) -> String {
    format!(
        ".alter materialized-view {} folder {}",
        quote_name(name),
        quote_string(text)
    )
}

/// `.drop materialized-view V`: removes a view and all its materialized records. Without
/// `ifexists`: the docs list it, but Microsoft's parser (Kusto.Language 12.4.1) does not
/// accept it here; plans only drop views that observe found, and a re-plan after a partial
/// apply no longer lists a view that is gone.
pub fn drop_materialized_view(name: &str) -> String {
    format!(".drop materialized-view {}", quote_name(name))
}

/// `.rename materialized-view Old to New`: renames a view, keeping its records.
pub fn rename_materialized_view(from: &str, to: &str) -> String {
    format!(
        ".rename materialized-view {} to {}",
        quote_name(from),
        quote_name(to)
    )
}

/// `.show materialized-views`: every view of the request's database with its state (Name,
/// SourceTable, Query, ..., Lookback). Observe reads views from
/// [`show_database_schema_json`] instead, in the same round trip as the tables.
pub fn show_materialized_views() -> String {
    ".show materialized-views".to_string()
}

/// `.show operations <id>`: the state of an async operation, such as the backfill of a view
/// created with [`create_materialized_view`].
pub fn show_operation(id: &str) -> String {
    format!(".show operations {id}")
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
    format!(
        ".delete table {} records <| {}",
        quote_name(table),
        rows_where_equal(table, column, literal)
    )
}

/// `.drop extents <| .show table T extents where tags has 'TAG'`: drops the extents ingested
/// with the tag (management-drop-extents.md); `verify` removes a queued canary by its
/// `drop-by:` tag this way.
pub fn drop_extents_tagged(table: &str, tag: &str) -> String {
    format!(
        ".drop extents <| .show table {} extents where tags has {}",
        quote_name(table),
        quote_string(tag)
    )
}

/// `.show functions`: every stored function of the request's database (Name, Parameters,
/// Body, Folder, DocString). Observe reads functions from [`show_database_schema_json`]
/// instead, which gives typed parameters in the same round trip as the tables.
pub fn show_functions() -> String {
    ".show functions".to_string()
}

/// `.show function F`: one stored function, in the columns of [`show_functions`].
pub fn show_function(name: &str) -> String {
    format!(".show function {}", quote_name(name))
}

/// `.show databases`: the databases the caller can see (import's default selection).
pub fn show_databases() -> String {
    ".show databases".to_string()
}

/// `.show database DB schema as json`: every table, column, docstring and folder, and every
/// stored function, of a database in one round trip (bulk observe).
pub fn show_database_schema_json(database: &str) -> String {
    format!(".show database {} schema as json", quote_name(database))
}

/// `.show database DB schema as csl script with (IncludeEncodingPolicies = false,
/// IncludeIngestionMappings = false)`: one row per command that recreates the database. Bulk
/// observe reads the batching and streaming policies of the database and of every table, and
/// every table's principals, from it in one round trip (Kusto has no bulk `.show` for
/// streaming policies or table principals). Encoding policies and mappings are left out: observe
/// does not use them (mappings come structured from [`show_database_mappings`]).
pub fn show_database_schema_script(database: &str) -> String {
    format!(
        ".show database {} schema as csl script with (IncludeEncodingPolicies = false, IncludeIngestionMappings = false)",
        quote_name(database)
    )
}

/// `.show database DB ingestion mappings`: the database's mappings and those of all its
/// tables in one round trip (bulk observe).
pub fn show_database_mappings(database: &str) -> String {
    format!(".show database {} ingestion mappings", quote_name(database))
}

/// `.show table T schema as json`: one table's schema, folder and docstring in one row (the
/// apply lease reads its holder record from the docstring).
pub fn show_table_schema_json(table: &str) -> String {
    format!(".show table {} schema as json", quote_name(table))
}

/// `.show table T ingestion mappings`: one table's mappings (verification after apply).
pub fn show_table_mappings(table: &str) -> String {
    format!(".show table {} ingestion mappings", quote_name(table))
}

/// `.show table * policy ingestionbatching`: the batching policy of every table of the
/// request's database in one round trip (ad-hoc checks; observe reads policies from
/// [`show_database_schema_script`], which also covers streaming policies).
pub fn show_tables_batching_policy() -> String {
    ".show table * policy ingestionbatching".to_string()
}

/// `.show table|database X policy ingestionbatching`: one entity's batching policy.
pub fn show_batching_policy(scope: PolicyScope<'_>) -> String {
    format!(".show {} policy ingestionbatching", scope.target())
}

/// `.show table|database X policy streamingingestion`: one entity's streaming policy.
/// (Microsoft's grammar has no `.show table *` form for this policy.)
pub fn show_streaming_policy(scope: PolicyScope<'_>) -> String {
    format!(".show {} policy streamingingestion", scope.target())
}

/// `.show database DB principals`: every role assignment of a database in one round trip
/// (bulk observe).
pub fn show_database_principals(database: &str) -> String {
    format!(".show database {} principals", quote_name(database))
}

/// `.show table T principals`: the role assignments of one table (ad-hoc checks; observe reads
/// every table's from [`show_database_schema_script`] instead of one request per table).
pub fn show_table_principals(table: &str) -> String {
    format!(".show table {} principals", quote_name(table))
}

#[cfg(test)]
mod tests;
