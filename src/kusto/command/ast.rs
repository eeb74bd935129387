//! Typed syntax tree of the Kusto control commands kustoplan sends and the sandbox serves.
//!
//! One variant family per documented command; literal values are already decoded (string
//! escapes resolved, adjacent string literals concatenated), but not yet validated
//! semantically (JSON, name rules and ranges are the executor's business, as in Kusto).

use std::borrow::Cow;

use crate::model::{ColumnType, MappingKind, Timespan};

/// A table reference, optionally qualified with its database (`Db.Table`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// Explicit database, if written.
    pub database: Option<String>,
    /// Table name.
    pub table: String,
}

/// `name:type` in a table schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDecl {
    /// Column name.
    pub name: String,
    /// Column type.
    pub ty: ColumnType,
}

/// A `with (key = value)` property; the value is kept as written (strings decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Property name as written.
    pub key: String,
    /// Value text.
    pub value: String,
    /// Whether the value was a string literal (`folder = "x"`) rather than a bare word or
    /// number (`backfill=true`, `lookback=365d`): the service's own scripts use both, and a
    /// printed command keeps the form it was built with.
    pub quoted: bool,
}

impl Property {
    /// A string-literal property (`docstring = "..."`).
    pub fn text(key: &str, value: &str) -> Self {
        Property {
            key: key.to_string(),
            value: value.to_string(),
            quoted: true,
        }
    }

    /// A bare-word or number property (`backfill=true`, `lookback=365d`).
    pub fn bare(key: &str, value: &str) -> Self {
        Property {
            key: key.to_string(),
            value: value.to_string(),
            quoted: false,
        }
    }
}

/// How a table-schema command treats an existing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaVerb {
    /// `.create table`: no-op if the table exists.
    Create,
    /// `.create-merge table`: create, or add missing columns.
    CreateMerge,
    /// `.alter table`: set exactly this column list.
    Alter,
    /// `.alter-merge table`: add missing columns.
    AlterMerge,
}

/// Where a mapping or policy lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityRef {
    /// A table.
    Table(TableRef),
    /// A database by name.
    Database(String),
}

/// How a mapping command treats an existing mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingVerb {
    /// `.create`: fails if it exists.
    Create,
    /// `.create-or-alter`: upsert.
    CreateOrAlter,
    /// `.alter`: fails if missing.
    Alter,
}

/// Policies the sandbox supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// `ingestionbatching`.
    IngestionBatching,
    /// `streamingingestion`.
    StreamingIngestion,
    /// `retention` (also written `softdelete = 365d recoverability = enabled`).
    Retention,
    /// `caching` (written `hot = 7d[, hot_window = datetime(..) .. datetime(..)]`).
    Caching,
    /// `update`: a table's update policy, a JSON array of entries (tables only).
    Update,
}

impl PolicyKind {
    /// The `PolicyName` column value.
    pub fn policy_name(self) -> &'static str {
        match self {
            PolicyKind::IngestionBatching => "IngestionBatchingPolicy",
            PolicyKind::StreamingIngestion => "StreamingIngestionPolicy",
            PolicyKind::Retention => "RetentionPolicy",
            PolicyKind::Caching => "CachingPolicy",
            PolicyKind::Update => "UpdatePolicy",
        }
    }

    /// The keyword used in commands.
    pub fn keyword(self) -> &'static str {
        match self {
            PolicyKind::IngestionBatching => "ingestionbatching",
            PolicyKind::StreamingIngestion => "streamingingestion",
            PolicyKind::Retention => "retention",
            PolicyKind::Caching => "caching",
            PolicyKind::Update => "update",
        }
    }
}

