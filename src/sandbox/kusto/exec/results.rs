//! Result tables with the exact column names and types of the real commands.

use serde_json::{Value, json};

use super::super::directory;
use super::super::state::{
    Assignment, Database, Mapping, StoredFunction, StoredOperation, StoredView, Table,
};
use super::super::validate::PrincipalName;
use crate::kusto::v1::V1Table;
use crate::model::ColumnType::{self, Bool, DateTime, Guid, String as Str};

const TABLE_NAME: &str = "Table_0";

fn result_table(columns: &[(&str, ColumnType)]) -> V1Table {
    V1Table::new(TABLE_NAME, columns)
}

/// What a command inside a script returns instead of its result table (see
/// [`super::Context::results`]): nobody reads it.
pub fn discarded() -> V1Table {
    result_table(&[])
}

/// `.show version`.
pub fn version() -> V1Table {
    let mut t = result_table(&[
        ("BuildVersion", Str),
        ("BuildTime", DateTime),
        ("ServiceType", Str),
        ("ProductVersion", Str),
    ]);
    t.push(vec![
        json!(env!("CARGO_PKG_VERSION")),
        json!("2024-01-01T00:00:00.0000000Z"),
        json!("Engine"),
        json!(concat!("kustoplan-sandbox ", env!("CARGO_PKG_VERSION"))),
    ]);
    t
}

/// `.show databases`.
pub fn databases<'a>(
    dbs: impl Iterator<Item = (&'a String, &'a Database)>,
    current: Option<&str>,
) -> V1Table {
    let mut t = result_table(&[
        ("DatabaseName", Str),
        ("PersistentStorage", Str),
        ("Version", Str),
        ("IsCurrent", Bool),
        ("DatabaseAccessMode", Str),
        ("PrettyName", Str),
        ("ReservedSlot1", Bool),
        ("DatabaseId", Guid),
        ("InTransitionTo", Str),
    ]);
    for (name, db) in dbs {
        t.push(vec![
            json!(name),
            json!(""),
            json!(format!("v1.{}", db.minor_version)),
            json!(current == Some(name.as_str())),
            json!("ReadWrite"),
            Value::Null,
            json!(false),
            json!(db.id),
            json!(""),
        ]);
    }
    t
}

fn schema_json(table: &Table) -> Value {
    json!({
        "Name": table.name,
        "OrderedColumns": super::schema_doc::Columns(&table.columns),
    })
}

/// Result of table create/alter commands, same as `.show table T schema as json`.
pub fn table_schema(database: &str, table: &Table) -> V1Table {
    let mut t = result_table(&[
        ("TableName", Str),
        ("Schema", Str),
        ("DatabaseName", Str),
        ("Folder", Str),
        ("DocString", Str),
    ]);
    t.push(vec![
        json!(table.name),
        json!(schema_json(table).to_string()),
        json!(database),
        json!(table.folder),
        json!(table.docstring),
    ]);
    t
}

/// Result of `.alter table T docstring|folder` and rows of `.show tables`.
pub fn table_details<'a>(database: &str, tables: impl Iterator<Item = &'a Table>) -> V1Table {
    let mut t = result_table(&[
        ("TableName", Str),
        ("DatabaseName", Str),
        ("Folder", Str),
        ("DocString", Str),
    ]);
    for tb in tables {
        t.push(vec![
            json!(tb.name),
            json!(database),
            json!(tb.folder),
            json!(tb.docstring),
        ]);
    }
    t
}

/// Result of `.drop table`: the remaining tables.
pub fn table_names<'a>(database: &str, tables: impl Iterator<Item = &'a Table>) -> V1Table {
    let mut t = result_table(&[("TableName", Str), ("DatabaseName", Str)]);
    for tb in tables {
        t.push(vec![json!(tb.name), json!(database)]);
    }
    t
}

