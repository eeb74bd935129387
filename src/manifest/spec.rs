//! The manifest language: one struct per document kind.
//!
//! These types are the single source of truth for the YAML format: the JSON Schema under
//! `schemas/` is generated from them (doc comments become descriptions), the structural check of
//! every document runs against that schema, and typed values are read into them. Semantic rules
//! live in [`super::validate`].

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::located::Located;
pub use crate::model::auth::{AuthMethod, SecretRef};
pub use crate::model::kafka_target::{KafkaProtocol, SaslMechanism};
use crate::model::sink::{OnError, SinkAuthStrategy, Tolerance};
pub use crate::model::{ConnectManager, ImpactClass};

/// Any manifest document; the `kind` key says which. Used to generate the schema editors use.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "kustoplan manifest document")]
pub enum Document {
    /// `kind: Stack`
    Stack(StackDoc),
    /// `kind: Database`
    Database(DatabaseDoc),
    /// `kind: Table`
    Table(TableDoc),
    /// `kind: Topic`
    Topic(TopicDoc),
    /// `kind: Sink`
    Sink(SinkDoc),
    /// `kind: Function`
    Function(FunctionDoc),
    /// `kind: MaterializedView`
    MaterializedView(MaterializedViewDoc),
}

macro_rules! kind_tag {
    ($name:ident, $variant:ident) => {
        /// The document kind tag.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
        pub enum $name {
            /// The only value.
            $variant,
        }
    };
}

kind_tag!(StackKind, Stack);
kind_tag!(DatabaseKind, Database);
kind_tag!(TableKind, Table);
kind_tag!(TopicKind, Topic);
kind_tag!(SinkKind, Sink);
kind_tag!(FunctionKind, Function);
kind_tag!(MaterializedViewKind, MaterializedView);

/// The stack: its name, where it deploys (per environment through variables), and its safety
/// settings. At most one per stack; without one, the stack targets the built-in local sandbox.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackDoc {
    /// Always `Stack`.
    pub kind: StackKind,
    /// Stack name; also the ownership marker written into the objects this stack manages.
    pub name: Located<String>,
    /// Free text for humans.
    #[serde(default)]
    pub description: Option<String>,
    /// Variables usable as `${var.NAME}` in any string of any document of the stack.
    #[serde(default)]
    pub vars: BTreeMap<String, Located<VarValue>>,
    /// Per-environment variable values (`--env NAME`), overriding `vars`.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// The environment used when `--env` is not given.
    #[serde(default)]
    pub default_environment: Option<Located<String>>,
    /// Where the stack deploys.
    #[serde(default)]
    pub targets: Targets,
    /// What `apply` may do without an explicit flag.
    #[serde(default)]
    pub safety: Safety,
}

/// A variable value: a string, number or boolean.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VarValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A string.
    Str(String),
}

/// One environment (dev, prod, ...).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Variable values for this environment.
    #[serde(default)]
    pub vars: BTreeMap<String, Located<VarValue>>,
}

/// The three systems a stack converges.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The Kusto (Azure Data Explorer) cluster.
    #[serde(default)]
    pub kusto: Option<KustoTarget>,
    /// The Kafka cluster holding the routed topics.
    #[serde(default)]
    pub kafka: Option<KafkaTarget>,
    /// Kafka Connect clusters by name; sinks pick one with `connect:`.
    #[serde(default)]
    pub connect: BTreeMap<String, ConnectTarget>,
}

/// A Kusto cluster and how to authenticate to it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KustoTarget {
    /// Engine (query/management) URL, e.g. `https://mycluster.westeurope.kusto.windows.net`, or
    /// `sandbox` for the built-in local sandbox.
    pub cluster: Located<String>,
    /// Data ingestion URL (`https://ingest-mycluster...`), used by sink connectors. Derived from
    /// `cluster` by adding the `ingest-` prefix when omitted.
    #[serde(default)]
    pub ingest: Option<Located<String>>,
    /// How kustoplan gets an AAD token for the cluster.
    #[serde(default)]
    pub auth: AadAuth,
}