/// The value of an `.alter[-merge] ... policy P` command, in the form it is written: the policy
/// JSON, or one of the documented property forms (which the service's schema script uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyValue {
    /// `'<json>'`: the policy object as JSON text (unvalidated).
    Json(String),
    /// `enable` / `disable`: the streaming ingestion shorthand.
    Switch(bool),
    /// `softdelete = T [recoverability = enabled|disabled]`.
    Retention {
        /// `softdelete`.
        soft_delete: Timespan,
        /// `recoverability`, when written.
        recoverable: Option<bool>,
    },
    /// `hot = T[, hot_window = datetime(A) .. datetime(B)]...` (or `hotdata = T hotindex = T`).
    Caching {
        /// Hot span of the data.
        data: Timespan,
        /// Hot span of the index (the same as `data` when written `hot = T`).
        index: Timespan,
        /// Hot windows, `from` and `to` as normalised instants (`YYYY-MM-DDTHH:MM:SSZ`).
        windows: Vec<(String, String)>,
    },
}

impl PolicyValue {
    /// The policy as JSON text, whatever form it was written in: what the service stores and
    /// `.show ... policy` reports. Borrowed when it was written as JSON (observe reads a policy
    /// of every table this way).
    pub fn to_json(&self) -> Cow<'_, str> {
        match self {
            PolicyValue::Json(text) => Cow::Borrowed(text),
            _ => Cow::Owned(self.property_form_json().to_string()),
        }
    }

    /// The policy as a JSON value: parsed when it was written as JSON, built directly from a
    /// property form (no text in between).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            PolicyValue::Json(text) => serde_json::from_str(text),
            _ => Ok(self.property_form_json()),
        }
    }

    /// The JSON a property form stands for (`Null` for a policy written as JSON, which callers
    /// take as text instead).
    fn property_form_json(&self) -> serde_json::Value {
        match self {
            PolicyValue::Json(_) => serde_json::Value::Null,
            PolicyValue::Switch(enabled) => serde_json::json!({ "IsEnabled": enabled }),
            PolicyValue::Retention {
                soft_delete,
                recoverable,
            } => {
                let mut policy = serde_json::json!({ "SoftDeletePeriod": soft_delete.to_kusto() });
                if let Some(recoverable) = recoverable {
                    policy["Recoverability"] =
                        serde_json::json!(if *recoverable { "Enabled" } else { "Disabled" });
                }
                policy
            }
            PolicyValue::Caching {
                data,
                index,
                windows,
            } => {
                let mut policy = serde_json::json!({
                    "DataHotSpan": { "Value": data.to_kusto() },
                    "IndexHotSpan": { "Value": index.to_kusto() },
                });
                if !windows.is_empty() {
                    policy["HotWindows"] = windows
                        .iter()
                        .map(|(from, to)| serde_json::json!({ "MinValue": from, "MaxValue": to }))
                        .collect();
                }
                policy
            }
        }
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

/// Targets of `.alter ... policy` (`.alter tables (A, B) policy ...` hits several tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTarget {
    /// One or more tables.
    Tables(Vec<TableRef>),
    /// A database.
    Database(String),
}

/// Targets of `.show ... policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyShowTarget {
    /// One table.
    Table(TableRef),
    /// `.show table * policy ...`: every table of the context database.
    AllTables,
    /// A database.
    Database(String),
}

/// Database security roles.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum DatabaseRole {
    /// `admins`
    Admins,
    /// `users`
    Users,
    /// `viewers`
    Viewers,
    /// `unrestrictedviewers`
    UnrestrictedViewers,
    /// `ingestors`
    Ingestors,
    /// `monitors`
    Monitors,
}

impl DatabaseRole {
    /// Parses the role keyword.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "admins" => DatabaseRole::Admins,
            "users" => DatabaseRole::Users,
            "viewers" => DatabaseRole::Viewers,
            "unrestrictedviewers" => DatabaseRole::UnrestrictedViewers,
            "ingestors" => DatabaseRole::Ingestors,
            "monitors" => DatabaseRole::Monitors,
            _ => return None,
        })
    }

    /// Every database role, in the order the docs list them.
    pub const ALL: [DatabaseRole; 6] = [
        DatabaseRole::Admins,
        DatabaseRole::Users,
        DatabaseRole::Viewers,
        DatabaseRole::UnrestrictedViewers,
        DatabaseRole::Ingestors,
        DatabaseRole::Monitors,
    ];

    /// The role keyword used in commands (inverse of [`DatabaseRole::from_keyword`]).
    pub fn keyword(self) -> &'static str {
        match self {
            DatabaseRole::Admins => "admins",
            DatabaseRole::Users => "users",
            DatabaseRole::Viewers => "viewers",
            DatabaseRole::UnrestrictedViewers => "unrestrictedviewers",
            DatabaseRole::Ingestors => "ingestors",
            DatabaseRole::Monitors => "monitors",
        }
    }

    /// Singular title used in the `Role` column (`Database DB Admin`).
    pub fn title(self) -> &'static str {
        match self {
            DatabaseRole::Admins => "Admin",
            DatabaseRole::Users => "User",
            DatabaseRole::Viewers => "Viewer",
            DatabaseRole::UnrestrictedViewers => "UnrestrictedViewer",
            DatabaseRole::Ingestors => "Ingestor",
            DatabaseRole::Monitors => "Monitor",
        }
    }
}

