//! The sandbox's whole world: databases, tables, mappings, policies, principals and the rows
//! ingested into tables (held in extents, as Kusto holds them).
//!
//! Plain data with serde so it can be persisted (a snapshot plus a journal of changes, see
//! `store`) and inspected by tests (for example to check that `.alter column` marked a
//! column's data as nulled, which no Kusto result shows).

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::kusto::command::{DatabaseRole, TableRole};
use crate::model::{CachingPolicy, ColumnType, MappingKind, RetentionPolicy, UpdatePolicy};

/// Version of the persisted format, bumped on incompatible changes.
pub const STATE_FORMAT: u32 = 1;

/// Everything the sandbox knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxState {
    /// Persisted format version ([`STATE_FORMAT`]).
    pub format: u32,
    /// Databases by name.
    pub databases: BTreeMap<String, Database>,
    /// The built-in directory's memory: object id -> display name of every user or group
    /// granted by name, so a later grant by object id shows the same name.
    #[serde(default)]
    pub directory: BTreeMap<String, String>,
    /// Queued ingestion failures, oldest first (`.show ingestion failures`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingestion_failures: Vec<IngestionFailure>,
}

impl Default for SandboxState {
    fn default() -> Self {
        SandboxState {
            format: STATE_FORMAT,
            databases: BTreeMap::new(),
            directory: BTreeMap::new(),
            ingestion_failures: Vec::new(),
        }
    }
}

/// One failed ingestion, as `.show ingestion failures` lists it: a queued blob that could not
/// be ingested, or a failed `.ingest inline` command (the service lists the failures of
/// ingestion management commands there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestionFailure {
    /// `OperationId`.
    pub operation_id: String,
    /// Target database.
    pub database: String,
    /// Target table.
    pub table: String,
    /// When it failed (Kusto datetime text).
    pub failed_on: String,
    /// The blob URI without its SAS.
    pub source_path: String,
    /// The ingestion source id (`Id` of the queue message).
    pub source_id: String,
    /// What went wrong.
    pub details: String,
    /// `ErrorCode`.
    pub error_code: String,
    /// Permanent (retrying as is cannot succeed) or transient.
    pub permanent: bool,
    /// `RootActivityId`.
    pub root_activity_id: String,
    /// The principal whose authorization context the message carried ("" if none).
    pub principal: String,
    /// The ingestion properties, as `key=value` pairs.
    pub properties: String,
    /// `OperationKind`: `DataIngestPull` for queued ingestion (the default of state files
    /// written before inline failures were recorded), `DataIngestPush` for `.ingest inline`.
    #[serde(default = "data_ingest_pull")]
    pub operation_kind: String,
}

/// The operation kind of a queued ingestion failure.
fn data_ingest_pull() -> String {
    "DataIngestPull".to_string()
}

/// One database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    /// Stable id reported by `.show databases`.
    pub id: String,
    /// Schema minor version, bumped by every successful change (`.show database schema`).
    pub minor_version: u64,
    /// Tables by name, each shared with the copies of the state until one of them writes it,
    /// and the map itself too: a copy of the state for a command that writes no table (a
    /// function, a view, a database policy) copies no table name either.
    pub tables: Shared<BTreeMap<String, Shared<Table>>>,
    /// Database-level ingestion mappings.
    pub mappings: Vec<Mapping>,
    /// Database-level ingestion batching policy, if set.
    pub batching: Option<BatchingPolicy>,
    /// Database-level streaming ingestion policy, if set.
    pub streaming: Option<StreamingPolicy>,
    /// Database-level retention policy, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// Database-level caching policy, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching: Option<CachingPolicy>,
    /// Database role assignments.
    pub principals: Vec<Assignment<DatabaseRole>>,
    /// Stored functions by name. Absent in state files written before the sandbox held
    /// functions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, StoredFunction>,
    /// Materialized views by name. Absent in state files written before the sandbox held
    /// views.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub materialized_views: BTreeMap<String, StoredView>,
    /// Async operations started in this database (`.create async materialized-view`), by
    /// operation id, for `.show operations <id>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operations: BTreeMap<String, StoredOperation>,
}

/// A materialized view, kept as the service lists it in `.show materialized-views`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredView {
    /// View name.
    pub name: String,
    /// Source table (or materialized view).
    pub source: String,
    /// The query as sent, without its braces.
    pub query: String,
    /// Folder ("" when unset).
    pub folder: String,
    /// Docstring ("" when unset).
    pub docstring: String,
    /// `autoUpdateSchema`.
    pub auto_update_schema: bool,
    /// `lookback`, as Kusto prints timespans (`06:00:00`), if set.
    pub lookback: Option<String>,
    /// When the view started materializing (`EffectiveDateTime`).
    pub effective_date_time: String,
}

/// An async operation and its outcome (the sandbox completes each before answering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOperation {
    /// `Operation` column: e.g. `MaterializedViewCreate`.
    pub operation: String,
    /// When it started and finished.
    pub started_on: String,
    /// `State` column: `Completed` or `Failed`.
    pub state: String,
    /// `Status` column: the failure reason, "" on success.
    pub status: String,
}