/// AAD (Entra ID) authentication for kustoplan itself, not for the connectors: `kusto.auth`
/// for the Kusto cluster and `kafka.security.auth` for Event Hubs' Kafka endpoint
/// (SASL/OAUTHBEARER). One shape and one set of rules for both, so a stack signs in to both
/// systems the same way and with no stored secret.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AadAuth {
    /// Which credential to use.
    #[serde(default)]
    pub method: Located<AuthMethod>,
    /// AAD tenant id (required for `workload_identity` and `client_secret`).
    #[serde(default)]
    pub tenant_id: Option<Located<String>>,
    /// Application (client) id (required for `workload_identity` and `client_secret`; optional
    /// user-assigned identity for `managed_identity`).
    #[serde(default)]
    pub client_id: Option<Located<String>>,
    /// The client secret, by reference: `{env: NAME}`. Only for `client_secret`.
    #[serde(default)]
    pub client_secret: Option<Located<SecretRef>>,
    /// File holding the federated token (workload identity); defaults to `AZURE_FEDERATED_TOKEN_FILE`.
    #[serde(default)]
    pub token_file: Option<String>,
}

/// A Kafka cluster.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTarget {
    /// `host:port` list, or `sandbox` for the built-in local sandbox.
    pub bootstrap_servers: Located<String>,
    /// Client security settings.
    #[serde(default)]
    pub security: KafkaSecurity,
    /// Extra librdkafka client properties (no secrets: use `security`).
    #[serde(default)]
    pub properties: BTreeMap<String, Located<ConfigValue>>,
}

/// Kafka client security.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSecurity {
    /// `security.protocol`.
    #[serde(default)]
    pub protocol: KafkaProtocol,
    /// `sasl.mechanism`, for the SASL protocols.
    #[serde(default)]
    pub sasl_mechanism: Option<Located<SaslMechanism>>,
    /// SASL user name (PLAIN and SCRAM).
    #[serde(default)]
    pub username: Option<Located<String>>,
    /// SASL password (PLAIN and SCRAM), by reference: `{env: NAME}`.
    #[serde(default)]
    pub password: Option<Located<SecretRef>>,
    /// CA certificate file for TLS.
    #[serde(default)]
    pub ca_location: Option<String>,
    /// Where kustoplan's OAUTHBEARER tokens come from (required with `sasl_mechanism:
    /// OAUTHBEARER` on a SASL protocol): an Entra ID credential, as in `kusto.auth`, so Event
    /// Hubs' Kafka endpoint needs no stored secret. Only kustoplan's own clients use it; the
    /// Connect worker signs in with its own configuration (README, "Event Hubs without
    /// secrets").
    #[serde(default)]
    pub auth: Option<Box<AadAuth>>,
    /// The OAUTHBEARER token scope; defaults to `https://HOST/.default` for the host of the
    /// first bootstrap server, Event Hubs' scope (`mynamespace.servicebus.windows.net:9093`
    /// gives `https://mynamespace.servicebus.windows.net/.default`).
    #[serde(default)]
    pub scope: Option<Located<String>>,
}

/// A Kafka Connect cluster's REST endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectTarget {
    /// REST URL, e.g. `http://connect:8083`, or `sandbox` for the built-in local sandbox.
    pub url: Located<String>,
    /// HTTP basic authentication user.
    #[serde(default)]
    pub username: Option<String>,
    /// HTTP basic authentication password, by reference: `{env: NAME}`.
    #[serde(default)]
    pub password: Option<Located<SecretRef>>,
    /// Who writes this cluster's connectors: `kustoplan` (the REST API), `strimzi` (the
    /// Cluster Operator, from KafkaConnector resources) or `external` (another tool). kustoplan
    /// still plans, checks, verifies and imports the connectors of a cluster it does not
    /// manage, but `apply` refuses to write them: the operator would revert or delete them.
    #[serde(default)]
    pub managed_by: ConnectManager,
    /// For `managed_by: strimzi`: the name of the `KafkaConnect` resource, which
    /// `kustoplan export strimzi` puts in each KafkaConnector's `strimzi.io/cluster` label
    /// (default: this cluster's name in `targets.connect`).
    #[serde(default)]
    pub strimzi_cluster: Option<Located<String>>,
}

/// What apply may do without an explicit command-line flag.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// Impact classes apply may carry out: `restart` (connector rebalances) and `data-loss`
    /// (drops, retypes). Safe changes are always allowed.
    #[serde(default)]
    pub allow: Vec<ImpactClass>,
    /// Delete live objects that carry this stack's ownership marker but are no longer declared.
    #[serde(default)]
    pub prune: bool,
}