/// Table security roles.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TableRole {
    /// `admins`
    Admins,
    /// `ingestors`
    Ingestors,
}

impl TableRole {
    /// Parses the role keyword.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "admins" => TableRole::Admins,
            "ingestors" => TableRole::Ingestors,
            _ => return None,
        })
    }

    /// Every table role.
    pub const ALL: [TableRole; 2] = [TableRole::Admins, TableRole::Ingestors];

    /// The role keyword used in commands (inverse of [`TableRole::from_keyword`]).
    pub fn keyword(self) -> &'static str {
        match self {
            TableRole::Admins => "admins",
            TableRole::Ingestors => "ingestors",
        }
    }

    /// Singular title used in the `Role` column (`Table T Admin`).
    pub fn title(self) -> &'static str {
        match self {
            TableRole::Admins => "Admin",
            TableRole::Ingestors => "Ingestor",
        }
    }
}

/// `.add`, `.drop` or `.set` of principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalAction {
    /// Add the listed principals.
    Add,
    /// Remove the listed principals.
    Drop,
    /// Replace the role's principals with the list (`none` = empty).
    Set,
}

/// The role a principals command addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleScope {
    /// A database role.
    Database(String, DatabaseRole),
    /// A table role.
    Table(TableRef, TableRole),
}

/// The `with (...)` options of `.show database DB schema as csl script` that change what the
/// sandbox can emit. `IncludeEncodingPolicies` and `ShowObfuscatedStrings` are accepted too, but
/// the sandbox holds neither encoding policies nor credentials, so they change nothing there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaScriptOptions {
    /// `IncludeEncodingPolicies` (default true): accepted and printed, selects nothing here.
    pub include_encoding_policies: bool,
    /// `IncludeSecuritySettings` (default true): database and table principals.
    pub include_security_settings: bool,
    /// `IncludeIngestionMappings` (default true): table ingestion mappings.
    pub include_ingestion_mappings: bool,
}

impl Default for SchemaScriptOptions {
    fn default() -> Self {
        SchemaScriptOptions {
            include_encoding_policies: true,
            include_security_settings: true,
            include_ingestion_mappings: true,
        }
    }
}

/// How a tag filter of `.show table T extents where tags ...` matches an extent's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOp {
    /// `has`: some tag equals the value.
    Has,
    /// `!has`: no tag equals the value.
    NotHas,
    /// `contains`: some tag contains the value, ignoring case.
    Contains,
    /// `!contains`: no tag contains the value, ignoring case.
    NotContains,
}

/// One `tags OP 'value'` condition; an extent must satisfy all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// The comparison.
    pub op: TagOp,
    /// The tag text.
    pub tag: String,
}

/// Which extents of a table `.drop extents` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtentSelection {
    /// `.drop extents from T`: every extent.
    All,
    /// `.drop extents (id, ...) from T`: these extent ids.
    Ids(Vec<String>),
    /// `.drop extents <| .show table T extents where tags ...`: the extents the filters keep.
    Tags(Vec<TagFilter>),
}

/// The metadata of a materialized view that has its own `.alter` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMetadata {
    /// `docstring`
    DocString,
    /// `folder`
    Folder,
}

/// One `NewName = OldName [ifexists]` pair of `.rename tables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRename {
    /// The name the table gets.
    pub to: String,
    /// The table's current name.
    pub from: String,
    /// `ifexists`: skip this pair when `from` does not exist instead of failing the command.
    pub if_exists: bool,
}