/// `.show database DB schema as json`: one `DatabaseSchema` cell of JSON text.
pub fn database_schema(name: &str, db: &Database) -> Result<V1Table, serde_json::Error> {
    let doc = super::schema_doc::DatabaseSchema::of(name, db);
    let mut t = result_table(&[("DatabaseSchema", Str)]);
    t.push(vec![Value::String(serde_json::to_string(&doc)?)]);
    Ok(t)
}

/// `.show materialized-views`, `.show materialized-view V` and the result of the sync
/// create and alter commands, in the documented columns.
pub fn materialized_views<'a>(views: impl Iterator<Item = &'a StoredView>) -> V1Table {
    let mut t = result_table(&[
        ("Name", Str),
        ("SourceTable", Str),
        ("Query", Str),
        ("MaterializedTo", DateTime),
        ("LastRun", DateTime),
        ("LastRunResult", Str),
        ("IsHealthy", Bool),
        ("IsEnabled", Bool),
        ("Folder", Str),
        ("DocString", Str),
        ("AutoUpdateSchema", Bool),
        ("EffectiveDateTime", DateTime),
        ("Lookback", ColumnType::Timespan),
    ]);
    for v in views {
        t.push(vec![
            json!(v.name),
            json!(v.source),
            json!(v.query),
            json!(v.effective_date_time),
            json!(v.effective_date_time),
            json!("Completed"),
            json!(true),
            json!(true),
            json!(v.folder),
            json!(v.docstring),
            json!(v.auto_update_schema),
            json!(v.effective_date_time),
            json!(v.lookback),
        ]);
    }
    t
}

/// The answer of an async command: one `OperationId`.
pub fn operation_id(id: &str) -> V1Table {
    let mut t = result_table(&[("OperationId", Guid)]);
    t.push(vec![json!(id)]);
    t
}

/// `.show operations <id>`: the operation's row (none when the id is unknown).
pub fn operations(id: &str, found: Option<(&str, &StoredOperation)>) -> V1Table {
    let mut t = result_table(&[
        ("OperationId", Guid),
        ("Operation", Str),
        ("NodeId", Str),
        ("StartedOn", DateTime),
        ("LastUpdatedOn", DateTime),
        ("Duration", ColumnType::Timespan),
        ("State", Str),
        ("Status", Str),
        ("RootActivityId", Guid),
        ("ShouldRetry", Bool),
        ("Database", Str),
        ("Principal", Str),
        ("User", Str),
        ("AdminEpochStartTime", DateTime),
    ]);
    if let Some((database, op)) = found {
        t.push(vec![
            json!(id),
            json!(op.operation),
            json!(""),
            json!(op.started_on),
            json!(op.started_on),
            json!("00:00:00"),
            json!(op.state),
            json!(op.status),
            json!(id),
            json!(false),
            json!(database),
            json!(""),
            json!(""),
            json!(op.started_on),
        ]);
    }
    t
}

/// `.show functions`, `.show function F` and the result of `.create-or-alter function`:
/// Name, Parameters (`(a:int, b:string)`), Body (braces included), Folder, DocString.
pub fn functions<'a>(functions: impl Iterator<Item = &'a StoredFunction>) -> V1Table {
    let mut t = result_table(&[
        ("Name", Str),
        ("Parameters", Str),
        ("Body", Str),
        ("Folder", Str),
        ("DocString", Str),
    ]);
    for f in functions {
        t.push(vec![
            json!(f.name),
            json!(f.parameters_text()),
            json!(f.body),
            json!(f.folder),
            json!(f.docstring),
        ]);
    }
    t
}

/// Result of `.drop function`: the name of the function dropped.
pub fn function_names(name: Option<&str>) -> V1Table {
    let mut t = result_table(&[("Name", Str)]);
    if let Some(name) = name {
        t.push(vec![json!(name)]);
    }
    t
}