/// A Kusto database: database-level policies and principals. The database itself must exist
/// (Kusto databases are created in Azure, not by control commands).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseDoc {
    /// Always `Database`.
    pub kind: DatabaseKind,
    /// Database name.
    pub name: Located<String>,
    /// Database-level ingestion batching policy (tables without their own inherit it).
    #[serde(default)]
    pub ingestion_batching: Option<Located<BatchingSpec>>,
    /// Database-level streaming ingestion policy: tables without their own policy follow it.
    #[serde(default)]
    pub streaming_ingestion: Option<Located<bool>>,
    /// Database-level retention policy (tables without their own follow it). Not declared:
    /// left as it is.
    #[serde(default)]
    pub retention: Option<Located<RetentionSpec>>,
    /// Database-level caching policy (tables without their own follow it). Not declared: left
    /// as it is.
    #[serde(default)]
    pub caching: Option<Located<CachingSpec>>,
    /// Principals per database role.
    #[serde(default)]
    pub principals: DatabaseRoles,
}

/// Principals in each database role.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseRoles {
    /// Full control of the database.
    #[serde(default)]
    pub admins: Option<Vec<Located<PrincipalSpec>>>,
    /// View the database and create objects.
    #[serde(default)]
    pub users: Option<Vec<Located<PrincipalSpec>>>,
    /// Query the database.
    #[serde(default)]
    pub viewers: Option<Vec<Located<PrincipalSpec>>>,
    /// Query even restricted tables.
    #[serde(default)]
    pub unrestrictedviewers: Option<Vec<Located<PrincipalSpec>>>,
    /// Ingest into any table (what sink connectors need).
    #[serde(default)]
    pub ingestors: Option<Vec<Located<PrincipalSpec>>>,
    /// View metadata.
    #[serde(default)]
    pub monitors: Option<Vec<Located<PrincipalSpec>>>,
}

impl DatabaseRoles {
    /// Every role with its principals, in a fixed order.
    pub fn roles(&self) -> [(&'static str, &[Located<PrincipalSpec>]); 6] {
        self.listed()
            .map(|(role, list)| (role, list.unwrap_or(&[])))
    }

    /// Every role with its principals when the manifest lists the role (even as `[]`): a listed
    /// role is the exact set of its principals, an unlisted one is left as it is.
    pub fn listed(&self) -> [(&'static str, Option<&[Located<PrincipalSpec>]>); 6] {
        [
            ("admins", self.admins.as_deref()),
            ("users", self.users.as_deref()),
            ("viewers", self.viewers.as_deref()),
            ("unrestrictedviewers", self.unrestrictedviewers.as_deref()),
            ("ingestors", self.ingestors.as_deref()),
            ("monitors", self.monitors.as_deref()),
        ]
    }
}

/// Principals in each table role.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableRoles {
    /// Full control of the table.
    #[serde(default)]
    pub admins: Option<Vec<Located<PrincipalSpec>>>,
    /// Ingest into the table.
    #[serde(default)]
    pub ingestors: Option<Vec<Located<PrincipalSpec>>>,
}

impl TableRoles {
    /// Every role with its principals, in a fixed order.
    pub fn roles(&self) -> [(&'static str, &[Located<PrincipalSpec>]); 2] {
        self.listed()
            .map(|(role, list)| (role, list.unwrap_or(&[])))
    }

    /// Every role with its principals when the manifest lists the role (even as `[]`): a listed
    /// role is the exact set of its principals, an unlisted one is left as it is.
    pub fn listed(&self) -> [(&'static str, Option<&[Located<PrincipalSpec>]>); 2] {
        [
            ("admins", self.admins.as_deref()),
            ("ingestors", self.ingestors.as_deref()),
        ]
    }
}

/// An AAD principal: exactly one of `app`, `user`, `group`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    /// Application (client) id of an AAD app / service principal.
    #[serde(default)]
    pub app: Option<String>,
    /// User principal name or object id.
    #[serde(default)]
    pub user: Option<String>,
    /// Group name or object id.
    #[serde(default)]
    pub group: Option<String>,
    /// Tenant id (recommended: tenant ids, not domain names, compare without a lookup).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Kusto's role-assignment notes (e.g. `AAD App`).
    #[serde(default)]
    pub notes: Option<String>,
}

/// An ingestion batching policy; omitted values take Kusto's defaults (5m, 500 items, 1024 MB).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchingSpec {
    /// `MaximumBatchingTimeSpan`: `10s`..`30m` (also `00:00:10`).
    #[serde(default)]
    pub max_time: Option<Located<String>>,
    /// `MaximumNumberOfItems`: 1..25000.
    #[serde(default)]
    pub max_items: Option<Located<u64>>,
    /// `MaximumRawDataSizeMB`: 100..4096.
    #[serde(default)]
    pub max_raw_size_mb: Option<Located<u64>>,
}

/// A retention policy: how long data is kept after ingestion.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// `SoftDeletePeriod`: data older than this is deleted, e.g. `365d` (1s..365000d).
    pub soft_delete: Located<String>,
    /// `Recoverability`: whether deleted data can be recovered for 14 days (default enabled).
    #[serde(default)]
    pub recoverability: Option<Located<Recoverability>>,
}

