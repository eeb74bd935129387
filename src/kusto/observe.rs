//! Reading a database's live state from the results of a fixed set of bulk `.show` commands.
//!
//! Four reads per database, whatever the number of tables, none depending on another (the
//! provider sends them concurrently):
//! 1. `.show database DB schema as json`: tables, columns, docstrings, folders, and stored
//!    functions (parameters, body, docstring, folder);
//! 2. `.show database DB ingestion mappings`: the mappings of every table;
//! 3. `.show database DB principals`: database roles, with the FQNs the service resolved;
//! 4. `.show database DB schema as csl script with (...)`: one command per row that recreates
//!    the database. Its `.alter[-merge] ... policy ingestionbatching|streamingingestion|
//!    retention|caching|update` rows give the policies of the database and of every table
//!    (update policies included, so they cost no read of their own), and its `.add|.set table T role`
//!    rows every table's principals. Kusto has no other bulk read for these: `.show table *`
//!    exists only for batching policies, and table principals are shown one table at a time.
//!
//! Script rows of those kinds must parse with our command grammar ([`crate::kusto::command`]),
//! or observe fails naming the row (a policy silently misread would be planned over). Every other
//! row (functions, other policies, table creation, ...) is skipped without being parsed, so
//! commands kustoplan does not model cannot break observe. Parsing is pure; a transport (HTTP
//! client or in-process sandbox) runs the commands.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::command::{
    self, Command, PolicyKind, PolicyTarget, PolicyValue, PrincipalAction, RoleScope,
};
use super::render;
use super::rows::{Cell, RowSink, RowsError, V1Answer};
use super::v1::{V1Column, V1Response};
use crate::model::kusto::{
    Column, DatabaseState, Mapping, RoleKey, TableState, maybe_declared, split_docstring,
};
use crate::model::{
    BatchingPolicy, CachingPolicy, QuerySchema, RetentionPolicy, UpdatePolicy, query_calls,
};
use crate::model::{ColumnType, MappingKind, PrincipalKind, PrincipalRef, SmallMap};
use crate::model::{Function, MaterializedView, Parameter, ParameterType, Timespan};

mod lenient;
mod quick;

/// A result that does not have the shape the documented command returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected result of `{command}`: {reason}")]
pub struct ObserveError {
    /// The command whose result was unreadable.
    pub command: String,
    /// What was wrong.
    pub reason: String,
}

/// The bulk reads of one database, in the order [`database_state`] expects their results.
pub fn bulk_reads(db: &str) -> [String; 4] {
    BulkRead::ALL.map(|read| read.command(db))
}

/// Builds the database state from the results of [`bulk_reads`] (same order).
pub fn database_state(db: &str, bulk: &[V1Response]) -> Result<DatabaseState, ObserveError> {
    let mut parts = Vec::with_capacity(bulk.len());
    for (read, response) in BulkRead::ALL.into_iter().zip(bulk) {
        let part =
            read_part(db, read, &V1Answer::Parsed(response.clone())).map_err(|e| match e {
                RowsError::Sink(e) => e,
                other => err(&read.command(db), &other.to_string()),
            })?;
        parts.push(part);
    }
    join_parts(db, parts)
}

/// Which of the [`bulk_reads`] an answer belongs to (same order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkRead {
    /// `.show database DB schema as json`.
    Schema,
    /// `.show database DB ingestion mappings`.
    Mappings,
    /// `.show database DB principals`.
    Principals,
    /// `.show database DB schema as csl script`.
    Script,
}

impl BulkRead {
    /// The reads in the order of [`bulk_reads`].
    pub const ALL: [BulkRead; 4] = [
        BulkRead::Schema,
        BulkRead::Mappings,
        BulkRead::Principals,
        BulkRead::Script,
    ];

    /// Its place in [`bulk_reads`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its command for database `db`.
    pub fn command(self, db: &str) -> String {
        match self {
            BulkRead::Schema => render::show_database_schema_json(db),
            BulkRead::Mappings => render::show_database_mappings(db),
            BulkRead::Principals => render::show_database_principals(db),
            BulkRead::Script => render::show_database_schema_script(db),
        }
    }
}

/// What one bulk read tells about a database, read without the others so that each answer is
/// read as soon as it arrives, on its own thread (the schema and the script of 10,000 tables
/// take a tenth of a second each to read), then joined by [`join_parts`].
#[derive(Debug)]
pub struct Part {
    read: BulkRead,
    /// The schema's tables, functions and views; for the mappings and the script, a state
    /// holding only what they set at the database level.
    state: DatabaseState,
    /// For the mappings, the mappings of every table they name; for the script, what it sets
    /// on every table it names (the join drops the tables the schema does not list, as lease
    /// tables). Hashed: the script names a table in several rows, and finding 10,000 similar
    /// names in an ordered map was a fifth of reading the answers.
    tables: PartTables,
}

/// What the mappings or the script set on each table they name: only that, not a whole
/// [`TableState`] per table and per part (five times the size, about 13 MB at 10,000 tables).
#[derive(Debug)]
enum PartTables {
    /// The schema sets the tables themselves, in its state.
    None,
    /// Each table's mappings, by [`Mapping::key`].
    Mappings(HashMap<String, SmallMap<String, Mapping>>),
    /// Each table's policies and principals.
    Script(HashMap<String, ScriptedTable>),
}

/// What the schema script sets on one table.
#[derive(Debug, Default)]
struct ScriptedTable {
    batching: Option<BatchingPolicy>,
    streaming: Option<bool>,
    retention: Option<RetentionPolicy>,
    caching: Option<CachingPolicy>,
    update_policies: Option<Vec<UpdatePolicy>>,
    principals: BTreeMap<RoleKey, Option<String>>,
}

/// Reads the answer of one of the [`bulk_reads`], row by row as it arrived (see
/// [`crate::kusto::rows`]): no row is kept once it is read. A partial failure or a body that is
/// not a v1 answer is the answer's error, a row of the wrong shape an [`ObserveError`].
pub fn read_part(
    db: &str,
    read: BulkRead,
    answer: &V1Answer,
) -> Result<Part, RowsError<ObserveError>> {
    let command = &read.command(db);
    let mut state = DatabaseState {
        name: db.to_string(),
        ..Default::default()
    };
    let no_table = |e: RowsError<ObserveError>| match e {
        RowsError::NoTable => RowsError::Sink(err(command, "no result table")),
        other => other,
    };
    let tables = match read {
        BulkRead::Schema => {
            let mut sink = SchemaSink {
                command,
                column: 0,
                doc: None,
            };
            answer.read_primary(&mut sink).map_err(no_table)?;
            let doc = sink
                .doc
                .flatten()
                .ok_or_else(|| RowsError::Sink(err(command, "no DatabaseSchema cell")))?;
            read_schema(db, doc, command, &mut state).map_err(RowsError::Sink)?;
            PartTables::None
        }
        BulkRead::Mappings => {
            let mut sink = MappingsSink {
                command,
                columns: MappingColumns::default(),
                tables: HashMap::new(),
            };
            answer.read_primary(&mut sink).map_err(no_table)?;
            PartTables::Mappings(sink.tables)
        }
        BulkRead::Principals => {
            let mut sink = PrincipalsSink {
                command,
                columns: PrincipalColumns::default(),
                principals: BTreeMap::new(),
                directory: BTreeMap::new(),
            };
            answer.read_primary(&mut sink).map_err(no_table)?;
            state.principals = sink.principals;
            state.directory = sink.directory;
            PartTables::None
        }
        BulkRead::Script => {
            let mut sink = ScriptSink {
                command,
                column: 0,
                read: 0,
                tables: HashMap::new(),
                state: &mut state,
            };
            answer.read_primary(&mut sink).map_err(no_table)?;
            PartTables::Script(sink.tables)
        }
    };
    Ok(Part {
        read,
        state,
        tables,
    })
}

/// The database state from the four parts of [`read_part`], one of each read.
pub fn join_parts(db: &str, parts: Vec<Part>) -> Result<DatabaseState, ObserveError> {
    let mut by_read: [Option<Part>; 4] = Default::default();
    for part in parts {
        let index = part.read.index();
        by_read[index] = Some(part);
    }
    let [
        Some(Part { mut state, .. }),
        Some(Part {
            tables: PartTables::Mappings(mut mapped),
            ..
        }),
        Some(Part {
            state: principals, ..
        }),
        Some(Part {
            state: script,
            tables: PartTables::Script(mut scripted),
            ..
        }),
    ] = by_read
    else {
        return Err(err(&BulkRead::Schema.command(db), "a bulk read is missing"));
    };
    for (name, table) in state.tables.iter_mut() {
        if let Some(mappings) = mapped.remove(name) {
            table.mappings = mappings;
        }
        if let Some(from) = scripted.remove(name) {
            table.batching = from.batching;
            table.streaming = from.streaming;
            table.retention = from.retention;
            table.caching = from.caching;
            table.update_policies = from.update_policies;
            table.principals = from.principals;
        }
    }
    state.principals = principals.principals;
    state.directory = principals.directory;
    state.batching = script.batching;
    state.streaming = script.streaming;
    state.retention = script.retention;
    state.caching = script.caching;
    Ok(state)
}

/// The table `name` of a part being read: the mappings and the script are read without the
/// schema, so every table they name gets an entry (see [`Part`]).
fn part_table<'a, T: Default>(tables: &'a mut HashMap<String, T>, name: &str) -> &'a mut T {
    // Looked up before the entry API, which would copy the name for every row.
    if !tables.contains_key(name) {
        tables.insert(name.to_string(), T::default());
    }
    match tables.get_mut(name) {
        Some(table) => table,
        None => unreachable!("inserted above"),
    }
}