/// One command of an `.execute database script`, with its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCommand {
    /// The command text as written in the script (trimmed, comments between commands removed).
    pub text: String,
    /// The parsed command.
    pub command: Command,
}

/// A parsed control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `.show version`
    ShowVersion,
    /// `.show databases`
    ShowDatabases,
    /// `.show tables`
    ShowTables,
    /// `.show database DB schema as json`
    ShowDatabaseSchemaJson {
        /// Database.
        database: String,
    },
    /// `.show database DB schema as csl script [with (...)]`: one row per command that
    /// recreates the database (observe reads policies and table principals from it).
    ShowDatabaseSchemaScript {
        /// Database.
        database: String,
        /// What the script includes.
        options: SchemaScriptOptions,
    },
    /// `.show table T schema as json`
    ShowTableSchemaJson {
        /// Table.
        table: TableRef,
    },
    /// `.create|.create-merge|.alter|.alter-merge table T (cols) [with (...)]`
    TableSchema {
        /// Which of the four verbs.
        verb: SchemaVerb,
        /// Table.
        table: TableRef,
        /// Columns in order.
        columns: Vec<ColumnDecl>,
        /// `with (docstring=..., folder=...)`.
        properties: Vec<Property>,
    },
    /// `.alter column [DB.]T.C type = X`
    AlterColumnType {
        /// Table.
        table: TableRef,
        /// Column.
        column: String,
        /// New type.
        ty: ColumnType,
    },
    /// `.drop column T.C [ifexists]`
    DropColumn {
        /// Table.
        table: TableRef,
        /// Column.
        column: String,
        /// Do not fail if the column is missing.
        if_exists: bool,
    },
    /// `.drop table T [ifexists]`
    DropTable {
        /// Table.
        table: TableRef,
        /// Do not fail if the table is missing.
        if_exists: bool,
    },
    /// `.rename table Old to New`: fails when `Old` is missing or `New` exists, so it is
    /// Kusto's one atomic compare-and-swap on names (the live-system apply lease relies on it).
    RenameTable {
        /// The table's current name (never database-qualified).
        from: String,
        /// The new name (never database-qualified).
        to: String,
    },
    /// `.rename column [Db.]T.Old to New`: the column keeps its type, data and position;
    /// fails when `Old` is missing or `New` exists. How a `renamed_from` column is applied.
    RenameColumn {
        /// Table.
        table: TableRef,
        /// The column's current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `.rename tables New=Old [ifexists], ...`: every pair in one transaction; the number of
    /// tables must not change, so names may be swapped but never collide.
    RenameTables {
        /// The pairs, in order written.
        renames: Vec<TableRename>,
    },
    /// `.alter table T docstring "..."`
    AlterDocString {
        /// Table.
        table: TableRef,
        /// New docstring.
        docstring: String,
    },
    /// `.alter table T folder "..."`
    AlterFolder {
        /// Table.
        table: TableRef,
        /// New folder.
        folder: String,
    },
    /// `.create|.create-or-alter|.alter table|database X ingestion K mapping 'name' '<json>'`
    SetMapping {
        /// Upsert semantics.
        verb: MappingVerb,
        /// Table or database.
        entity: EntityRef,
        /// Mapping kind.
        kind: MappingKind,
        /// Mapping name.
        name: String,
        /// Mapping JSON text (unvalidated).
        json: String,
    },
    /// `.drop table|database X ingestion K mapping 'name'`
    DropMapping {
        /// Table or database.
        entity: EntityRef,
        /// Mapping kind.
        kind: MappingKind,
        /// Mapping name.
        name: String,
    },
    /// `.show table|database X ingestion [K] mappings` or `... K mapping 'name'`
    ShowMappings {
        /// Table or database.
        entity: EntityRef,
        /// Restrict to one kind.
        kind: Option<MappingKind>,
        /// Restrict to one name.
        name: Option<String>,
    },
    /// `.alter[-merge] table|tables|database ... policy P '<json>'` (or, for streaming ingestion,
    /// `enable|disable`, read as the JSON `{"IsEnabled":true|false}`; for retention,
    /// `softdelete = T [recoverability = enabled|disabled]`; for caching, `hot = T[,
    /// hot_window = datetime(A) .. datetime(B)]...`: each read as the policy JSON)
    AlterPolicy {
        /// `.alter-merge` keeps omitted fields; `.alter` resets them to defaults.
        merge: bool,
        /// Target entities.
        target: PolicyTarget,
        /// Policy.
        policy: PolicyKind,
        /// The policy, as written.
        value: PolicyValue,
    },
    /// `.delete table|database X policy P`
    DeletePolicy {
        /// Table or database.
        entity: EntityRef,
        /// Policy.
        policy: PolicyKind,
    },
    /// `.show table T|*|database DB policy P`
    ShowPolicy {
        /// Target.
        target: PolicyShowTarget,
        /// Policy.
        policy: PolicyKind,
    },
    /// `.add|.drop|.set database|table X role (principals) [skip-results] ['notes']`
    Principals {
        /// Add, drop or set.
        action: PrincipalAction,
        /// Role addressed.
        scope: RoleScope,
        /// Principal FQNs as written (`.set ... none` gives an empty list).
        principals: Vec<String>,
        /// Suppress the result table.
        skip_results: bool,
        /// Optional notes.
        notes: Option<String>,
    },
    /// `.show database DB principals`
    ShowDatabasePrincipals {
        /// Database.
        database: String,
    },
    /// `.show table T principals`
    ShowTablePrincipals {
        /// Table.
        table: TableRef,
    },
    /// `.show table T extents [hot] [where tags has|!has|contains|!contains 'x' [and ...]]`
    ShowExtents {
        /// Table.
        table: TableRef,
        /// Tag conditions, all of which must hold.
        tags: Vec<TagFilter>,
    },
    /// `.drop extents [whatif] <| .show table T extents ...`, `.drop extents (ids) from T`,
    /// `.drop extent id from T` or `.drop extents from T`
    DropExtents {
        /// Table.
        table: TableRef,
        /// Which extents.
        selection: ExtentSelection,
        /// `whatif`: report the extents without dropping them.
        what_if: bool,
    },
    /// `.delete table T records [with (whatif=true)] <| T | where ...`: soft delete of the
    /// rows the predicate query returns (how canary rows ingested through a connector, which
    /// cannot tag them, are removed again).
    DeleteRecords {
        /// Table.
        table: TableRef,
        /// `whatif=true`: count the matching rows without deleting them.
        what_if: bool,
        /// The predicate query after `<|`, verbatim.
        predicate: String,
    },
    /// `.ingest inline into table T [with (...)] <| data`
    IngestInline {
        /// Table.
        table: TableRef,
        /// Ingestion properties, as written.
        properties: Vec<Property>,
        /// Everything after `<|`, verbatim.
        data: String,
    },
    /// `.get ingestion resources`: the storage queues and containers of queued ingestion.
    GetIngestionResources,
    /// `.get kusto identity token`: the authorization context queued ingestion messages carry.
    GetKustoIdentityToken,
    /// `.show ingestion failures`: failures of queued ingestion.
    ShowIngestionFailures,
    /// `.create-or-alter function [with (...)] F(p:type, ...) { body }`
    CreateOrAlterFunction {
        /// Function name.
        name: String,
        /// Scalar parameters in order.
        parameters: Vec<ColumnDecl>,
        /// The text between the braces, verbatim.
        body: String,
        /// `with (docstring=..., folder=..., skipvalidation=...)`.
        properties: Vec<Property>,
    },
    /// `.drop function F [ifexists]`
    DropFunction {
        /// Function name.
        name: String,
        /// Do not fail if the function is missing.
        if_exists: bool,
    },
    /// `.show functions`
    ShowFunctions,
    /// `.show function F`
    ShowFunction {
        /// Function name.
        name: String,
    },
    /// `.create [async] [ifnotexists] materialized-view [with (...)] V on table T { query }`
    /// (or `.create-or-alter materialized-view ...`).
    CreateMaterializedView {
        /// `async`: answer with an operation id at once (required for `backfill=true`).
        is_async: bool,
        /// `ifnotexists`: succeed without change when the view exists.
        if_not_exists: bool,
        /// `.create-or-alter`: alter the view when it exists.
        or_alter: bool,
        /// View name.
        name: String,
        /// Source table (or materialized view).
        source: String,
        /// Whether the source is written `on table` or `on materialized-view`.
        source_kind: ViewSource,
        /// The text between the braces, verbatim.
        query: String,
        /// `with (backfill=..., lookback=..., autoUpdateSchema=..., folder=..., docString=...)`.
        properties: Vec<Property>,
    },
    /// `.alter materialized-view [with (...)] V on table T { query }`
    AlterMaterializedView {
        /// View name.
        name: String,
        /// Source table (must be the view's own).
        source: String,
        /// Whether the source is written `on table` or `on materialized-view`.
        source_kind: ViewSource,
        /// The text between the braces, verbatim.
        query: String,
        /// `with (lookback=..., autoUpdateSchema=..., folder=..., docString=...)`.
        properties: Vec<Property>,
    },
    /// `.alter materialized-view V docstring "text"` or `... folder "text"`
    AlterMaterializedViewMetadata {
        /// View name.
        name: String,
        /// Which of the two is set.
        field: ViewMetadata,
        /// The new text.
        value: String,
    },
    /// `.drop materialized-view V [ifexists]`
    DropMaterializedView {
        /// View name.
        name: String,
        /// Do not fail if the view is missing.
        if_exists: bool,
    },
    /// `.rename materialized-view Old to New`
    RenameMaterializedView {
        /// Current name.
        from: String,
        /// New name.
        to: String,
    },
    /// `.show materialized-views`
    ShowMaterializedViews,
    /// `.show materialized-view V`
    ShowMaterializedView {
        /// View name.
        name: String,
    },
    /// `.show operations <id>`
    ShowOperation {
        /// The operation id (a GUID, lower-cased).
        id: String,
    },
    /// `.execute database script [with (...)] <| commands`
    ExecuteScript {
        /// `ContinueOnErrors` (default false).
        continue_on_errors: bool,
        /// `ThrowOnErrors` (default false).
        throw_on_errors: bool,
        /// The commands, in order.
        commands: Vec<ScriptCommand>,
    },
}