/// `Recoverability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recoverability {
    /// Deleted data can be recovered for 14 days.
    Enabled,
    /// Deleted data is gone at once.
    Disabled,
}

/// A caching policy: how much recent data stays in the hot cache.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CachingSpec {
    /// Data ingested within this span is kept hot, e.g. `7d` (0s..365000d).
    pub hot: Located<String>,
    /// Extra periods kept hot, e.g. `{from: 2026-01-01, to: 2026-02-01}`.
    #[serde(default)]
    pub hot_windows: Vec<HotWindowSpec>,
}

/// A hot window of a caching policy.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HotWindowSpec {
    /// Start: a date (`2026-01-01`) or a UTC instant (`2026-01-01T06:00:00Z`).
    pub from: Located<String>,
    /// End, after the start, in the same forms.
    pub to: Located<String>,
}

/// A Kusto table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableDoc {
    /// Always `Table`.
    pub kind: TableKind,
    /// Table name.
    pub name: Located<String>,
    /// Database; may be omitted when the stack declares exactly one.
    #[serde(default)]
    pub database: Option<Located<String>>,
    /// The table's previous name. While a table of that name exists in the database and none
    /// of the new name does, the plan renames it (`.rename table`): its data, mappings,
    /// policies and principals move with it, and the rest of the table's changes plan on top.
    /// Queries and functions that use the old name fail afterwards, so the rename is
    /// `restart`-class. Once the old table is gone the field changes nothing and can be
    /// removed; both names existing, or neither, is a plan error.
    #[serde(default)]
    pub renamed_from: Option<Located<String>>,
    /// Table docstring.
    #[serde(default)]
    pub docstring: Option<String>,
    /// Table folder (UI grouping).
    #[serde(default)]
    pub folder: Option<String>,
    /// Columns in order.
    pub columns: Vec<ColumnSpec>,
    /// Ingestion mappings of this table.
    #[serde(default)]
    pub mappings: Vec<MappingSpec>,
    /// Table-level ingestion batching policy.
    #[serde(default)]
    pub ingestion_batching: Option<Located<BatchingSpec>>,
    /// Table-level streaming ingestion policy, which overrides the database's: `true` enables,
    /// `false` writes an explicit disabling policy (so the table stays off in a database that
    /// streams), absent follows the database.
    #[serde(default)]
    pub streaming_ingestion: Option<Located<bool>>,
    /// Table-level retention policy, which overrides the database's. Not declared: left as it
    /// is.
    #[serde(default)]
    pub retention: Option<Located<RetentionSpec>>,
    /// Table-level caching policy, which overrides the database's. Not declared: left as it
    /// is.
    #[serde(default)]
    pub caching: Option<Located<CachingSpec>>,
    /// The table's update policy: queries that run over each ingestion into a source table
    /// and append their output to this table. Not declared: left as it is (removed only when
    /// pruning a table this stack owns); an empty list removes the live one. Plans set the
    /// whole policy after the functions its queries call; setting one on a table without
    /// one is `safe`, changing or removing one `data-loss` (rows land differently or stop
    /// landing). A plan is refused when a source table is neither declared nor live, when
    /// the tables' policies form a cycle, or when the cluster's `<query> | getschema` (asked
    /// when the source table exists) differs from this table's columns.
    #[serde(default)]
    pub update_policies: Option<Located<Vec<UpdatePolicySpec>>>,
    /// Principals per table role.
    #[serde(default)]
    pub principals: TableRoles,
}