/// A stored function, kept as the service keeps it: the body as sent, braces included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFunction {
    /// Function name.
    pub name: String,
    /// Scalar parameters in order.
    pub parameters: Vec<(String, ColumnType)>,
    /// `{ ... }` as sent.
    pub body: String,
    /// Folder ("" when unset).
    pub folder: String,
    /// Docstring ("" when unset).
    pub docstring: String,
}

impl StoredFunction {
    /// `(a:int, b:string)`: the `Parameters` column of `.show functions`.
    pub fn parameters_text(&self) -> String {
        let list: Vec<String> = self
            .parameters
            .iter()
            .map(|(name, ty)| format!("{name}:{}", ty.as_kql()))
            .collect();
        format!("({})", list.join(", "))
    }
}

impl Database {
    /// Everything but the tables (cheap to copy whatever the number of tables).
    pub fn clone_without_tables(&self) -> Database {
        Database {
            id: self.id.clone(),
            minor_version: self.minor_version,
            tables: Shared::default(),
            mappings: self.mappings.clone(),
            batching: self.batching,
            streaming: self.streaming,
            retention: self.retention,
            caching: self.caching.clone(),
            principals: self.principals.clone(),
            functions: self.functions.clone(),
            materialized_views: self.materialized_views.clone(),
            operations: self.operations.clone(),
        }
    }

    /// Whether the database-level settings (not tables, not the version) are the same.
    pub fn same_settings(&self, other: &Database) -> bool {
        self.id == other.id
            && self.mappings == other.mappings
            && self.batching == other.batching
            && self.streaming == other.streaming
            && self.retention == other.retention
            && self.caching == other.caching
            && self.principals == other.principals
            && self.functions == other.functions
            && self.materialized_views == other.materialized_views
            && self.operations == other.operations
    }

    /// Puts back the database-level settings of `saved` (tables and version stay).
    pub fn restore_settings(&mut self, saved: Database) {
        self.id = saved.id;
        self.mappings = saved.mappings;
        self.batching = saved.batching;
        self.streaming = saved.streaming;
        self.retention = saved.retention;
        self.caching = saved.caching;
        self.principals = saved.principals;
        self.functions = saved.functions;
        self.materialized_views = saved.materialized_views;
        self.operations = saved.operations;
    }
}

/// A value shared between copies of the state until one of them writes it (copy on write).
///
/// Every write runs on a copy of what it may change, so that a failed command or a failed
/// persist leaves the state as it was, and what changed is found by comparing the copy with
/// the original. With tables (and their map) held this way a copy of 10,000 tables costs one
/// pointer copy until a table is written, then one copy of the names and 10,000 pointer copies
/// instead of 10,000 deep copies, and the comparison skips every table nobody wrote (same
/// pointer): a script against a large database costs what it changes, not the state's size.
/// Mutable access ([`DerefMut`]) first unshares the value, so no copy ever sees another's write.
#[derive(Debug, Clone, Default)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    /// Holds `value`, not shared yet.
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }

    /// Whether `a` and `b` are one shared value (so equal without looking inside): what lets a
    /// comparison of a state with its copy skip what neither side wrote.
    pub fn same(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl<T: Clone> Shared<T> {
    /// The value, copied only if another copy of the state still shares it.
    pub fn into_inner(self) -> T {
        Arc::unwrap_or_clone(self.0)
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

/// The same allocation is equal without looking inside: that is what makes comparing a copy
/// of the state with its original cost only what was written.
impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Shared::new)
    }
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Docstring ("" when unset).
    pub docstring: String,
    /// Folder ("" when unset).
    pub folder: String,
    /// Table-level ingestion mappings.
    pub mappings: Vec<Mapping>,
    /// Table-level ingestion batching policy, if set.
    pub batching: Option<BatchingPolicy>,
    /// Table-level streaming ingestion policy, if set.
    pub streaming: Option<StreamingPolicy>,
    /// Table-level retention policy, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// Table-level caching policy, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching: Option<CachingPolicy>,
    /// The table's update policy entries as stored (`None` when no policy was ever set or
    /// it was deleted; an empty list when set to `[]`, which `.show` reports as `[]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_policies: Option<Vec<UpdatePolicy>>,
    /// Table role assignments.
    pub principals: Vec<Assignment<TableRole>>,
    /// The table's data shards, oldest first. Absent in state files written before the
    /// sandbox held rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extents: Vec<Extent>,
}

