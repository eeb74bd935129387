//! Typed forms of the Kafka Connect REST responses kustoplan reads.
//!
//! The shapes follow the responses of a real Connect 4.3 worker (recorded in
//! `tests/fixtures/connect-4.3`). Unknown fields are ignored so newer workers keep working;
//! states Connect may add later parse as [`State::Other`] instead of failing the whole plan.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::mask::{Masker, mask_config};

/// A connector or task state as reported by `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Running (a connector whose tasks failed is still `RUNNING`: check the tasks).
    Running,
    /// Paused by `PUT .../pause`: tasks exist but consume nothing.
    Paused,
    /// Stopped by `PUT .../stop`: no tasks exist; offsets may be edited.
    Stopped,
    /// Failed; the status carries a `trace`.
    Failed,
    /// Not yet assigned to a worker (just created, or during a rebalance).
    Unassigned,
    /// A restart was requested and has not finished.
    Restarting,
    /// A state this version does not know, verbatim.
    Other(String),
}

impl State {
    /// The state as Connect spells it.
    pub fn as_str(&self) -> &str {
        match self {
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Unassigned => "UNASSIGNED",
            State::Restarting => "RESTARTING",
            State::Other(s) => s,
        }
    }

    /// Parses Connect's spelling; unknown states are kept as [`State::Other`].
    pub fn parse(s: &str) -> State {
        match s {
            "RUNNING" => State::Running,
            "PAUSED" => State::Paused,
            "STOPPED" => State::Stopped,
            "FAILED" => State::Failed,
            "UNASSIGNED" => State::Unassigned,
            "RESTARTING" => State::Restarting,
            other => State::Other(other.to_string()),
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(State::parse(&s))
    }
}

/// The connector part of `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectorState {
    /// Current state.
    pub state: State,
    /// Worker running the connector (`host:port`).
    pub worker_id: String,
    /// Plugin version (absent on workers older than 3.9).
    #[serde(default)]
    pub version: Option<String>,
    /// Stack trace when `FAILED` (secrets masked by the client before it is returned).
    #[serde(default)]
    pub trace: Option<String>,
}

/// One task in `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskState {
    /// Task number (0-based).
    pub id: u32,
    /// Current state.
    pub state: State,
    /// Worker running the task.
    pub worker_id: String,
    /// Plugin version (absent on workers older than 3.9).
    #[serde(default)]
    pub version: Option<String>,
    /// Stack trace of the last failure (kept while `RESTARTING`; secrets masked by the client).
    #[serde(default)]
    pub trace: Option<String>,
}

/// `GET /connectors/N/status`, the `status` half of the expanded list, and the body of a
/// `POST .../restart` that answered 202.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectorStatus {
    /// Connector name.
    pub name: String,
    /// The connector instance.
    pub connector: ConnectorState,
    /// Its tasks (empty while `STOPPED`, or before the first assignment).
    pub tasks: Vec<TaskState>,
    /// `sink` or `source` (absent while the worker cannot load the plugin).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl ConnectorStatus {
    /// Tasks in `FAILED` state, for "restart failed tasks" and failure reports.
    pub fn failed_tasks(&self) -> impl Iterator<Item = &TaskState> {
        self.tasks.iter().filter(|t| t.state == State::Failed)
    }

    /// Applies `f` to every trace (connector and tasks); used to mask secrets.
    pub(crate) fn map_traces(&mut self, f: &dyn Fn(&str) -> String) {
        if let Some(t) = &mut self.connector.trace {
            *t = f(t);
        }
        for task in &mut self.tasks {
            if let Some(t) = &mut task.trace {
                *t = f(t);
            }
        }
    }
}

/// A connector configuration as Connect returns it: literal secrets included, verbatim.
///
/// The values are needed to compare desired and live configs, but must never be printed:
/// `Debug` shows the masked form ([`mask_config`]), there is no `Display` or `Serialize`,
/// and [`ConnectorConfig::expose`] is the one explicit way to read raw values.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct ConnectorConfig(BTreeMap<String, String>);

impl ConnectorConfig {
    /// Wraps a raw config.
    pub fn new(map: BTreeMap<String, String>) -> Self {
        ConnectorConfig(map)
    }

    /// The raw values, secrets included: for comparisons only, never for output.
    pub fn expose(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The config with secret values replaced by `****` (safe to print or log).
    pub fn masked(&self) -> BTreeMap<String, String> {
        mask_config(&self.0)
    }

    /// One value, raw (see [`ConnectorConfig::expose`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.masked()).finish()
    }
}

/// `{"connector": NAME, "task": N}` in connector info.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskId {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

/// `GET /connectors/N`, the `info` half of the expanded list, and the body of
/// `PUT /connectors/N/config`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectorInfo {
    /// Connector name.
    pub name: String,
    /// Its configuration, including `name` (Connect adds it).
    pub config: ConnectorConfig,
    /// Its tasks (empty right after creation in distributed mode, and while `STOPPED`).
    pub tasks: Vec<TaskId>,
    /// `sink` or `source` (absent while the worker cannot load the plugin).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// `GET /connectors/N/offsets` of a sink connector, and the body of `PATCH .../offsets`
/// (KIP-875): the consumer offsets its tasks committed, per topic partition. Read from one
/// connector and written to another, they move a sink's position with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SinkOffsets {
    /// One entry per partition with a committed offset.
    pub offsets: Vec<SinkPartitionOffset>,
}

/// One partition's committed offset in [`SinkOffsets`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SinkPartitionOffset {
    /// The topic partition.
    pub partition: SinkPartition,
    /// The next offset to consume.
    pub offset: SinkOffset,
}