/// One entry of a table's update policy (this table is the target).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicySpec {
    /// `Source`: the table (of the same database, declared or live) whose ingestions run the
    /// query.
    pub source: Located<String>,
    /// `Query`: a query over the source table, or a call of a stored function such as
    /// `ParseRaw()`. Its output columns must be this table's, in order, with the same types.
    pub query: Located<String>,
    /// `IsTransactional`: when the query fails, the source's ingestion fails too, so no rows
    /// land in one table without the other (default false, the service's default).
    #[serde(default)]
    pub transactional: bool,
    /// `PropagateIngestionProperties`: the source ingestion's extent tags and creation time
    /// carry over to this table (default false).
    #[serde(default)]
    pub propagate_ingestion_properties: bool,
    /// `ManagedIdentity`: `system` or a managed identity's object id, needed when the query
    /// reads other databases or tables with row level security.
    #[serde(default)]
    pub managed_identity: Option<Located<String>>,
    /// `IsEnabled` (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A table column.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Column name.
    pub name: Located<String>,
    /// The column's previous name. While the table has a column of that name and none of the
    /// new name, the plan renames it (`.rename column`) before any other change to the table,
    /// keeping its data; a type change plans on top. Once renamed the field changes nothing;
    /// both names existing, or neither, is a plan error.
    #[serde(default)]
    pub renamed_from: Option<Located<String>>,
    /// Kusto type: bool, datetime, dynamic, guid, int, long, real, string, timespan, decimal
    /// (aliases: boolean, date, uuid, uniqueid, int32, int64, double, time).
    #[serde(rename = "type")]
    pub ty: Located<String>,
}

/// An ingestion mapping.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// Mapping name, referenced by routes.
    pub name: Located<String>,
    /// Mapping kind: csv, json, avro, parquet, orc, w3clogfile.
    pub kind: Located<String>,
    /// One entry per mapped column.
    pub columns: Vec<MappingColumnSpec>,
}

/// One mapped column.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingColumnSpec {
    /// Target column (must be a column of the table).
    pub column: Located<String>,
    /// JSON path (`$.a.b`) for json, avro, parquet and orc mappings.
    #[serde(default)]
    pub path: Option<Located<String>>,
    /// Field position for csv mappings.
    #[serde(default)]
    pub ordinal: Option<Located<u32>>,
    /// A constant instead of a value from the record.
    #[serde(default)]
    pub const_value: Option<String>,
    /// Ingest-time transformation (e.g. `DateTimeFromUnixMilliseconds`).
    #[serde(default)]
    pub transform: Option<Located<String>>,
    /// Column type; when given it must equal the table column's type.
    #[serde(default)]
    pub datatype: Option<Located<String>>,
}

/// A stored function of a Kusto database, created or replaced with `.create-or-alter
/// function`. Its body is compared with the live one after normalising whitespace and line
/// endings only. A live function that is not declared is left alone, unless `safety.prune`
/// is on and it carries this stack's ownership marker (written into its docstring).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionDoc {
    /// Always `Function`.
    pub kind: FunctionKind,
    /// Function name.
    pub name: Located<String>,
    /// Database; may be omitted when the stack declares exactly one.
    #[serde(default)]
    pub database: Option<Located<String>>,
    /// The function's previous name. While a function of that name exists and none of the
    /// new name does, the plan creates this one and drops the old one in the same script
    /// (Kusto has no function rename; a function holds no data, so nothing is lost, but
    /// callers of the old name fail). Once the old function is gone the field changes
    /// nothing; both names existing, or neither, is a plan error.
    #[serde(default)]
    pub renamed_from: Option<Located<String>>,
    /// Scalar parameters in order (tabular parameters and default values are not supported).
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    /// The body without its surrounding braces: zero or more `let` statements followed by a
    /// query expression, e.g. `GamePlay | where EventTime > ago(since)`.
    pub body: Located<String>,
    /// Folder (UI grouping).
    #[serde(default)]
    pub folder: Option<String>,
    /// Docstring.
    #[serde(default)]
    pub docstring: Option<String>,
    /// Create the function without the service checking the body against the schema
    /// (`skipvalidation`), e.g. when it uses a table another stack creates later. The service
    /// does not store it, so changing only this changes nothing live.
    #[serde(default)]
    pub skipvalidation: bool,
}