/// Tables whose principals must be named before the plan can match them: a role of the table
/// lists a user or group by an object id that the database's principals did not name, while the
/// manifests declare a user or group in that role by UPN or group name that matches no live
/// entry as written. The schema script gives table roles without display names, so a person
/// who holds only table roles is otherwise just an id; `.show table T principals` names it.
/// One extra read per such table, none when every declared principal already matches (or is
/// declared by object id), so observe stays at a constant number of reads in steady state.
pub fn tables_to_name(observed: &DatabaseState, desired: &DatabaseState) -> Vec<String> {
    observed
        .tables
        .values()
        .filter(|live| {
            desired.tables.get(&live.name).is_some_and(|declared| {
                live.principals.keys().any(|key| {
                    PrincipalRef::parse_fqn(&key.fqn).is_some_and(|p| {
                        maybe_declared(
                            &p,
                            &key.role,
                            &declared.principals,
                            &live.principals,
                            &observed.directory,
                        )
                    })
                })
            })
        })
        .map(|t| t.name.clone())
        .collect()
}

/// The declared entries of a table's update policy whose output schema a plan checks: the
/// ones not live as declared (the plan sets them), and the live ones whose query calls a
/// declared function the plan creates or changes (`changed`, from [`changed_function_names`]:
/// the service does not check a policy again when a function it calls changes).
pub fn update_policies_to_check<'a>(
    changed: &[&str],
    observed: &DatabaseState,
    want: &'a TableState,
) -> Vec<&'a UpdatePolicy> {
    let Some(entries) = want.update_policies.as_deref().filter(|e| !e.is_empty()) else {
        return Vec::new();
    };
    let live = observed
        .tables
        .get(&want.name)
        .and_then(|h| h.update_policies.as_deref())
        .unwrap_or(&[]);
    entries
        .iter()
        .filter(|entry| {
            !live.contains(entry) || changed.iter().any(|f| query_calls(&entry.query, f))
        })
        .collect()
}

/// The names of the declared functions the plan creates or replaces
/// ([`update_policies_to_check`] takes them). Listed once per database rather than once per
/// table with an update policy: comparing every function's body for each such table cost
/// tables × functions body comparisons.
pub fn changed_function_names<'a>(
    desired: &'a DatabaseState,
    observed: &'a DatabaseState,
) -> Vec<&'a str> {
    changed_functions(desired, observed)
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The declared functions that are not live as declared (parameters or body), which the
/// plan creates or replaces.
fn changed_functions<'a>(
    desired: &'a DatabaseState,
    observed: &'a DatabaseState,
) -> impl Iterator<Item = (&'a String, &'a Function)> {
    desired.functions.iter().filter(|(name, f)| {
        !observed
            .functions
            .get(*name)
            .is_some_and(|l| l.parameters == f.parameters && l.same_body(f))
    })
}

/// The query that asks the cluster for an update policy entry's output schema:
/// `<entry query> | getschema`, preceded by a `let` for every declared function that is not
/// live as declared (new or changed in the same plan), so the query types against the bodies
/// the apply creates. `None` when the source is not a live table (nothing to ask yet).
pub fn schema_probe(
    desired: &DatabaseState,
    observed: &DatabaseState,
    entry: &UpdatePolicy,
) -> Option<String> {
    if entry.source_is_wildcard || !observed.tables.contains_key(&entry.source) {
        return None;
    }
    let mut text = String::new();
    for (name, f) in changed_functions(desired, observed) {
        if let Some(parameters) = f.scalar_parameters() {
            text.push_str(&render::let_function(name, &parameters, &f.body));
            text.push('\n');
        }
    }
    text.push_str(&entry.query);
    text.push_str("\n| getschema");
    Some(text)
}

/// Every `getschema` probe the plan's update policy checks need (see [`schema_probe`]): one
/// per declared entry to check ([`update_policies_to_check`]) whose source is live, none in
/// steady state, so observe stays at its constant number of reads when nothing changes.
pub fn schema_probes(observed: &DatabaseState, desired: &DatabaseState) -> Vec<String> {
    let changed = changed_function_names(desired, observed);
    let probes: std::collections::BTreeSet<String> = desired
        .tables
        .values()
        .flat_map(|t| update_policies_to_check(&changed, observed, t))
        .filter_map(|entry| schema_probe(desired, observed, entry))
        .collect();
    probes.into_iter().collect()
}

/// Records the cluster's answer to a [`schema_probes`] query: the columns of a `getschema`
/// result (ColumnName, ColumnType), or why the cluster could not type the query.
pub fn add_query_schema(
    state: &mut DatabaseState,
    probe: &str,
    answer: Result<&V1Response, String>,
) -> Result<(), ObserveError> {
    let schema = match answer {
        Err(why) => QuerySchema::Unknown(why),
        Ok(result) => {
            let t = result
                .primary()
                .ok_or_else(|| err(probe, "no result table"))?;
            let (name_i, type_i) = (t.column_index("ColumnName"), t.column_index("ColumnType"));
            if name_i.is_none() || type_i.is_none() {
                return Err(err(probe, "no ColumnName or ColumnType column"));
            }
            let mut columns = Vec::new();
            for row in t.value_rows() {
                let row: Vec<Cell> = row.iter().map(Cell::of).collect();
                let type_text = text(&row, type_i);
                let ty = ColumnType::parse(type_text)
                    .ok_or_else(|| err(probe, &format!("unknown column type `{type_text}`")))?;
                columns.push(Column {
                    name: text(&row, name_i).to_string(),
                    ty,
                });
            }
            QuerySchema::Columns(columns)
        }
    };
    state.query_schemas.insert(probe.to_string(), schema);
    Ok(())
}

/// Adds the names that `.show table T principals` (for a table of [`tables_to_name`]) gives
/// to the database's directory.
pub fn add_table_names(
    state: &mut DatabaseState,
    table: &str,
    result: &V1Response,
) -> Result<(), ObserveError> {
    let command = render::show_table_principals(table);
    let t = result
        .primary()
        .ok_or_else(|| err(&command, "no result table"))?;
    let columns = PrincipalColumns::of(&t.columns);
    if columns.fqn.is_none() {
        return Err(err(&command, "no PrincipalFQN column"));
    }
    for row in t.value_rows() {
        let row: Vec<Cell> = row.iter().map(Cell::of).collect();
        if let Some((id, name)) = directory_entry(&row, columns) {
            state.directory.insert(id, name);
        }
    }
    Ok(())
}

fn err(command: &str, reason: &str) -> ObserveError {
    ObserveError {
        command: command.to_string(),
        reason: reason.to_string(),
    }
}

fn text<'a>(row: &'a [Cell<'_>], index: Option<usize>) -> &'a str {
    index
        .and_then(|i| row.get(i))
        .and_then(Cell::as_str)
        .unwrap_or("")
}

/// JSON that Kusto returns inside a string cell (or, from some SDK paths, already parsed).
fn json_cell(row: &[Cell<'_>], index: Option<usize>) -> Option<Value> {
    match index.and_then(|i| row.get(i))? {
        Cell::Text(s) if s.trim().is_empty() || s == "null" => None,
        Cell::Text(s) => serde_json::from_str(s).ok(),
        Cell::Null => None,
        other => Some(other.to_value()),
    }
}

/// Index of the column named `name`.
fn column_index(columns: &[V1Column], name: &str) -> Option<usize> {
    columns.iter().position(|c| c.name == name)
}

/// The parts of `.show database DB schema as json` observe reads, parsed straight from the
/// cell's text: a `serde_json::Value` tree of 10,000 tables (then copied to be iterated) was
/// most of observe's parsing time and a large share of its memory. Fields the service may
/// omit or send as null read as absent; functions and views (few) stay JSON values, read by
/// [`read_function`] and [`read_view`].
#[derive(Deserialize)]
struct SchemaDoc {
    #[serde(rename = "Databases")]
    databases: Option<BTreeMap<String, DatabaseSchema>>,
}

/// One database of [`SchemaDoc`].
#[derive(Deserialize)]
struct DatabaseSchema {
    #[serde(rename = "Tables", default)]
    tables: Option<BTreeMap<String, TableSchema>>,
    #[serde(rename = "Functions", default)]
    functions: Option<BTreeMap<String, lenient::Object<FunctionSchema>>>,
    #[serde(rename = "MaterializedViews", default)]
    materialized_views: Option<BTreeMap<String, lenient::Object<ViewSchema>>>,
}

/// One entry of the schema's `Functions`, every field lenient ([`lenient`]).
#[derive(Deserialize, Default)]
struct FunctionSchema {
    #[serde(
        rename = "InputParameters",
        default,
        deserialize_with = "lenient::list"
    )]
    parameters: Vec<ParameterSchema>,
    #[serde(rename = "Body", default, deserialize_with = "lenient::text")]
    body: Option<String>,
    #[serde(rename = "DocString", default, deserialize_with = "lenient::text")]
    docstring: Option<String>,
    #[serde(rename = "Folder", default, deserialize_with = "lenient::text")]
    folder: Option<String>,
}

/// One of [`FunctionSchema`]'s `InputParameters`: a scalar one has a `CslType`, a tabular one
/// `Columns` instead.
#[derive(Deserialize, Default)]
struct ParameterSchema {
    #[serde(rename = "Name", default, deserialize_with = "lenient::text")]
    name: Option<String>,
    #[serde(rename = "CslType", default, deserialize_with = "lenient::text")]
    csl_type: Option<String>,
    #[serde(
        rename = "CslDefaultValue",
        default,
        deserialize_with = "lenient::text"
    )]
    default: Option<String>,
    #[serde(rename = "Columns", default, deserialize_with = "lenient::list")]
    columns: Vec<ParameterColumn>,
}

/// A column of a tabular [`ParameterSchema`].
#[derive(Deserialize, Default)]
struct ParameterColumn {
    #[serde(rename = "Name", default, deserialize_with = "lenient::text")]
    name: Option<String>,
    #[serde(rename = "CslType", default, deserialize_with = "lenient::text")]
    csl_type: Option<String>,
}