impl Command {
    /// True for commands that never change state (`.show ...`).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::ShowVersion
                | Command::ShowDatabases
                | Command::ShowTables
                | Command::ShowDatabaseSchemaJson { .. }
                | Command::ShowDatabaseSchemaScript { .. }
                | Command::ShowTableSchemaJson { .. }
                | Command::ShowMappings { .. }
                | Command::ShowPolicy { .. }
                | Command::ShowDatabasePrincipals { .. }
                | Command::ShowTablePrincipals { .. }
                | Command::ShowExtents { .. }
                | Command::GetIngestionResources
                | Command::GetKustoIdentityToken
                | Command::ShowIngestionFailures
                | Command::ShowFunctions
                | Command::ShowFunction { .. }
                | Command::ShowMaterializedViews
                | Command::ShowMaterializedView { .. }
                | Command::ShowOperation { .. }
        )
    }

    /// The `CommandType` reported by `.execute database script` for this command.
    pub fn command_type(&self) -> &'static str {
        match self {
            Command::ShowVersion => "VersionShow",
            Command::ShowDatabases => "DatabasesShow",
            Command::ShowTables => "TablesShow",
            Command::ShowDatabaseSchemaJson { .. } | Command::ShowDatabaseSchemaScript { .. } => {
                "DatabaseSchemaShow"
            }
            Command::ShowTableSchemaJson { .. } => "TableSchemaShow",
            Command::TableSchema { verb, .. } => match verb {
                SchemaVerb::Create | SchemaVerb::CreateMerge => "TableCreate",
                SchemaVerb::Alter => "TableAlter",
                SchemaVerb::AlterMerge => "TableAlterMerge",
            },
            Command::AlterColumnType { .. } => "ColumnTypeAlter",
            Command::DropColumn { .. } => "ColumnDrop",
            Command::DropTable { .. } => "TableDrop",
            Command::RenameTable { .. } => "TableRename",
            Command::RenameTables { .. } => "TablesRename",
            Command::RenameColumn { .. } => "ColumnRename",
            Command::AlterDocString { .. } => "TableDocStringAlter",
            Command::AlterFolder { .. } => "TableFolderAlter",
            Command::SetMapping { verb, .. } => match verb {
                MappingVerb::Create => "IngestionMappingCreate",
                MappingVerb::CreateOrAlter => "IngestionMappingCreateOrAlter",
                MappingVerb::Alter => "IngestionMappingAlter",
            },
            Command::DropMapping { .. } => "IngestionMappingDrop",
            Command::ShowMappings { .. } => "IngestionMappingShow",
            Command::AlterPolicy { policy, .. } => match policy {
                PolicyKind::IngestionBatching => "IngestionBatchingPolicyAlter",
                PolicyKind::StreamingIngestion => "StreamingIngestionPolicyAlter",
                PolicyKind::Retention => "RetentionPolicyAlter",
                PolicyKind::Caching => "CachingPolicyAlter",
                PolicyKind::Update => "UpdatePolicyAlter",
            },
            Command::DeletePolicy { policy, .. } => match policy {
                PolicyKind::IngestionBatching => "IngestionBatchingPolicyDelete",
                PolicyKind::StreamingIngestion => "StreamingIngestionPolicyDelete",
                PolicyKind::Retention => "RetentionPolicyDelete",
                PolicyKind::Caching => "CachingPolicyDelete",
                PolicyKind::Update => "UpdatePolicyDelete",
            },
            Command::ShowPolicy { .. } => "PolicyShow",
            Command::Principals { action, scope, .. } => match (scope, action) {
                (RoleScope::Database(..), PrincipalAction::Add) => "DatabasePrincipalsAdd",
                (RoleScope::Database(..), PrincipalAction::Drop) => "DatabasePrincipalsDrop",
                (RoleScope::Database(..), PrincipalAction::Set) => "DatabasePrincipalsSet",
                (RoleScope::Table(..), PrincipalAction::Add) => "TablePrincipalsAdd",
                (RoleScope::Table(..), PrincipalAction::Drop) => "TablePrincipalsDrop",
                (RoleScope::Table(..), PrincipalAction::Set) => "TablePrincipalsSet",
            },
            Command::ShowDatabasePrincipals { .. } => "DatabasePrincipalsShow",
            Command::ShowTablePrincipals { .. } => "TablePrincipalsShow",
            Command::ShowExtents { .. } => "ExtentsShow",
            Command::DropExtents { .. } => "ExtentsDrop",
            Command::DeleteRecords { .. } => "TableRecordsDelete",
            Command::IngestInline { .. } => "DataIngestPush",
            Command::GetIngestionResources => "IngestionResourcesGet",
            Command::GetKustoIdentityToken => "KustoIdentityTokenGet",
            Command::ShowIngestionFailures => "IngestionFailuresShow",
            Command::ExecuteScript { .. } => "DatabaseScriptExecute",
            Command::CreateOrAlterFunction { .. } => "FunctionCreateOrAlter",
            Command::DropFunction { .. } => "FunctionDrop",
            Command::ShowFunctions | Command::ShowFunction { .. } => "FunctionsShow",
            Command::CreateMaterializedView { or_alter: true, .. } => {
                "MaterializedViewCreateOrAlter"
            }
            Command::CreateMaterializedView { .. } => "MaterializedViewCreate",
            Command::AlterMaterializedView { .. } => "MaterializedViewAlter",
            Command::AlterMaterializedViewMetadata { field, .. } => match field {
                ViewMetadata::DocString => "MaterializedViewAlterDocString",
                ViewMetadata::Folder => "MaterializedViewAlterFolder",
            },
            Command::DropMaterializedView { .. } => "MaterializedViewDrop",
            Command::RenameMaterializedView { .. } => "MaterializedViewRename",
            Command::ShowMaterializedViews | Command::ShowMaterializedView { .. } => {
                "MaterializedViewsShow"
            }
            Command::ShowOperation { .. } => "OperationsShow",
        }
    }
}