/// A materialized view of a Kusto database: an aggregation over a source table (or another
/// materialized view) that the service keeps up to date as records arrive. Created with
/// `.create materialized-view`, or with `.create async ifnotexists materialized-view` when
/// `backfill` is on. A query change that keeps the source and the `summarize ... by` keys is
/// made in place with `.alter materialized-view` (`restart`: records already materialized are
/// not recomputed); any other query or source change drops and creates the view again
/// (`data-loss`). A live view that is not declared is left alone, unless `safety.prune` is on
/// and it carries this stack's ownership marker (written into its docstring).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterializedViewDoc {
    /// Always `MaterializedView`.
    pub kind: MaterializedViewKind,
    /// View name.
    pub name: Located<String>,
    /// Database; may be omitted when the stack declares exactly one.
    #[serde(default)]
    pub database: Option<Located<String>>,
    /// The view's previous name: while a view of that name exists and none of the new name
    /// does, the plan renames it (`.rename materialized-view`), keeping its data.
    #[serde(default)]
    pub renamed_from: Option<Located<String>>,
    /// The source: a table, or another materialized view, of the same database.
    pub source: Located<String>,
    /// The query without its surrounding braces, starting from the source and ending with
    /// one `summarize`, e.g. `Readings | summarize arg_max(Timestamp, *) by DeviceId`.
    pub query: Located<String>,
    /// Fill the view with the records already in the source when it is created (the
    /// `async` form; the service runs the backfill in the background). Creation only.
    #[serde(default)]
    pub backfill: bool,
    /// The period in which duplicates or updates are expected (e.g. `6h`), for views of
    /// `arg_max`/`arg_min`/`take_any`.
    #[serde(default)]
    pub lookback: Option<Located<String>>,
    /// Follow source table schema changes automatically (`autoUpdateSchema`; only for
    /// `arg_max(T, *)`, `arg_min(T, *)` and `take_any(*)` views).
    #[serde(default)]
    pub auto_update_schema: bool,
    /// Folder (UI grouping).
    #[serde(default)]
    pub folder: Option<String>,
    /// Docstring.
    #[serde(default)]
    pub docstring: Option<String>,
}

/// A scalar function parameter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// Parameter name: letters, digits and `_`, not starting with a digit.
    pub name: Located<String>,
    /// Scalar type: bool, datetime, dynamic, guid, int, long, real, string, timespan, decimal
    /// (aliases as for columns).
    #[serde(rename = "type")]
    pub ty: Located<String>,
}

/// A Kafka topic.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicDoc {
    /// Always `Topic`.
    pub kind: TopicKind,
    /// Topic name.
    pub name: Located<String>,
    /// Number of partitions (can grow, never shrink).
    pub partitions: Located<u32>,
    /// Replication factor; the broker default when omitted.
    #[serde(default)]
    pub replication_factor: Option<Located<u16>>,
    /// Topic configs (`retention.ms`, `cleanup.policy`, ...).
    #[serde(default)]
    pub config: BTreeMap<String, Located<ConfigValue>>,
}

/// A Kusto sink connector in Kafka Connect, carrying a group of routes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkDoc {
    /// Always `Sink`.
    pub kind: SinkKind,
    /// Connector name.
    pub name: Located<String>,
    /// Connect cluster name from `targets.connect`; may be omitted when there is exactly one.
    #[serde(default)]
    pub connect: Option<Located<String>>,
    /// The connector's previous name. While a connector of that name exists on the cluster and
    /// none of the new name does, the plan moves it: stop it, create this one stopped, copy
    /// its consumer offsets over (KIP-875), start it, delete the old one; nothing is ingested
    /// twice. Once the old connector is gone the field changes nothing and can be removed.
    #[serde(default)]
    pub renamed_from: Option<Located<String>>,
    /// `tasks.max` (at most the topics' partition count is useful).
    #[serde(default = "default_tasks_max")]
    pub tasks_max: Located<u32>,
    /// Desired connector state.
    #[serde(default)]
    pub state: ConnectorState,
    /// How the connector authenticates to Kusto.
    pub auth: SinkAuth,
    /// Error handling.
    #[serde(default)]
    pub errors: ErrorHandling,
    /// When the connector flushes a batch to Kusto.
    #[serde(default)]
    pub flush: Flush,
    /// Record converters; `schemas.enable` is always written explicitly.
    #[serde(default)]
    pub converters: Converters,
    /// Extra connector properties (no secrets: use `auth`).
    #[serde(default)]
    pub config: BTreeMap<String, Located<ConfigValue>>,
    /// Topic -> table routes.
    pub routes: Vec<RouteSpec>,
}