/// One data shard: the rows of one ingestion, with when it happened and its tags.
///
/// An extent keeps values only for the columns it was ingested with, by name: a column added
/// later reads as null in old extents, and a dropped (or retyped) column's values are removed
/// from every extent, so they never come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extent {
    /// `ExtentId`, a lowercase GUID.
    pub id: String,
    /// Ingestion time of every row (Kusto datetime text, 7 fraction digits): what
    /// `ingestion_time()` returns and `.show extents` reports as `MinCreatedOn`/`MaxCreatedOn`.
    pub created_on: String,
    /// Extent tags (`drop-by:...`, `ingest-by:...`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Size of the source data the rows came from, in bytes (`OriginalSize`).
    pub original_size: u64,
    /// Names of the columns `rows` hold values for, in row order.
    pub columns: Vec<String>,
    /// The rows: one cell per entry of `columns`, in the form the v2 query response writes
    /// for the column's type (null for a missing value).
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Extent {
    /// Removes the values of `column` (dropped or retyped): they read as null from now on.
    pub fn forget_column(&mut self, column: &str) {
        if let Some(i) = self.columns.iter().position(|c| c == column) {
            self.columns.remove(i);
            for row in &mut self.rows {
                if i < row.len() {
                    row.remove(i);
                }
            }
        }
    }

    /// The value of `column` in row `row`, null when the extent holds none.
    pub fn cell(&self, row: usize, column: &str) -> serde_json::Value {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.rows.get(row).and_then(|r| r.get(i)))
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Column type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// True once `.alter column` changed the type: data ingested before the change reads as
    /// null (the sandbox also removes those values from the table's extents).
    #[serde(default)]
    pub data_nulled: bool,
}

/// An ingestion mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// Mapping name.
    pub name: String,
    /// Mapping kind.
    pub kind: MappingKind,
    /// Canonical mapping JSON text, as `.show ... ingestion mappings` returns it.
    pub mapping: String,
    /// When it was last created or altered (Kusto datetime text).
    pub last_updated: String,
}

/// Ingestion batching policy values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchingPolicy {
    /// `MaximumBatchingTimeSpan`, in 100 ns ticks.
    pub max_batching_ticks: u64,
    /// `MaximumNumberOfItems`.
    pub max_items: u64,
    /// `MaximumRawDataSizeMB`.
    pub max_raw_size_mb: u64,
}

/// Streaming ingestion policy values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StreamingPolicy {
    /// `IsEnabled`.
    pub is_enabled: bool,
    /// `HintAllocatedRate`.
    pub hint_allocated_rate: Option<f64>,
}

/// A principal holding a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment<R> {
    /// The role.
    pub role: R,
    /// Principal FQN (`aadapp=...;tenant`), as written, with a lowercase prefix.
    pub fqn: String,
    /// Notes given when the role was granted.
    pub notes: String,
    /// `PrincipalDisplayName`, from the directory when the role was granted.
    #[serde(default)]
    pub display: String,
    /// `RoleAssignmentIdentifier`.
    pub id: String,
}

impl Database {
    /// A new, empty database.
    pub fn new(id: String) -> Self {
        Database {
            id,
            minor_version: 0,
            tables: Shared::default(),
            mappings: Vec::new(),
            batching: None,
            streaming: None,
            retention: None,
            caching: None,
            principals: Vec::new(),
            functions: BTreeMap::new(),
            materialized_views: BTreeMap::new(),
            operations: BTreeMap::new(),
        }
    }
}

impl Table {
    /// A new table with columns and no policies.
    pub fn new(name: String, columns: Vec<Column>) -> Self {
        Table {
            name,
            columns,
            docstring: String::new(),
            folder: String::new(),
            mappings: Vec::new(),
            batching: None,
            streaming: None,
            retention: None,
            caching: None,
            update_policies: None,
            principals: Vec::new(),
            extents: Vec::new(),
        }
    }

    /// The column with this exact name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_of_the_state_shares_tables_until_one_side_writes() {
        let mut before = SandboxState::default();
        let mut db = Database::new("id".to_string());
        for name in ["T1", "T2"] {
            db.tables.insert(
                name.to_string(),
                Table::new(name.to_string(), Vec::new()).into(),
            );
        }
        before.databases.insert("db".to_string(), db);
        let mut after = before.clone();
        let map = |s: &SandboxState| Arc::as_ptr(&s.databases["db"].tables.0);
        assert_eq!(map(&before), map(&after), "a copy shares the map of tables");
        let shared = |s: &SandboxState, t: &str| Arc::as_ptr(&s.databases["db"].tables[t].0);
        assert_eq!(shared(&before, "T1"), shared(&after, "T1"));
        if let Some(db) = after.databases.get_mut("db")
            && let Some(t) = db.tables.get_mut("T1")
        {
            t.folder = "f".to_string();
        }
        assert_eq!(
            before.databases["db"].tables["T1"].folder, "",
            "the original is untouched"
        );
        assert_eq!(after.databases["db"].tables["T1"].folder, "f");
        assert_ne!(map(&before), map(&after), "a write unshares the map");
        assert_ne!(shared(&before, "T1"), shared(&after, "T1"));
        assert_eq!(shared(&before, "T2"), shared(&after, "T2"));
        assert_ne!(before, after);
        let mut back = after.clone();
        if let Some(t) = back
            .databases
            .get_mut("db")
            .and_then(|d| d.tables.get_mut("T1"))
        {
            t.folder = String::new();
        }
        assert_eq!(back, before, "equal by value when not by pointer");
        let json = serde_json::to_string(&before).expect("serialize");
        let read: SandboxState = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(read, before, "persisted as the plain table");
    }
}