/// One entry of the schema's `MaterializedViews`, every field lenient ([`lenient`]).
#[derive(Deserialize, Default)]
struct ViewSchema {
    #[serde(rename = "SourceTable", default, deserialize_with = "lenient::text")]
    source: Option<String>,
    #[serde(rename = "Query", default, deserialize_with = "lenient::text")]
    query: Option<String>,
    #[serde(rename = "DocString", default, deserialize_with = "lenient::text")]
    docstring: Option<String>,
    #[serde(rename = "Folder", default, deserialize_with = "lenient::text")]
    folder: Option<String>,
    #[serde(rename = "Lookback", default, deserialize_with = "lenient::text")]
    lookback: Option<String>,
    #[serde(
        rename = "AutoUpdateSchema",
        default,
        deserialize_with = "lenient::flag"
    )]
    auto_update_schema: Option<bool>,
}

/// One table of [`DatabaseSchema`].
#[derive(Deserialize)]
struct TableSchema {
    #[serde(rename = "OrderedColumns", default)]
    columns: Option<Vec<ColumnSchema>>,
    #[serde(rename = "DocString", default)]
    docstring: Option<String>,
    #[serde(rename = "Folder", default)]
    folder: Option<String>,
}

/// One column of [`TableSchema`]: `CslType` (`long`), else the .NET `Type` (`System.Int64`).
#[derive(Deserialize)]
struct ColumnSchema {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "CslType", default)]
    csl_type: Option<String>,
    #[serde(rename = "Type", default)]
    ty: Option<String>,
}

/// Reads the schema document of the first row: JSON text in a string cell (or, from some SDK
/// paths, already parsed); `None` when the cell is blank or null. Later rows are not read.
struct SchemaSink<'c> {
    command: &'c str,
    /// The `DatabaseSchema` column (the first when the answer does not name it).
    column: usize,
    /// The first row's document, once read.
    doc: Option<Option<SchemaDoc>>,
}

impl RowSink for SchemaSink<'_> {
    type Error = ObserveError;

    fn columns(&mut self, columns: &[V1Column]) -> Result<(), ObserveError> {
        self.column = column_index(columns, "DatabaseSchema").unwrap_or(0);
        Ok(())
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ObserveError> {
        if self.doc.is_some() {
            return Ok(());
        }
        let unreadable =
            |e: serde_json::Error| err(self.command, &format!("unreadable schema: {e}"));
        let doc = match cells.get(self.column) {
            None | Some(Cell::Null) => None,
            Some(Cell::Text(s)) if s.trim().is_empty() || s == "null" => None,
            Some(Cell::Text(s)) => Some(serde_json::from_str(s).map_err(unreadable)?),
            Some(Cell::Nested(value)) => {
                Some(SchemaDoc::deserialize(value.as_ref()).map_err(unreadable)?)
            }
            Some(other) => Some(SchemaDoc::deserialize(other.to_value()).map_err(unreadable)?),
        };
        self.doc = Some(doc);
        Ok(())
    }
}

fn read_schema(
    db: &str,
    doc: SchemaDoc,
    command: &str,
    state: &mut DatabaseState,
) -> Result<(), ObserveError> {
    let mut databases = doc
        .databases
        .ok_or_else(|| err(command, "no Databases object"))?;
    let key = if databases.contains_key(db) {
        Some(db.to_string())
    } else {
        databases
            .keys()
            .find(|k| k.eq_ignore_ascii_case(db))
            .cloned()
    };
    let schema = key
        .and_then(|k| databases.remove(&k))
        .ok_or_else(|| err(command, &format!("database `{db}` is not in the schema")))?;
    // kustoplan's own apply lease tables are not the stack's objects: dropped here, in the one
    // place every observation passes, so plan, prune, import and status never see them (their
    // mappings, policies and principals are skipped with them, having no table to attach to).
    for (name, table) in schema
        .tables
        .into_iter()
        .flatten()
        .filter(|(name, _)| !super::lease::is_lease_table(name))
    {
        let mut columns = Vec::new();
        for c in table.columns.into_iter().flatten() {
            let col_name = c.name.unwrap_or_default();
            let type_text = c.csl_type.or(c.ty).unwrap_or_default();
            let ty = ColumnType::parse(&type_text).ok_or_else(|| {
                err(
                    command,
                    &format!("column `{name}.{col_name}` has unknown type `{type_text}`"),
                )
            })?;
            columns.push(Column { name: col_name, ty });
        }
        let (docstring, owner) =
            TableState::split_docstring(table.docstring.as_deref().unwrap_or(""));
        state.tables.insert(
            name.clone(),
            TableState {
                name,
                columns,
                docstring,
                folder: table.folder.unwrap_or_default(),
                owner,
                ..Default::default()
            },
        );
    }
    for (name, lenient::Object(function)) in schema.functions.into_iter().flatten() {
        let function = read_function(&name, function);
        state.functions.insert(name, function);
    }
    for (name, lenient::Object(view)) in schema.materialized_views.into_iter().flatten() {
        let view = read_view(&name, view);
        state.materialized_views.insert(name, view);
    }
    Ok(())
}

/// One entry of the schema's `MaterializedViews`: `SourceTable`, `Query` (without braces),
/// `Folder`, `DocString` with the ownership marker, and, where the service lists them,
/// `AutoUpdateSchema` and `Lookback` (absent or null: not reported, so never compared).
fn read_view(name: &str, v: ViewSchema) -> MaterializedView {
    let (docstring, owner) = split_docstring(v.docstring.as_deref().unwrap_or(""));
    MaterializedView {
        name: name.to_string(),
        source: v.source.unwrap_or_default(),
        query: v.query.unwrap_or_default(),
        docstring,
        folder: v.folder.unwrap_or_default(),
        owner,
        lookback: v.lookback.as_deref().and_then(Timespan::parse),
        auto_update_schema: v.auto_update_schema,
        backfill: false,
        renamed_from: None,
    }
}

/// One entry of the schema's `Functions`: `InputParameters` (a scalar one has a `CslType`,
/// a tabular one `Columns` instead; either may have a `CslDefaultValue`), and the `Body` as
/// stored, braces included. Parameters kustoplan does not model (tabular ones, defaults,
/// types it does not know) are kept as CSL text: a function it does not manage must not
/// stop observe.
fn read_function(name: &str, f: FunctionSchema) -> Function {
    let mut parameters = Vec::new();
    for p in f.parameters {
        let csl = p.csl_type.as_deref();
        let default = p.default.as_deref().filter(|d| !d.is_empty());
        let ty = match (csl.and_then(ColumnType::parse), csl, default) {
            (Some(ty), _, None) => ParameterType::Scalar(ty),
            (_, Some(csl), Some(default)) => {
                ParameterType::Unmodelled(format!("{csl} = {default}"))
            }
            (_, Some(csl), None) => ParameterType::Unmodelled(csl.to_string()),
            (_, None, default) => {
                let columns: Vec<String> = p
                    .columns
                    .iter()
                    .map(|c| {
                        format!(
                            "{}:{}",
                            c.name.as_deref().unwrap_or_default(),
                            c.csl_type.as_deref().unwrap_or_default()
                        )
                    })
                    .collect();
                let table = if columns.is_empty() {
                    "(*)".to_string()
                } else {
                    format!("({})", columns.join(", "))
                };
                ParameterType::Unmodelled(match default {
                    Some(d) => format!("{table} = {d}"),
                    None => table,
                })
            }
        };
        parameters.push(Parameter {
            name: p.name.unwrap_or_default(),
            ty,
        });
    }
    let stored = f.body.as_deref().unwrap_or("").trim();
    let body = stored
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or(stored);
    let (docstring, owner) = split_docstring(f.docstring.as_deref().unwrap_or(""));
    Function {
        name: name.to_string(),
        parameters,
        body: body.to_string(),
        docstring,
        folder: f.folder.unwrap_or_default(),
        owner,
        skip_validation: false,
        renamed_from: None,
    }
}

/// The mapping columns of a `.show database DB ingestion mappings` answer.
#[derive(Clone, Copy, Default)]
struct MappingColumns {
    name: Option<usize>,
    kind: Option<usize>,
    mapping: Option<usize>,
    table: Option<usize>,
}

/// Mappings by table, from the rows of `.show database DB ingestion mappings`: a later row of
/// the same table and mapping replaces an earlier one, and the first bad row is the error.
struct MappingsSink<'c> {
    command: &'c str,
    columns: MappingColumns,
    tables: HashMap<String, SmallMap<String, Mapping>>,
}

impl RowSink for MappingsSink<'_> {
    type Error = ObserveError;

    fn columns(&mut self, columns: &[V1Column]) -> Result<(), ObserveError> {
        self.columns = MappingColumns {
            name: column_index(columns, "Name"),
            kind: column_index(columns, "Kind"),
            mapping: column_index(columns, "Mapping"),
            table: column_index(columns, "Table"),
        };
        Ok(())
    }

    fn row(&mut self, row: &[Cell<'_>]) -> Result<(), ObserveError> {
        let MappingColumns {
            name: name_i,
            kind: kind_i,
            mapping: map_i,
            table: table_i,
        } = self.columns;
        let command = self.command;
        let kind_text = text(row, kind_i);
        let kind = MappingKind::parse(kind_text)
            .ok_or_else(|| err(command, &format!("unknown mapping kind `{kind_text}`")))?;
        let name = text(row, name_i);
        let mapping = match quick_mapping(kind, name, row, map_i) {
            Some(mapping) => mapping,
            None => {
                let json = json_cell(row, map_i)
                    .ok_or_else(|| err(command, &format!("mapping `{name}` has no JSON")))?;
                Mapping::from_json(kind, name, &json)
                    .map_err(|r| err(command, &format!("mapping `{name}`: {r}")))?
            }
        };
        part_table(&mut self.tables, text(row, table_i)).insert(mapping.key(), mapping);
        Ok(())
    }
}