fn default_tasks_max() -> Located<u32> {
    Located::new(Default::default(), 1)
}

/// Desired state of a connector.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    /// Running.
    #[default]
    Running,
    /// Paused (tasks stay assigned).
    Paused,
    /// Stopped (tasks shut down; offsets can be edited).
    Stopped,
}

/// Connector authentication to Kusto (`aad.auth.*`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkAuth {
    /// `aad.auth.strategy`.
    pub strategy: Located<SinkAuthStrategy>,
    /// `aad.auth.appid`: the AAD app (or user-assigned identity) client id.
    #[serde(default)]
    pub app_id: Option<Located<String>>,
    /// `aad.auth.authority`: the tenant id.
    #[serde(default)]
    pub tenant_id: Option<Located<String>>,
    /// `aad.auth.appkey`, by reference only: a Connect config-provider placeholder such as
    /// `${file:/opt/secrets/kusto.properties:appkey}`, or `{env: NAME}` for `${env:NAME}`.
    #[serde(default)]
    pub app_key: Option<Located<SecretRef>>,
}

/// Error handling of a sink.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorHandling {
    /// `behavior.on.error`.
    #[serde(default)]
    pub behavior: OnError,
    /// `errors.tolerance` (Connect framework: converter errors).
    #[serde(default)]
    pub tolerance: Tolerance,
    /// Connect's dead-letter queue for records that fail conversion.
    #[serde(default)]
    pub dead_letter_queue: Option<DeadLetterQueue>,
    /// `errors.retry.max.time.ms`.
    #[serde(default)]
    pub retry_max_time_ms: Option<u64>,
    /// `errors.retry.backoff.time.ms`.
    #[serde(default)]
    pub retry_backoff_ms: Option<u64>,
}

/// Connect's dead-letter queue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterQueue {
    /// `errors.deadletterqueue.topic.name`.
    pub topic: Located<String>,
    /// `errors.deadletterqueue.topic.replication.factor`.
    #[serde(default)]
    pub replication_factor: Option<u16>,
    /// `errors.deadletterqueue.context.headers.enable`.
    #[serde(default)]
    pub context_headers: bool,
}

/// Flush settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flush {
    /// `flush.size.bytes` (min 100; at most 4 MB for streaming routes).
    #[serde(default)]
    pub size_bytes: Option<Located<u64>>,
    /// `flush.interval.ms` (min 100).
    #[serde(default)]
    pub interval_ms: Option<Located<u64>>,
}

/// Key and value converters.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Converters {
    /// `key.converter`.
    #[serde(default)]
    pub key: Converter,
    /// `value.converter`.
    #[serde(default)]
    pub value: Converter,
}

/// One converter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Converter {
    /// Class, or a short name: `json`, `string`, `bytearray`, `avro`.
    #[serde(default = "default_converter_class")]
    pub class: Located<String>,
    /// `schemas.enable` (always written; JsonConverter's own default `true` rejects plain JSON).
    #[serde(default)]
    pub schemas_enable: bool,
    /// Extra converter properties (e.g. `schema.registry.url`).
    #[serde(default)]
    pub properties: BTreeMap<String, Located<ConfigValue>>,
}

impl Default for Converter {
    fn default() -> Self {
        Converter {
            class: default_converter_class(),
            schemas_enable: false,
            properties: BTreeMap::new(),
        }
    }
}

fn default_converter_class() -> Located<String> {
    Located::new(Default::default(), "json".to_string())
}

/// A topic -> table route.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Source topic.
    pub topic: Located<String>,
    /// Target database; may be omitted when the stack declares exactly one.
    #[serde(default)]
    pub database: Option<Located<String>>,
    /// Target table.
    pub table: Located<String>,
    /// Data format (json, multijson, avro, apacheavro, csv, tsv, parquet, orc, ...).
    pub format: Located<String>,
    /// Ingestion mapping of the table (its kind must fit the format).
    #[serde(default)]
    pub mapping: Option<Located<String>>,
    /// Streaming ingestion (the table or database must enable it).
    #[serde(default)]
    pub streaming: Located<bool>,
}

/// A config value: strings, numbers and booleans are all written to Kafka as strings.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(schema_with = "config_scalar_schema")]
pub struct ConfigValue(pub String);

fn config_scalar_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A string, number or boolean (sent as a string).",
        "type": ["string", "number", "boolean"]
    })
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}