/// `{"kafka_topic": T, "kafka_partition": P}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SinkPartition {
    /// Topic name.
    pub kafka_topic: String,
    /// Partition number.
    pub kafka_partition: i32,
}

/// `{"kafka_offset": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct SinkOffset {
    /// The offset.
    pub kafka_offset: i64,
}

/// One entry of `GET /connectors?expand=status&expand=info`: everything observe needs about
/// a connector, from a single request for all connectors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExpandedConnector {
    /// Runtime state of the connector and its tasks.
    pub status: ConnectorStatus,
    /// Configuration and task ids.
    pub info: ConnectorInfo,
}

/// One entry of `GET /connectors?expand=status`: a connector's state and its tasks', all
/// connectors in one request (what waiting for many connectors reads each round).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusOnly {
    /// Runtime state of the connector and its tasks.
    pub status: ConnectorStatus,
}

/// Whether `PUT /connectors/N/config` created the connector (201) or updated it (200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutAction {
    /// HTTP 201: the connector did not exist.
    Created,
    /// HTTP 200: an existing connector got this config. Also what a retried create reports
    /// when the first attempt's response was lost after Connect created it.
    Updated,
}

/// The answer to `PUT /connectors/N/config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// Created or updated.
    pub action: PutAction,
    /// The connector as Connect stored it.
    pub info: ConnectorInfo,
}

/// What `POST /connectors/N/restart` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartOutcome {
    /// HTTP 204: only the connector instance was restarted (no `includeTasks`/`onlyFailed`).
    Restarted,
    /// HTTP 202: the restart was accepted; instances being restarted show `RESTARTING`.
    Accepted(ConnectorStatus),
}

/// One installed plugin from `GET /connector-plugins`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PluginInfo {
    /// Fully qualified class name.
    pub class: String,
    /// `sink`, `source`, `transformation`, `converter`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Plugin version.
    #[serde(default)]
    pub version: Option<String>,
}

/// `GET /`: the worker's version, for the error messages and the plan header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerInfo {
    /// Kafka Connect version.
    pub version: String,
    /// Build commit.
    pub commit: String,
    /// The Kafka cluster the worker belongs to.
    pub kafka_cluster_id: String,
}

/// One key of a validation answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedKey {
    /// Config key.
    pub name: String,
    /// Declared type (`STRING`, `INT`, `PASSWORD`, ...).
    pub kind: String,
    /// Whether the key is required.
    pub required: bool,
    /// The value Connect saw, masked when secret (Connect itself shows `[hidden]` for
    /// PASSWORD keys).
    pub value: Option<String>,
    /// What is wrong with it (empty when valid).
    pub errors: Vec<String>,
}

/// The answer to `PUT /connector-plugins/{class}/config/validate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// The plugin class that validated the config.
    pub class: String,
    /// Total number of errors Connect counted.
    pub error_count: u32,
    /// Config groups, in Connect's order.
    pub groups: Vec<String>,
    /// Every key Connect reported on, in its order.
    pub keys: Vec<ValidatedKey>,
}

impl ValidationReport {
    /// True when Connect reported no error.
    pub fn is_valid(&self) -> bool {
        self.error_count == 0
    }

    /// Keys with at least one error, with their errors: what apply shows before refusing.
    pub fn errors(&self) -> Vec<(&str, &[String])> {
        self.keys
            .iter()
            .filter(|k| !k.errors.is_empty())
            .map(|k| (k.name.as_str(), k.errors.as_slice()))
            .collect()
    }

    /// Keys Connect declares as `PASSWORD`, so they are masked wherever they appear.
    pub fn password_keys(&self) -> impl Iterator<Item = &str> {
        self.keys
            .iter()
            .filter(|k| k.kind == "PASSWORD")
            .map(|k| k.name.as_str())
    }
}

impl ValidationReport {
    /// Builds the report from the wire form, remembering `PASSWORD` keys in `masker` and
    /// masking secret values and error texts.
    pub(crate) fn from_raw(raw: RawValidation, masker: &mut Masker) -> ValidationReport {
        for c in &raw.configs {
            if c.definition.kind == "PASSWORD" {
                masker.add_password_key(&c.definition.name);
            }
        }
        let keys = raw
            .configs
            .into_iter()
            .map(|c| {
                let name = c.value.name;
                let value = c.value.value.map(|v| {
                    if masker.is_secret(&name) {
                        masker.mask_value(&name, &v)
                    } else {
                        masker.mask_text(&v)
                    }
                });
                ValidatedKey {
                    kind: c.definition.kind,
                    required: c.definition.required,
                    value,
                    errors: c.value.errors.iter().map(|e| masker.mask_text(e)).collect(),
                    name,
                }
            })
            .collect();
        ValidationReport {
            class: raw.name,
            error_count: raw.error_count,
            groups: raw.groups,
            keys,
        }
    }
}

/// The wire form of a validation answer.
#[derive(Debug, Deserialize)]
pub(crate) struct RawValidation {
    pub name: String,
    pub error_count: u32,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub configs: Vec<RawConfigInfo>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawConfigInfo {
    pub definition: RawDefinition,
    pub value: RawValue,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawDefinition {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawValue {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Connect's error body: `{"error_code": 404, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    /// Usually the HTTP status.
    pub error_code: i64,
    /// What Connect says went wrong (may quote config values: mask before showing).
    pub message: String,
}

impl ErrorBody {
    /// Parses an error body; `None` when the body is not Connect's error shape (a proxy's
    /// HTML page, an empty body).
    pub fn parse(bytes: &[u8]) -> Option<ErrorBody> {
        serde_json::from_slice(bytes).ok()
    }
}