/// `.show database DB schema as csl script`: one `DatabaseSchemaScript` row per command.
pub fn schema_script(commands: Vec<String>) -> V1Table {
    let mut t = result_table(&[("DatabaseSchemaScript", Str)]);
    for command in commands {
        t.push(vec![json!(command)]);
    }
    t
}

/// A mapping with the entity it belongs to.
pub struct MappingRow<'a> {
    /// The mapping.
    pub mapping: &'a Mapping,
    /// Database name.
    pub database: &'a str,
    /// Table name; `None` for database-level mappings.
    pub table: Option<&'a str>,
}

/// Mapping results: Name, Kind, Mapping, LastUpdatedOn, Database, Table.
pub fn mappings<'a>(rows: impl Iterator<Item = MappingRow<'a>>) -> V1Table {
    let mut t = result_table(&[
        ("Name", Str),
        ("Kind", Str),
        ("Mapping", Str),
        ("LastUpdatedOn", DateTime),
        ("Database", Str),
        ("Table", Str),
    ]);
    for r in rows {
        t.push(vec![
            json!(r.mapping.name),
            json!(r.mapping.kind.display_name()),
            json!(r.mapping.mapping),
            json!(r.mapping.last_updated),
            json!(r.database),
            json!(r.table.unwrap_or("")),
        ]);
    }
    t
}

/// One row of a policy result.
pub struct PolicyRow {
    /// `EntityName`: `[db]` or `[db].[table]`.
    pub entity_name: String,
    /// Policy JSON text, `None` when not set.
    pub policy: Option<String>,
    /// `ChildEntities`: JSON array of table names for databases, "" for tables.
    pub child_entities: String,
    /// `Table` or `Database`.
    pub entity_type: &'static str,
}

/// Policy results: PolicyName, EntityName, Policy, ChildEntities, EntityType.
pub fn policies(policy_name: &str, rows: impl Iterator<Item = PolicyRow>) -> V1Table {
    let mut t = result_table(&[
        ("PolicyName", Str),
        ("EntityName", Str),
        ("Policy", Str),
        ("ChildEntities", Str),
        ("EntityType", Str),
    ]);
    for r in rows {
        t.push(vec![
            json!(policy_name),
            json!(r.entity_name),
            json!(r.policy.unwrap_or_else(|| "null".into())),
            json!(r.child_entities),
            json!(r.entity_type),
        ]);
    }
    t
}

/// Principal results: Role, PrincipalType, PrincipalDisplayName, PrincipalObjectId,
/// PrincipalFQN, Notes, RoleAssignmentIdentifier. `role_title` renders the Role column.
pub fn principals<'a, R: Copy + 'a>(
    assignments: impl Iterator<Item = &'a Assignment<R>>,
    role_title: impl Fn(R) -> String,
) -> V1Table {
    let mut t = result_table(&[
        ("Role", Str),
        ("PrincipalType", Str),
        ("PrincipalDisplayName", Str),
        ("PrincipalObjectId", Str),
        ("PrincipalFQN", Str),
        ("Notes", Str),
        ("RoleAssignmentIdentifier", Str),
    ]);
    for a in assignments {
        // Stored FQNs were validated on the way in; fall back to raw text if that ever changes.
        let (kind, object) = match PrincipalName::parse(&a.fqn) {
            Ok(p) => (p.type_name(), directory::object_id(&p)),
            Err(_) => ("", a.fqn.clone()),
        };
        let display = if a.display.is_empty() {
            &object
        } else {
            &a.display
        };
        t.push(vec![
            json!(role_title(a.role)),
            json!(kind),
            json!(display),
            json!(object),
            json!(a.fqn),
            json!(a.notes),
            json!(a.id),
        ]);
    }
    t
}

/// `.execute database script` result columns.
pub fn script() -> V1Table {
    result_table(&[
        ("OperationId", Guid),
        ("CommandType", Str),
        ("CommandText", Str),
        ("Result", Str),
        ("Reason", Str),
    ])
}