/// A mapping cell in the plain shape the service lists for every table, read straight from its
/// text ([`quick::mapping`]); `None` sends the cell the general way ([`json_cell`], then
/// [`Mapping::from_json`]), which also words every error.
fn quick_mapping(
    kind: MappingKind,
    name: &str,
    row: &[Cell<'_>],
    index: Option<usize>,
) -> Option<Mapping> {
    match index.and_then(|i| row.get(i))? {
        Cell::Text(text) => quick::mapping(kind, name, text),
        _ => None,
    }
}

/// A streaming policy row: `None` when the entity has no policy (`null`), else its
/// `IsEnabled` (a policy object without it enables nothing).
fn streaming_policy(policy: &Value) -> Option<bool> {
    (!policy.is_null()).then(|| {
        policy
            .get("IsEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

/// The columns of `.show database|table X principals` observe reads.
#[derive(Clone, Copy, Default)]
struct PrincipalColumns {
    role: Option<usize>,
    fqn: Option<usize>,
    notes: Option<usize>,
    display_name: Option<usize>,
}

impl PrincipalColumns {
    fn of(columns: &[V1Column]) -> PrincipalColumns {
        PrincipalColumns {
            role: column_index(columns, "Role"),
            fqn: column_index(columns, "PrincipalFQN"),
            notes: column_index(columns, "Notes"),
            display_name: column_index(columns, "PrincipalDisplayName"),
        }
    }
}

/// The database's roles from `.show database DB principals`, and the names its display names
/// give ([`directory_entry`]).
struct PrincipalsSink<'c> {
    command: &'c str,
    columns: PrincipalColumns,
    principals: BTreeMap<RoleKey, Option<String>>,
    directory: BTreeMap<String, String>,
}

impl RowSink for PrincipalsSink<'_> {
    type Error = ObserveError;

    fn columns(&mut self, columns: &[V1Column]) -> Result<(), ObserveError> {
        self.columns = PrincipalColumns::of(columns);
        if self.columns.role.is_none() || self.columns.fqn.is_none() {
            return Err(err(self.command, "no Role or PrincipalFQN column"));
        }
        Ok(())
    }

    fn row(&mut self, row: &[Cell<'_>]) -> Result<(), ObserveError> {
        let PrincipalColumns {
            role, fqn, notes, ..
        } = self.columns;
        if let Some((id, name)) = directory_entry(row, self.columns) {
            self.directory.insert(id, name);
        }
        let (Some(role), Some(principal)) = (
            RoleKey::role_keyword(text(row, role)),
            PrincipalRef::parse_fqn(text(row, fqn)),
        ) else {
            return Ok(());
        };
        let notes = Some(text(row, notes).to_string()).filter(|n| !n.is_empty());
        self.principals
            .insert(RoleKey::new(role, &principal), notes);
        Ok(())
    }
}

/// What the display name of a `.show database|table X principals` row tells about a user or
/// group listed by object id: the UPN in `Name (upn: x@y)`, or a group's name, with the id.
fn directory_entry(row: &[Cell<'_>], columns: PrincipalColumns) -> Option<(String, String)> {
    let p = PrincipalRef::parse_fqn(text(row, columns.fqn))?;
    let display = text(row, columns.display_name).trim();
    let name = match p.kind {
        PrincipalKind::User => display
            .rsplit_once("(upn:")
            .and_then(|(_, rest)| rest.trim().strip_suffix(')'))
            .map(str::trim),
        PrincipalKind::Group => Some(display),
        PrincipalKind::App => None,
    };
    name.filter(|n| !n.is_empty() && *n != p.id)
        .map(|name| (p.id, name.to_ascii_lowercase()))
}

/// Reads the policy and table-principal rows of the schema script (see the module docs):
/// the database's into `state`, each table's into `tables`.
struct ScriptSink<'c, 's> {
    command: &'c str,
    /// The `DatabaseSchemaScript` column.
    column: usize,
    /// Rows read so far, for errors.
    read: usize,
    tables: HashMap<String, ScriptedTable>,
    state: &'s mut DatabaseState,
}

impl RowSink for ScriptSink<'_, '_> {
    type Error = ObserveError;

    fn columns(&mut self, columns: &[V1Column]) -> Result<(), ObserveError> {
        self.column = column_index(columns, "DatabaseSchemaScript")
            .ok_or_else(|| err(self.command, "no DatabaseSchemaScript column"))?;
        Ok(())
    }

    fn row(&mut self, row: &[Cell<'_>]) -> Result<(), ObserveError> {
        self.read += 1;
        let text = text(row, Some(self.column));
        if !is_read(text) {
            return Ok(());
        }
        let bad = |why: &str| {
            err(
                self.command,
                &format!("row {} (`{}`): {why}", self.read, excerpt(text)),
            )
        };
        // Every table's policy rows have one plain shape: read without the full grammar.
        let parsed = match quick::policy_row(text) {
            Some(parsed) => parsed,
            None => command::parse(text).map_err(|e| bad(&e.to_string()))?,
        };
        match parsed {
            Command::AlterPolicy {
                target,
                policy,
                value,
                merge,
            } => {
                let value = match QuickPolicy::read(policy, &value) {
                    Some(quick) => RowPolicy::Quick(quick),
                    None => RowPolicy::Json(
                        value
                            .to_value()
                            .map_err(|e| bad(&format!("the policy is not JSON ({e})")))?,
                    ),
                };
                let malformed = || bad(&format!("malformed {} policy", policy.keyword()));
                match target {
                    PolicyTarget::Database(_) => {
                        let mut streaming = Some(self.state.streaming);
                        let mut slots = Slots {
                            batching: &mut self.state.batching,
                            streaming: &mut streaming,
                            retention: &mut self.state.retention,
                            caching: &mut self.state.caching,
                            update: None,
                        };
                        let setting = value.setting(policy, merge, &slots).ok_or_else(malformed)?;
                        setting.set(&mut slots);
                        self.state.streaming = streaming.unwrap_or(false);
                    }
                    PolicyTarget::Tables(targets) => {
                        for t in targets {
                            let table = part_table(&mut self.tables, &t.table);
                            let mut slots = Slots {
                                batching: &mut table.batching,
                                streaming: &mut table.streaming,
                                retention: &mut table.retention,
                                caching: &mut table.caching,
                                update: Some(&mut table.update_policies),
                            };
                            let setting =
                                value.setting(policy, merge, &slots).ok_or_else(malformed)?;
                            setting.set(&mut slots);
                        }
                    }
                }
            }
            Command::Principals {
                action,
                scope: RoleScope::Table(t, role),
                principals,
                notes,
                ..
            } => {
                change_roles(
                    &mut part_table(&mut self.tables, &t.table).principals,
                    role.keyword(),
                    action,
                    &principals,
                    notes,
                );
            }
            // Database roles come from `.show database DB principals`, with resolved FQNs.
            Command::Principals {
                scope: RoleScope::Database(..),
                ..
            } => {}
            other => {
                return Err(bad(&format!(
                    "expected a policy or principals command, read {}",
                    other.command_type()
                )));
            }
        }
        Ok(())
    }
}

/// Whether observe reads a script row: a batching, streaming, retention, caching or update
/// policy command (`.alter[-merge] table|tables|database ... policy ingestionbatching|
/// streamingingestion|retention|caching|update`) or a
/// principals command (`.add|.set database|table ...`), never a materialized view's. Decided from the words before the first
/// string literal, so that neither a skipped row's text nor a literal can make a row count.
///
/// The words are looked at one by one as they are split, never collected: most rows (table
/// creation, functions) are decided by their first word, and this runs on every row.
fn is_read(row: &str) -> bool {
    let mut words = row
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(str::split_whitespace)
        .take_while(|w| !starts_literal(w));
    match words.next() {
        Some(".add" | ".set") => matches!(words.next(), Some("database" | "table")),
        Some(".alter" | ".alter-merge") => {
            let mut words = words.peekable();
            // Policies of materialized views are not the stack's (views are read from the
            // schema JSON): their rows are skipped like any other row observe does not model.
            if words.peek() == Some(&"materialized-view") {
                return false;
            }
            let mut previous = None;
            words.any(|word| {
                let read = previous == Some("policy")
                    && [
                        PolicyKind::IngestionBatching,
                        PolicyKind::StreamingIngestion,
                        PolicyKind::Retention,
                        PolicyKind::Caching,
                        PolicyKind::Update,
                    ]
                    .iter()
                    .any(|k| word == k.keyword());
                previous = Some(word);
                read
            })
        }
        _ => false,
    }
}

/// Whether a word starts a string literal: `'`, `"`, verbatim `@'`, obfuscated `h'`, or a
/// multi-line ```` ``` ```` block.
fn starts_literal(word: &str) -> bool {
    let rest = word
        .strip_prefix(['@', 'h', 'H'])
        .filter(|r| r.starts_with(['\'', '"']))
        .unwrap_or(word);
    rest.starts_with(['\'', '"', '`'])
}

/// The start of a row for error messages (rows can hold long policies).
fn excerpt(row: &str) -> String {
    const MAX: usize = 160;
    let one_line = row.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

/// The policy slots of a table or database that script rows set.
struct Slots<'a> {
    batching: &'a mut Option<BatchingPolicy>,
    streaming: &'a mut Option<bool>,
    retention: &'a mut Option<RetentionPolicy>,
    caching: &'a mut Option<CachingPolicy>,
    /// A table's update policy; `None` for a database, which has none.
    update: Option<&'a mut Option<Vec<UpdatePolicy>>>,
}

/// A policy row's value, read once for all the tables the row names.
enum RowPolicy {
    /// A form read without a JSON tree ([`QuickPolicy::read`]).
    Quick(QuickPolicy),
    /// Any other value, as JSON ([`Setting::read`]).
    Json(Value),
}

impl RowPolicy {
    /// The value this row sets on an entity whose current policies are `current`; `None`
    /// when it is not a well-formed policy (see [`Setting::read`]).
    fn setting(&self, kind: PolicyKind, merge: bool, current: &Slots<'_>) -> Option<Setting> {
        match self {
            RowPolicy::Quick(quick) => Some(quick.setting(merge, current)),
            RowPolicy::Json(policy) => Setting::read(kind, policy, merge, current),
        }
    }
}

/// The policy forms the schema script writes for every table, read without building the JSON
/// value [`Setting::read`] would read them from (ten thousand tables make tens of thousands
/// of such rows), to the same setting.
enum QuickPolicy {
    /// A batching policy written as JSON in the service's plain shape.
    Batching(BatchingPolicy),
    /// `streamingingestion enable|disable`.
    Streaming(bool),
    /// `softdelete = T [recoverability = ...]`, the soft-delete period as it reads back from
    /// the policy's JSON text.
    Retention {
        soft_delete: Timespan,
        recoverable: Option<bool>,
    },
    /// `hot = T` without hot windows, the span as it reads back from the policy's JSON text.
    Caching(Timespan),
}

impl QuickPolicy {
    /// The quick form of a row's value; `None` for every other value (JSON of any other
    /// policy or shape, hot windows, a span that would not read back), which goes through JSON.
    fn read(kind: PolicyKind, value: &PolicyValue) -> Option<QuickPolicy> {
        // Property forms stand for JSON whose spans are text (`Timespan::to_kusto`), which
        // `Setting::read` parses back: the same round trip here keeps the same value.
        let read_back = |span: &Timespan| Timespan::parse(&span.to_kusto());
        match (kind, value) {
            (PolicyKind::IngestionBatching, PolicyValue::Json(text)) => {
                quick::batching_policy(text).map(QuickPolicy::Batching)
            }
            (PolicyKind::StreamingIngestion, PolicyValue::Switch(on)) => {
                Some(QuickPolicy::Streaming(*on))
            }
            (
                PolicyKind::Retention,
                PolicyValue::Retention {
                    soft_delete,
                    recoverable,
                },
            ) => Some(QuickPolicy::Retention {
                soft_delete: read_back(soft_delete)?,
                recoverable: *recoverable,
            }),
            (PolicyKind::Caching, PolicyValue::Caching { data, windows, .. })
                if windows.is_empty() =>
            {
                read_back(data).map(QuickPolicy::Caching)
            }
            _ => None,
        }
    }

    /// The setting [`Setting::read`] gives for the same value: an `.alter-merge` retention row
    /// without `recoverability` keeps the current policy's (recoverable when there is none).
    fn setting(&self, merge: bool, current: &Slots<'_>) -> Setting {
        match self {
            QuickPolicy::Batching(policy) => Setting::Batching(Some(*policy)),
            QuickPolicy::Streaming(on) => Setting::Streaming(Some(*on)),
            QuickPolicy::Retention {
                soft_delete,
                recoverable,
            } => {
                let kept = merge
                    .then(|| current.retention.map(|p| p.recoverable))
                    .flatten();
                Setting::Retention(Some(RetentionPolicy {
                    soft_delete: *soft_delete,
                    recoverable: recoverable.or(kept).unwrap_or(true),
                }))
            }
            QuickPolicy::Caching(hot) => Setting::Caching(Some(CachingPolicy {
                hot: *hot,
                hot_windows: Vec::new(),
            })),
        }
    }
}

/// The value a policy row sets.
enum Setting {
    Batching(Option<BatchingPolicy>),
    Streaming(Option<bool>),
    Retention(Option<RetentionPolicy>),
    Caching(Option<CachingPolicy>),
    Update(Option<Vec<UpdatePolicy>>),
}

impl Setting {
    /// `None` when a policy is not a well-formed policy object (`null` means unset). An
    /// `.alter-merge` retention row keeps the fields it omits from the policy already read.
    fn read(kind: PolicyKind, policy: &Value, merge: bool, current: &Slots<'_>) -> Option<Setting> {
        Some(match kind {
            PolicyKind::IngestionBatching if policy.is_null() => Setting::Batching(None),
            PolicyKind::IngestionBatching => {
                Setting::Batching(Some(BatchingPolicy::from_json(policy)?))
            }
            PolicyKind::StreamingIngestion => Setting::Streaming(streaming_policy(policy)),
            PolicyKind::Retention if policy.is_null() => Setting::Retention(None),
            PolicyKind::Retention => {
                let mut merged = policy.as_object()?.clone();
                if merge && let Some(Value::Object(old)) = current.retention.map(|p| p.to_json()) {
                    for (k, v) in old {
                        if !merged.keys().any(|m| m.eq_ignore_ascii_case(&k)) {
                            merged.insert(k, v);
                        }
                    }
                }
                Setting::Retention(Some(RetentionPolicy::from_json(&Value::Object(merged))?))
            }
            PolicyKind::Caching if policy.is_null() => Setting::Caching(None),
            PolicyKind::Caching => Setting::Caching(Some(CachingPolicy::from_json(policy)?)),
            // A database has no update policy; `.alter-merge` appends entries.
            PolicyKind::Update => {
                let current = current.update.as_deref()?;
                let mut entries = crate::model::update_policies_from_json(policy)?;
                if merge && let Some(old) = current {
                    entries.extend(old.iter().cloned());
                    entries.sort();
                }
                Setting::Update(Some(entries).filter(|e| !e.is_empty()))
            }
        })
    }

    fn set(self, slots: &mut Slots<'_>) {
        match self {
            Setting::Batching(p) => *slots.batching = p,
            Setting::Streaming(on) => *slots.streaming = on,
            Setting::Retention(p) => *slots.retention = p,
            Setting::Caching(p) => *slots.caching = p,
            Setting::Update(entries) => {
                if let Some(slot) = slots.update.as_deref_mut() {
                    *slot = entries;
                }
            }
        }
    }
}

/// Applies one principals command to a role map, as the service would: `.add` keeps an
/// assignment (new notes replace old ones), `.set` replaces the role's list, `.drop` removes.
/// FQN kinds kustoplan does not model are skipped, as in `.show ... principals` results.
fn change_roles(
    roles: &mut BTreeMap<RoleKey, Option<String>>,
    role: &str,
    action: PrincipalAction,
    fqns: &[String],
    notes: Option<String>,
) {
    let notes = notes.filter(|n| !n.is_empty());
    let keys = fqns
        .iter()
        .filter_map(|f| PrincipalRef::parse_fqn(f))
        .map(|p| RoleKey::new(role, &p));
    match action {
        PrincipalAction::Drop => {
            for key in keys {
                roles.remove(&key);
            }
        }
        PrincipalAction::Add | PrincipalAction::Set => {
            if action == PrincipalAction::Set {
                roles.retain(|k, _| k.role != role);
            }
            for key in keys {
                let entry = roles.entry(key).or_default();
                if notes.is_some() {
                    entry.clone_from(&notes);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kusto::v1::V1Table;
    use crate::model::Timespan;
    use crate::sandbox::kusto::{Caller, KustoSandbox};
    use serde_json::json;
    use std::collections::BTreeSet;

    fn run(s: &KustoSandbox, csl: &str) -> V1Response {
        s.execute("db", csl, &Caller::cluster_admin("aaduser=me"))
            .unwrap_or_else(|e| panic!("{csl}: {e:?}"))
    }

    /// A `.show database DB ingestion mappings` answer with these (table, kind, name, column)
    /// rows.
    fn mappings_answer(rows: &[(String, &str, &str, String)]) -> V1Table {
        let column = |name: &str| crate::kusto::v1::V1Column {
            name: name.to_string(),
            data_type: "String".to_string(),
            column_type: Some("string".to_string()),
        };
        V1Table {
            name: "Table_0".to_string(),
            columns: [
                "Name",
                "Kind",
                "Mapping",
                "LastUpdatedOn",
                "Database",
                "Table",
            ]
            .map(column)
            .to_vec(),
            rows: rows
                .iter()
                .map(|(table, kind, name, col)| {
                    let mapping =
                        format!(r#"[{{"column":"{col}","Properties":{{"Path":"$.{col}"}}}}]"#);
                    crate::kusto::v1::V1Row::Values(vec![
                        json!(name),
                        json!(kind),
                        json!(mapping),
                        json!("2026-12-06T00:00:00Z"),
                        json!("db"),
                        json!(table),
                    ])
                })
                .collect(),
        }
    }

    /// The mappings part read from `answer`'s body.
    fn read_mappings(
        answer: V1Table,
    ) -> Result<HashMap<String, SmallMap<String, Mapping>>, RowsError<ObserveError>> {
        let body = serde_json::to_vec(&V1Response::single(answer)).expect("serialize");
        let part = read_part("db", BulkRead::Mappings, &V1Answer::Body(body.into()))?;
        match part.tables {
            PartTables::Mappings(tables) => Ok(tables),
            other => panic!("not the mappings: {other:?}"),
        }
    }

    #[test]
    fn later_mapping_rows_win_and_the_first_bad_row_is_the_error() {
        let tables = 3_000;
        let mut rows: Vec<(String, &str, &str, String)> = (0..tables)
            .map(|n| (format!("T{n}"), "Json", "m", "early".to_string()))
            .collect();
        rows.push(("Kept".to_string(), "Csv", "only", "first".to_string()));
        // The same tables and mappings again, later: these win.
        rows.extend((0..tables).map(|n| (format!("T{n}"), "Json", "m", format!("late{n}"))));
        let read = read_mappings(mappings_answer(&rows)).expect("mappings");
        assert_eq!(read.len(), tables + 1);
        assert_eq!(read["T7"]["json:m"].columns[0].column, "late7");
        assert_eq!(read["Kept"]["csv:only"].columns[0].column, "first");

        // The first bad row in answer order is the one reported.
        let mut bad = rows.clone();
        bad[tables + 100].1 = "Nope";
        bad[10].1 = "Wrong";
        let Err(RowsError::Sink(err)) = read_mappings(mappings_answer(&bad)) else {
            panic!("bad kinds are an error of the rows");
        };
        assert!(
            err.to_string().contains("unknown mapping kind `Wrong`"),
            "{err}"
        );
    }

    #[test]
    fn reads_every_object_kind_from_the_sandbox() {
        let s = KustoSandbox::in_memory(&["db".to_string()]).unwrap();
        for csl in [
            ".create table T (A:int, B:string)",
            ".create table U (X:datetime)",
            ".create table V (X:datetime)",
            ".alter table T docstring 'Events [kustoplan:gameplay]'",
            ".alter table T folder 'Game'",
            r#".create table T ingestion json mapping 'm' '[{"column":"A","Properties":{"Path":"$.a"}}]'"#,
            r#".alter table T policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":5}'"#,
            r#".alter table U policy streamingingestion @'{"IsEnabled":true}'"#,
            ".alter table V policy streamingingestion disable",
            r#".alter database db policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:01:00"}'"#,
            ".add database db admins ('aadapp=ABC;TID') 'AAD App'",
            ".add table U ingestors ('aaduser=X@Y.com') 'n'",
        ] {
            run(&s, csl);
        }
        let bulk: Vec<V1Response> = bulk_reads("db").iter().map(|c| run(&s, c)).collect();
        let state = database_state("db", &bulk).unwrap();
        // Read row by row from the bodies a cluster would send: the same state.
        let parts: Vec<Part> = BulkRead::ALL
            .into_iter()
            .zip(&bulk)
            .map(|(read, response)| {
                let body = serde_json::to_vec(response).expect("serialize");
                read_part("db", read, &V1Answer::Body(body.into())).expect("read")
            })
            .collect();
        assert_eq!(join_parts("db", parts).unwrap(), state);
        let t = &state.tables["T"];
        assert_eq!(
            t.columns,
            vec![
                Column {
                    name: "A".into(),
                    ty: ColumnType::Int
                },
                Column {
                    name: "B".into(),
                    ty: ColumnType::String
                }
            ]
        );
        assert_eq!(
            (t.docstring.as_str(), t.owner.as_deref(), t.folder.as_str()),
            ("Events", Some("gameplay"), "Game")
        );
        assert_eq!(t.mappings["json:m"].columns[0].properties["Path"], *"$.a");
        assert_eq!(
            t.batching
                .map(|b| (b.max_time.as_millis(), b.max_items, b.max_raw_size_mb)),
            Some((10_000, 5, 1024))
        );
        assert_eq!(t.streaming, None);
        assert!(t.principals.is_empty());
        let u = &state.tables["U"];
        assert_eq!(u.streaming, Some(true));
        assert_eq!(state.tables["V"].streaming, Some(false));
        assert_eq!(u.batching, None);
        assert_eq!(
            u.principals
                .iter()
                .map(|(k, n)| (k.role.as_str(), k.fqn.as_str(), n.as_deref()))
                .collect::<Vec<_>>(),
            vec![(
                "ingestors",
                crate::sandbox::kusto::resolved_fqn("aaduser=x@y.com")
                    .expect("valid")
                    .as_str(),
                Some("n")
            )]
        );
        assert_eq!(state.batching.map(|b| b.max_time.as_millis()), Some(60_000));
        assert!(!state.streaming);
        let admins: Vec<_> = state
            .principals
            .iter()
            .map(|(k, n)| (k.role.as_str(), k.fqn.as_str(), n.as_deref()))
            .collect();
        let app = crate::sandbox::kusto::resolved_fqn("aadapp=abc;tid").expect("valid");
        assert_eq!(admins, vec![("admins", app.as_str(), Some("AAD App"))]);
    }

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    /// Results of the first three reads for a database `gamedb` with tables GamePlay and
    /// `Raw Events`, and an admin app.
    fn structured_reads() -> Vec<V1Response> {
        let schema = json!({"Databases": {"gamedb": {"Name": "gamedb", "Tables": {
            "GamePlay": {"Name": "GamePlay", "Folder": "Game",
                "DocString": "Plays [kustoplan:gameplay]",
                "OrderedColumns": [
                    {"Name": "PlayerID", "Type": "System.Int32", "CslType": "int"},
                    {"Name": "EventTime", "Type": "System.DateTime", "CslType": "datetime"}]},
            "Raw Events": {"Name": "Raw Events",
                "OrderedColumns": [{"Name": "Payload", "Type": "System.Object", "CslType": "dynamic"}]}
        }}}});
        let mut t0 = V1Table::new("Table_0", &[("DatabaseSchema", ColumnType::String)]);
        t0.push(vec![json!(schema.to_string())]);
        let t1 = V1Table::new(
            "Table_0",
            &[
                ("Name", ColumnType::String),
                ("Kind", ColumnType::String),
                ("Mapping", ColumnType::String),
                ("Table", ColumnType::String),
            ],
        );
        let mut t2 = V1Table::new(
            "Table_0",
            &[
                ("Role", ColumnType::String),
                ("PrincipalFQN", ColumnType::String),
                ("Notes", ColumnType::String),
            ],
        );
        t2.push(vec![
            json!("Database gamedb Admin"),
            json!(format!(
                "aadapp=00000000-0000-0000-0000-00000000a11d;{TENANT}"
            )),
            json!("AAD App"),
        ]);
        [t0, t1, t2].into_iter().map(V1Response::single).collect()
    }

    #[test]
    fn the_schema_cell_is_read_as_text_or_as_json_and_absent_fields_read_as_empty() {
        // No `CslType` (older services): the CLR `Type`; the database under another case;
        // nulls and missing fields as the service may send them.
        let schema = json!({"Databases": {"GameDB": {"Tables": {
            "Old": {"OrderedColumns": [{"Name": "A", "Type": "System.Int64", "CslType": null}],
                "DocString": null, "Folder": null},
            "Bare": {}
        }, "Functions": null}}});
        let with_cell = |cell: Value| {
            let mut t0 = V1Table::new("Table_0", &[("DatabaseSchema", ColumnType::String)]);
            t0.push(vec![cell]);
            let mut bulk = structured_reads();
            bulk[0] = V1Response::single(t0);
            bulk.push(script(&[]));
            database_state("gamedb", &bulk)
        };
        for cell in [json!(schema.to_string()), schema.clone()] {
            let state = with_cell(cell).expect("state");
            assert_eq!(
                state.tables["Old"].columns,
                vec![Column {
                    name: "A".into(),
                    ty: ColumnType::Long
                }]
            );
            assert_eq!(
                (
                    state.tables["Old"].folder.as_str(),
                    state.tables["Old"].owner.as_ref()
                ),
                ("", None)
            );
            assert!(state.tables["Bare"].columns.is_empty());
            assert!(state.functions.is_empty());
        }
        for (cell, reason) in [
            (json!(""), "no DatabaseSchema cell"),
            (Value::Null, "no DatabaseSchema cell"),
            (json!("{\"Databases\": 1}"), "unreadable schema"),
            (json!("{}"), "no Databases object"),
            (
                json!({"Databases": {}}),
                "database `gamedb` is not in the schema",
            ),
        ] {
            let e = with_cell(cell).expect_err("unreadable");
            assert!(e.reason.contains(reason), "{e}");
        }
    }

    #[test]
    fn functions_come_from_the_schema_with_every_parameter_shape() {
        let schema = json!({"Databases": {"gamedb": {"Name": "gamedb", "Tables": {}, "Functions": {
            "RecentPlays": {"Name": "RecentPlays",
                "InputParameters": [
                    {"Name": "since", "Type": "System.TimeSpan", "CslType": "timespan", "CslDefaultValue": null},
                    {"Name": "n", "Type": "System.Int64", "CslType": "long"}],
                "Body": "{\r\n    GamePlay\r\n    | take n\r\n}",
                "Folder": "Helpers", "DocString": "Recent plays [kustoplan:gameplay]",
                "FunctionKind": "Unknown", "OutputColumns": []},
            "Tabular": {"Name": "Tabular",
                "InputParameters": [
                    {"Name": "T", "Columns": [{"Name": "x", "Type": "System.Int32", "CslType": "int"}]},
                    {"Name": "Any", "Columns": []},
                    {"Name": "k", "Type": "System.Int64", "CslType": "long", "CslDefaultValue": "5"}],
                "Body": "{ T }", "Folder": "", "DocString": ""}
        }}}});
        let mut t0 = V1Table::new("Table_0", &[("DatabaseSchema", ColumnType::String)]);
        t0.push(vec![json!(schema.to_string())]);
        let mut bulk = structured_reads();
        bulk[0] = V1Response::single(t0);
        bulk.push(script(&[]));
        let state = database_state("gamedb", &bulk).unwrap();
        let scalar = |name: &str, ty| Parameter {
            name: name.into(),
            ty: ParameterType::Scalar(ty),
        };
        assert_eq!(
            state.functions["RecentPlays"],
            Function {
                name: "RecentPlays".into(),
                parameters: vec![
                    scalar("since", ColumnType::Timespan),
                    scalar("n", ColumnType::Long)
                ],
                body: "\r\n    GamePlay\r\n    | take n\r\n".into(),
                docstring: "Recent plays".into(),
                folder: "Helpers".into(),
                owner: Some("gameplay".into()),
                skip_validation: false,
                renamed_from: None,
            }
        );
        let tabular = &state.functions["Tabular"];
        assert_eq!(
            tabular.parameters_text(),
            "(T:(x:int), Any:(*), k:long = 5)"
        );
        assert_eq!(tabular.scalar_parameters(), None);
        assert_eq!(
            (tabular.body.as_str(), tabular.owner.as_ref()),
            (" T ", None)
        );
    }

    #[test]
    fn function_and_view_fields_of_another_type_read_as_absent() {
        let schema = json!({"Databases": {"gamedb": {"Tables": {}, "Functions": {
            "Odd": {"InputParameters": ["not an object", {"Name": 7, "CslType": "long"},
                        {"Name": "t", "Columns": {"x": 1}}],
                    "Body": 42, "Folder": ["f"], "DocString": null},
            "NoParams": {"InputParameters": "none", "Body": "{ 1 }"},
            "NotAnObject": 5
        }, "MaterializedViews": {
            "V": {"SourceTable": "T", "Query": "T | count", "Lookback": 3,
                  "AutoUpdateSchema": "yes", "Folder": {"a": 1}},
            "W": [1, 2]
        }}}});
        let mut t0 = V1Table::new("Table_0", &[("DatabaseSchema", ColumnType::String)]);
        t0.push(vec![json!(schema.to_string())]);
        let mut bulk = structured_reads();
        bulk[0] = V1Response::single(t0);
        bulk.push(script(&[]));
        let state = database_state("gamedb", &bulk).unwrap();
        let param = |name: &str, ty| Parameter {
            name: name.into(),
            ty,
        };
        let odd = &state.functions["Odd"];
        assert_eq!(
            odd.parameters,
            [
                param("", ParameterType::Unmodelled("(*)".into())),
                param("", ParameterType::Scalar(ColumnType::Long)),
                param("t", ParameterType::Unmodelled("(*)".into())),
            ]
        );
        assert_eq!(
            (
                odd.body.as_str(),
                odd.folder.as_str(),
                odd.docstring.as_str()
            ),
            ("", "", "")
        );
        let no_params = &state.functions["NoParams"];
        assert!(no_params.parameters.is_empty());
        assert_eq!(no_params.body, " 1 ");
        let not_an_object = &state.functions["NotAnObject"];
        assert_eq!(
            (not_an_object.parameters.len(), not_an_object.body.as_str()),
            (0, "")
        );
        let v = &state.materialized_views["V"];
        assert_eq!(
            (v.source.as_str(), v.query.as_str(), v.folder.as_str()),
            ("T", "T | count", "")
        );
        assert_eq!((v.lookback.as_ref(), v.auto_update_schema), (None, None));
        let w = &state.materialized_views["W"];
        assert_eq!((w.source.as_str(), w.auto_update_schema), ("", None));
    }

    fn script(rows: &[&str]) -> V1Response {
        let mut t = V1Table::new("Table_0", &[("DatabaseSchemaScript", ColumnType::String)]);
        for row in rows {
            t.push(vec![json!(row)]);
        }
        V1Response::single(t)
    }

    /// The shape the service's script has: rows kustoplan reads mixed with functions, other
    /// policies and commands its grammar does not know, which must be skipped unparsed.
    pub(super) const REALISTIC_SCRIPT: &[&str] = &[
        r#".create-merge table GamePlay (PlayerID:int, EventTime:datetime) with (folder = "Game", docstring = "Plays [kustoplan:gameplay]")"#,
        ".create-merge table ['Raw Events'] (Payload:dynamic)",
        ".create-or-alter function with (folder = \"Helpers\", docstring = \"Recent plays\", skipvalidation = \"true\") RecentPlays(since:timespan = 1h) {\n    GamePlay\n    | where EventTime > ago(since)\n    | summarize count() by PlayerID\n}",
        r#".alter table GamePlay policy retention @'{"SoftDeletePeriod":"365.00:00:00","Recoverability":"Enabled"}'"#,
        ".alter-merge table GamePlay policy retention softdelete = 365d recoverability = enabled",
        ".alter table GamePlay policy caching hot = 7d",
        r#".alter table GamePlay policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":5,"MaximumRawDataSizeMB":100}'"#,
        r#".alter table ['Raw Events'] policy streamingingestion @'{"IsEnabled":true,"HintAllocatedRate":null}'"#,
        r#".alter table ['Raw Events'] policy row_level_security disable "['Raw Events'] | where Payload.policy == 'policy ingestionbatching' { }""#,
        r#".alter table GamePlay policy update @'[{"IsEnabled":true,"Source":"Raw Events","Query":"RawToPlays()","IsTransactional":false}]'"#,
        r#".alter tables (GamePlay, ['Raw Events']) policy streamingingestion @'{"IsEnabled":false}'"#,
        ".alter table ['Raw Events'] policy streamingingestion enable",
        r#".alter database gamedb policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:01:00"}'"#,
        ".alter database gamedb policy streamingingestion disable",
        r#".alter database gamedb policy streamingingestion @'{"IsEnabled":true,"HintAllocatedRate":2.5}'"#,
        r#".alter database gamedb policy retention "{\"SoftDeletePeriod\":\"3650.00:00:00\"}""#,
        ".add database gamedb admins ('aadapp=00000000-0000-0000-0000-00000000a11d;72f988bf-86f1-41af-91ab-2d7cd011db47') 'AAD App'",
        ".add database gamedb viewers ('aadgroup=readers;contoso.com')",
        ".add table GamePlay ingestors ('aadapp=0000-SINK;72f988bf-86f1-41af-91ab-2d7cd011db47') 'Kafka sink'",
        ".add table ['Raw Events'] admins ('aaduser=Jane@Contoso.com', 'aadgroup=ops;contoso.com')",
        ".add table ['Raw Events'] ingestors ('msauser=someone@live.com')",
        ".add table Dropped admins ('aaduser=ghost@contoso.com')",
        "// a trailing comment row",
    ];

    fn table_principal(role: &str, fqn: &str, notes: Option<&str>) -> (RoleKey, Option<String>) {
        (
            RoleKey::new(role, &PrincipalRef::parse_fqn(fqn).unwrap()),
            notes.map(str::to_string),
        )
    }

    #[test]
    fn a_realistic_script_gives_the_exact_policies_and_table_principals() {
        let mut bulk = structured_reads();
        bulk.push(script(REALISTIC_SCRIPT));
        let state = database_state("gamedb", &bulk).unwrap();
        let game_play = TableState {
            name: "GamePlay".into(),
            columns: vec![
                Column {
                    name: "PlayerID".into(),
                    ty: ColumnType::Int,
                },
                Column {
                    name: "EventTime".into(),
                    ty: ColumnType::DateTime,
                },
            ],
            docstring: "Plays".into(),
            folder: "Game".into(),
            owner: Some("gameplay".into()),
            mappings: crate::model::SmallMap::new(),
            batching: Some(BatchingPolicy {
                max_time: Timespan::from_secs(10),
                max_items: 5,
                max_raw_size_mb: 100,
            }),
            streaming: Some(false),
            retention: Some(RetentionPolicy {
                soft_delete: Timespan::from_secs(365 * 86_400),
                recoverable: true,
            }),
            caching: Some(CachingPolicy {
                hot: Timespan::from_secs(7 * 86_400),
                hot_windows: Vec::new(),
            }),
            update_policies: Some(vec![UpdatePolicy::new(
                "Raw Events",
                "RawToPlays()",
                true,
                false,
                false,
                None,
            )]),
            principals: [table_principal(
                "ingestors",
                &format!("aadapp=0000-sink;{TENANT}"),
                Some("Kafka sink"),
            )]
            .into(),
            declared_roles: BTreeSet::new(),
            ..Default::default()
        };
        let raw_events = TableState {
            name: "Raw Events".into(),
            columns: vec![Column {
                name: "Payload".into(),
                ty: ColumnType::Dynamic,
            }],
            streaming: Some(true),
            principals: [
                table_principal("admins", "aaduser=jane@contoso.com", None),
                table_principal("admins", "aadgroup=ops;contoso.com", None),
            ]
            .into(),
            ..Default::default()
        };
        let want = DatabaseState {
            name: "gamedb".into(),
            tables: [
                ("GamePlay".to_string(), game_play),
                ("Raw Events".to_string(), raw_events),
            ]
            .into(),
            functions: BTreeMap::new(),
            materialized_views: BTreeMap::new(),
            batching: Some(BatchingPolicy {
                max_time: Timespan::from_secs(60),
                ..BatchingPolicy::DEFAULTS
            }),
            streaming: true,
            retention: Some(RetentionPolicy {
                soft_delete: Timespan::from_secs(3650 * 86_400),
                recoverable: true,
            }),
            caching: None,
            principals: [(
                RoleKey::new(
                    "admins",
                    &PrincipalRef::parse_fqn(&format!(
                        "aadapp=00000000-0000-0000-0000-00000000a11d;{TENANT}"
                    ))
                    .unwrap(),
                ),
                Some("AAD App".to_string()),
            )]
            .into(),
            declared_roles: BTreeSet::new(),
            directory: BTreeMap::new(),
            query_schemas: BTreeMap::new(),
        };
        assert_eq!(state, want);
    }

    /// Each answer is read on its own as it arrives (the provider reads them on separate
    /// tasks): the join does not depend on the order the parts come in, and what the mappings
    /// or the script say about a table the schema does not list (a lease table) is dropped.
    #[test]
    fn parts_join_in_any_order_and_drop_tables_the_schema_lacks() {
        let mut bulk = structured_reads();
        let mut rows = REALISTIC_SCRIPT.to_vec();
        rows.push(r#".alter table Gone policy streamingingestion @'{"IsEnabled":true}'"#);
        rows.push(".add table Gone admins ('aaduser=gone@example.com') 'left'");
        bulk.push(script(&rows));
        let mut mapping_rows = V1Table::new(
            "Table_0",
            &[
                ("Name", ColumnType::String),
                ("Kind", ColumnType::String),
                ("Mapping", ColumnType::String),
                ("Table", ColumnType::String),
            ],
        );
        for table in ["GamePlay", "Gone"] {
            mapping_rows.push(vec![
                json!("m"),
                json!("Json"),
                json!(r#"[{"column":"PlayerID","Properties":{"Path":"$.p"}}]"#),
                json!(table),
            ]);
        }
        bulk[1] = V1Response::single(mapping_rows);
        let ordered = database_state("gamedb", &bulk).unwrap();
        assert!(!ordered.tables.contains_key("Gone"));
        assert_eq!(ordered.tables["GamePlay"].mappings.len(), 1);
        assert_eq!(ordered.tables["GamePlay"].streaming, Some(false));
        let mut parts: Vec<Part> = BulkRead::ALL
            .into_iter()
            .zip(&bulk)
            .map(|(read, response)| {
                read_part("gamedb", read, &V1Answer::Parsed(response.clone())).unwrap()
            })
            .collect();
        parts.reverse();
        assert_eq!(join_parts("gamedb", parts).unwrap(), ordered);
        let missing: Vec<Part> = BulkRead::ALL[..3]
            .iter()
            .zip(&bulk)
            .map(|(read, response)| {
                read_part("gamedb", *read, &V1Answer::Parsed(response.clone())).unwrap()
            })
            .collect();
        assert!(join_parts("gamedb", missing).is_err());
    }

    #[test]
    fn set_and_drop_rows_replace_and_remove_table_principals() {
        let mut bulk = structured_reads();
        bulk.push(script(&[
            ".add table GamePlay admins ('aaduser=a@x.com') 'first'",
            ".add table GamePlay admins ('aaduser=a@x.com')",
            ".add table GamePlay ingestors ('aaduser=b@x.com', 'aaduser=c@x.com')",
            ".set table GamePlay ingestors ('aaduser=c@x.com') 'only c'",
            ".set table ['Raw Events'] admins none",
        ]));
        let state = database_state("gamedb", &bulk).unwrap();
        assert_eq!(
            state.tables["GamePlay"].principals,
            [
                table_principal("admins", "aaduser=a@x.com", Some("first")),
                table_principal("ingestors", "aaduser=c@x.com", Some("only c")),
            ]
            .into()
        );
        assert!(state.tables["Raw Events"].principals.is_empty());
    }

    fn script_error(row: &str) -> ObserveError {
        let mut bulk = structured_reads();
        bulk.push(script(&[
            ".create-merge table GamePlay (PlayerID:int, EventTime:datetime)",
            row,
        ]));
        database_state("gamedb", &bulk).expect_err(row)
    }

    #[test]
    fn a_row_observe_reads_must_be_well_formed() {
        let e = script_error(
            r#".alter table GamePlay policy ingestionbatching @'{"MaximumNumberOfItems":"many"}'"#,
        );
        assert_eq!(e.command, render::show_database_schema_script("gamedb"));
        assert_eq!(
            e.reason,
            r#"row 2 (`.alter table GamePlay policy ingestionbatching @'{"MaximumNumberOfItems":"many"}'`): malformed ingestionbatching policy"#
        );
        assert!(
            e.to_string().starts_with(
                "unexpected result of `.show database gamedb schema as csl script with (",
            ),
            "{e}"
        );
        let e = script_error(r#".alter table GamePlay policy ingestionbatching @'{"Maximum'"#);
        assert!(
            e.reason
                .starts_with("row 2 (`.alter table GamePlay policy ingestionbatching @'{\"Maximum'`): the policy is not JSON ("),
            "{}",
            e.reason
        );
        let e = script_error(".alter table GamePlay policy streamingingestion");
        assert_eq!(
            e.reason,
            "row 2 (`.alter table GamePlay policy streamingingestion`): Syntax error: SYN0002: expected a string literal but found end of command [line:position=1:47]"
        );
        let e = script_error(".add table GamePlay viewers ('aaduser=a@x.com')");
        assert!(
            e.reason.starts_with(
                "row 2 (`.add table GamePlay viewers ('aaduser=a@x.com')`): Syntax error: SYN0002: expected a table role (admins, ingestors)"
            ),
            "{}",
            e.reason
        );
        let long = format!(
            ".alter table GamePlay policy ingestionbatching '{}'",
            "x".repeat(500)
        );
        let e = script_error(&long);
        assert!(
            e.reason.contains(&format!("{}...`)", &long[..160])),
            "{}",
            e.reason
        );
    }

    /// A table's batching, streaming, retention and caching policies.
    type TablePolicies = (
        Option<BatchingPolicy>,
        Option<bool>,
        Option<RetentionPolicy>,
        Option<CachingPolicy>,
    );

    /// What a row's value sets on a table whose retention is `current` (its other policies
    /// set too), read quickly or through JSON: `None` when the value is malformed.
    fn table_after(
        kind: PolicyKind,
        row: &RowPolicy,
        merge: bool,
        current: Option<RetentionPolicy>,
    ) -> Option<TablePolicies> {
        let mut t = TableState {
            batching: Some(BatchingPolicy::DEFAULTS),
            streaming: Some(true),
            retention: current,
            caching: Some(CachingPolicy {
                hot: Timespan::from_secs(60),
                hot_windows: Vec::new(),
            }),
            ..Default::default()
        };
        let mut slots = Slots {
            batching: &mut t.batching,
            streaming: &mut t.streaming,
            retention: &mut t.retention,
            caching: &mut t.caching,
            update: Some(&mut t.update_policies),
        };
        row.setting(kind, merge, &slots)?.set(&mut slots);
        Some((t.batching, t.streaming, t.retention, t.caching))
    }

    #[test]
    fn quick_policies_set_what_their_json_sets() {
        let days = |n: u64| Timespan::from_secs(n * 86_400);
        let json = |text: &str| PolicyValue::Json(text.to_string());
        let retention = |soft_delete, recoverable| PolicyValue::Retention {
            soft_delete,
            recoverable,
        };
        let values = [
            (
                PolicyKind::IngestionBatching,
                json(
                    r#"{"MaximumBatchingTimeSpan":"00:00:30","MaximumNumberOfItems":100,"MaximumRawDataSizeMB":256}"#,
                ),
            ),
            (
                PolicyKind::IngestionBatching,
                json(r#"{"maximumnumberofitems":7}"#),
            ),
            (PolicyKind::IngestionBatching, json("{}")),
            (PolicyKind::StreamingIngestion, PolicyValue::Switch(true)),
            (PolicyKind::StreamingIngestion, PolicyValue::Switch(false)),
            (PolicyKind::Retention, retention(days(90), Some(true))),
            (PolicyKind::Retention, retention(days(90), Some(false))),
            (PolicyKind::Retention, retention(days(3650), None)),
            (
                PolicyKind::Retention,
                retention(Timespan::from_secs(90), None),
            ),
            (
                PolicyKind::Caching,
                PolicyValue::Caching {
                    data: days(7),
                    index: days(7),
                    windows: Vec::new(),
                },
            ),
            (
                PolicyKind::Caching,
                PolicyValue::Caching {
                    data: days(31),
                    index: days(2),
                    windows: Vec::new(),
                },
            ),
        ];
        let currents = [
            None,
            Some(RetentionPolicy {
                soft_delete: days(1),
                recoverable: false,
            }),
            Some(RetentionPolicy {
                soft_delete: days(1),
                recoverable: true,
            }),
        ];
        for (kind, value) in &values {
            let as_json = RowPolicy::Json(value.to_value().expect("JSON"));
            for merge in [false, true] {
                for current in currents {
                    let quick = QuickPolicy::read(*kind, value)
                        .unwrap_or_else(|| panic!("{value:?} is read quickly"));
                    assert_eq!(
                        table_after(*kind, &RowPolicy::Quick(quick), merge, current),
                        table_after(*kind, &as_json, merge, current),
                        "{kind:?} {value:?} merge {merge} over {current:?}"
                    );
                }
            }
        }
        // Forms left to JSON.
        for (kind, value) in [
            (
                PolicyKind::Caching,
                PolicyValue::Caching {
                    data: days(7),
                    index: days(7),
                    windows: vec![("2024-01-01T00:00:00Z".into(), "2024-02-01T00:00:00Z".into())],
                },
            ),
            (
                PolicyKind::StreamingIngestion,
                json(r#"{"IsEnabled":true}"#),
            ),
            (PolicyKind::Update, json("[]")),
            (PolicyKind::IngestionBatching, json("null")),
            (
                PolicyKind::IngestionBatching,
                json(r#"{"MaximumNumberOfItems":"many"}"#),
            ),
        ] {
            assert!(QuickPolicy::read(kind, &value).is_none(), "{value:?}");
        }
    }

    #[test]
    fn which_rows_are_read() {
        for row in [
            ".alter table T policy ingestionbatching '{}'",
            ".alter-merge table ['a b'] policy streamingingestion '{}'",
            ".alter tables (A, B) policy ingestionbatching '{}'",
            ".alter database db policy streamingingestion\n'{}'",
            "// comment\n.add table T admins ('aaduser=a')",
            ".set database db viewers none",
            ".alter table T policy retention '{}'",
            ".alter-merge database db policy retention softdelete = 10d",
            ".alter table T policy caching hot = 7d",
            ".alter table T policy update '[]'",
            ".alter-merge table T policy update '[]'",
        ] {
            assert!(is_read(row), "{row}");
        }
        for row in [
            ".alter table T policy merge '{}'",
            ".alter table T policy row_level_security enable 'policy ingestionbatching'",
            ".alter table T docstring @'policy streamingingestion'",
            ".create-or-alter function F() { T | where x == 'policy ingestionbatching' }",
            ".create-merge table T (a:int)",
            ".add materialized-view V",
            ".alter materialized-view V policy retention '{}'",
            ".alter-merge materialized-view V policy caching hot = 7d",
            ".create-or-alter materialized-view with (lookback=6h) V on table T { T | summarize count() by A }",
            "",
        ] {
            assert!(!is_read(row), "{row}");
        }
    }
}
