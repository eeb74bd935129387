//! The in-process Connect engine: connector configs, target states and the Kusto sink's
//! validation, answering with the bodies and statuses of a Connect 4.3 worker.
//!
//! Synchronous and free of I/O apart from persistence, so tests can drive it directly and
//! the HTTP face ([`super::server`]) is a thin shell around [`ConnectSandbox::handle`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use super::defs::{
    CONNECT_VERSION, FRAMEWORK_KEYS, KUSTO_SINK_CLASS, KUSTO_SINK_TASK_CLASS, KUSTO_SINK_VERSION,
    SINK_KEYS, is_kusto_sink,
};
use super::render::{info, missing_plugin, status, task_ids};
use super::state::{ConnectState, STATE_FILE, STATE_FORMAT, StoredConnector, TargetState};
use super::validate::{kusto_sink_errors, validate_kusto_sink};
use crate::sandbox::persist::{self, PersistError};

/// An error answer: HTTP status and Connect's `{"error_code","message"}` body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status}: {message}")]
pub struct ConnectError {
    /// HTTP status (also the body's `error_code`).
    pub status: u16,
    /// Connect's message.
    pub message: String,
}

impl ConnectError {
    pub(super) fn new(status: u16, message: impl Into<String>) -> Self {
        ConnectError {
            status,
            message: message.into(),
        }
    }

    /// The body Connect sends with this error.
    pub fn body(&self) -> Value {
        json!({ "error_code": self.status, "message": self.message })
    }
}

/// A successful answer: status and optional JSON body (202/204 answers have none).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: Some(body),
        }
    }

    fn empty(status: u16) -> Self {
        Reply { status, body: None }
    }
}

/// Why a sandbox could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Loading the state failed.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The state file has an unsupported format.
    #[error("{path}: state format {found} is not supported (expected {STATE_FORMAT})")]
    Format {
        /// The file.
        path: PathBuf,
        /// The format found.
        found: u32,
    },
}

/// The Connect sandbox engine. Thread-safe: requests are serialised, like a single worker
/// that is also the group leader.
#[derive(Debug)]
pub struct ConnectSandbox {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: ConnectState,
    dir: Option<PathBuf>,
    worker_id: String,
}

/// The worker id reported until the HTTP face sets the bound address.
const DEFAULT_WORKER_ID: &str = "kustoplan-sandbox:8083";

impl ConnectSandbox {
    /// A sandbox that keeps its state in memory only.
    pub fn in_memory() -> Self {
        Self::from_parts(ConnectState::default(), None)
    }

    /// A sandbox persisted as `dir/connect-state.json` (loaded if present).
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join(STATE_FILE);
        let state: ConnectState = persist::load_json(&path)?.unwrap_or_default();
        if state.format != STATE_FORMAT {
            return Err(OpenError::Format {
                path,
                found: state.format,
            });
        }
        Ok(Self::from_parts(state, Some(dir.to_path_buf())))
    }

    fn from_parts(state: ConnectState, dir: Option<PathBuf>) -> Self {
        ConnectSandbox {
            inner: Mutex::new(Inner {
                state,
                dir,
                worker_id: DEFAULT_WORKER_ID.to_string(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the `worker_id` reported in statuses (the HTTP face uses its bound address).
    pub fn set_worker_id(&self, worker_id: impl Into<String>) {
        self.lock().worker_id = worker_id.into();
    }

    /// A copy of the persisted state, for tests and inspection.
    pub fn state(&self) -> ConnectState {
        self.lock().state.clone()
    }

    /// Test hook: makes task `task` of `name` FAILED with `trace` until it is restarted.
    /// Returns false when the connector or task does not exist.
    pub fn fail_task(&self, name: &str, task: u32, trace: &str) -> Result<bool, PersistError> {
        let mut inner = self.lock();
        let Some(c) = inner.state.connectors.get_mut(name) else {
            return Ok(false);
        };
        if task >= c.task_count() {
            return Ok(false);
        }
        c.failed_tasks.insert(task, trace.to_string());
        inner.save()?;
        Ok(true)
    }

    /// `GET /`.
    pub fn root(&self) -> Reply {
        Reply::json(
            200,
            json!({
                "version": CONNECT_VERSION,
                "commit": "kustoplan-sandbox",
                "kafka_cluster_id": "kustoplan-sandbox",
            }),
        )
    }

    /// `GET /connector-plugins`: the Kusto sink only.
    pub fn plugins(&self) -> Reply {
        Reply::json(
            200,
            json!([{ "class": KUSTO_SINK_CLASS, "type": "sink", "version": KUSTO_SINK_VERSION }]),
        )
    }

    /// `GET /connector-plugins/{class}/config`: the sink's key definitions.
    pub fn plugin_config(&self, class: &str) -> Result<Reply, ConnectError> {
        if !is_kusto_sink(class) {
            return Err(ConnectError::new(404, format!("Unknown plugin {class}.")));
        }
        let defs: Vec<Value> = FRAMEWORK_KEYS
            .iter()
            .chain(SINK_KEYS)
            .map(|d| {
                json!({
                    "name": d.name, "type": d.kind.as_str(), "required": d.required,
                    "default_value": d.default, "importance": d.importance,
                    "documentation": d.documentation, "group": d.group,
                    "order_in_group": d.order, "width": d.width,
                    "display_name": d.display, "dependents": [],
                })
            })
            .collect();
        Ok(Reply::json(200, Value::Array(defs)))
    }

    /// `PUT /connector-plugins/{class}/config/validate`.
    pub fn validate(
        &self,
        class: &str,
        mut config: BTreeMap<String, String>,
    ) -> Result<Reply, ConnectError> {
        if !is_kusto_sink(class) {
            return Err(ConnectError::new(
                500,
                format!(
                    "org.apache.kafka.connect.runtime.rest.errors.BadRequestException: \
                     org.apache.kafka.connect.errors.ConnectException: {}",
                    missing_plugin(class)
                ),
            ));
        }
        match config.get("connector.class") {
            Some(included) if !is_kusto_sink(included) => {
                return Err(ConnectError::new(
                    400,
                    format!(
                        "Included connector type {included} does not match request type {class}"
                    ),
                ));
            }
            Some(_) => {}
            None => {
                config.insert("connector.class".into(), class.to_string());
            }
        }
        Ok(Reply::json(200, validate_kusto_sink(&config).body))
    }

    /// `PUT /connectors/{name}/config`: 201 with the new connector, or 200 when it existed.
    pub fn put_config(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<Reply, ConnectError> {
        self.store_config(name, config, TargetState::Running)
    }

    /// `POST /connectors` with `initial_state` (KIP-980): 201 with a new connector that starts
    /// in that state (never briefly running), or 409 when it exists.
    pub fn create(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
        initial: TargetState,
    ) -> Result<Reply, ConnectError> {
        if self.connector(name).is_ok() {
            return Err(ConnectError::new(
                409,
                format!("Connector {name} already exists"),
            ));
        }
        self.store_config(name, config, initial)
    }

    /// Creates (in state `initial`) or updates a connector's config.
    fn store_config(
        &self,
        name: &str,
        mut config: BTreeMap<String, String>,
        initial: TargetState,
    ) -> Result<Reply, ConnectError> {
        if let Some(in_config) = config.get("name")
            && in_config != name
        {
            return Err(ConnectError::new(
                400,
                format!(
                    "Connector name configuration ({in_config}) doesn't match connector name in \
                     the URL ({name})"
                ),
            ));
        }
        let Some(class) = config.get("connector.class").cloned() else {
            let rendered: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
            return Err(ConnectError::new(
                400,
                format!(
                    "Connector config {{{}}} contains no connector type",
                    rendered.join(", ")
                ),
            ));
        };
        if !is_kusto_sink(&class) {
            return Err(ConnectError::new(400, missing_plugin(&class)));
        }
        config.insert("name".into(), name.to_string());
        let errors = kusto_sink_errors(&config);
        if !errors.is_empty() {
            return Err(ConnectError::new(
                400,
                format!(
                    "Connector configuration is invalid and contains the following {} \
                     error(s):\n{}\nYou can also find the above list of errors at the endpoint \
                     `/connector-plugins/{{connectorType}}/config/validate`",
                    errors.len(),
                    errors.join("\n")
                ),
            ));
        }
        let mut inner = self.lock();
        let created = match inner.state.connectors.get_mut(name) {
            Some(existing) => {
                existing.config = config;
                false
            }
            None => {
                inner.state.connectors.insert(
                    name.to_string(),
                    StoredConnector {
                        config,
                        target: initial,
                        failed_tasks: BTreeMap::new(),
                        offsets: Vec::new(),
                    },
                );
                true
            }
        };
        inner.save().map_err(internal)?;
        let c = inner.get(name)?;
        // Distributed mode answers a create before tasks are assigned (fixture 03).
        let mut info = info(name, c);
        if created {
            info["tasks"] = json!([]);
        }
        Ok(Reply::json(if created { 201 } else { 200 }, info))
    }

    /// `GET /connectors`, with `expand=status` and/or `expand=info` the bulk read.
    pub fn list(&self, expand_status: bool, expand_info: bool) -> Reply {
        let inner = self.lock();
        if !expand_status && !expand_info {
            let names: Vec<&String> = inner.state.connectors.keys().collect();
            return Reply::json(200, json!(names));
        }
        let mut out = Map::new();
        for (name, c) in &inner.state.connectors {
            let mut entry = Map::new();
            if expand_status {
                entry.insert("status".into(), status(name, c, &inner.worker_id));
            }
            if expand_info {
                entry.insert("info".into(), info(name, c));
            }
            out.insert(name.clone(), Value::Object(entry));
        }
        Reply::json(200, Value::Object(out))
    }

    /// `GET /connectors/{name}`.
    pub fn connector(&self, name: &str) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        Ok(Reply::json(200, info(name, inner.get(name)?)))
    }

    /// `GET /connectors/{name}/config`.
    pub fn config(&self, name: &str) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        Ok(Reply::json(200, json!(inner.get(name)?.config)))
    }

    /// `GET /connectors/{name}/status`.
    pub fn status(&self, name: &str) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        let c = inner.state.connectors.get(name).ok_or_else(|| {
            ConnectError::new(404, format!("No status found for connector {name}"))
        })?;
        Ok(Reply::json(200, status(name, c, &inner.worker_id)))
    }

    /// `GET /connectors/{name}/tasks`.
    pub fn tasks(&self, name: &str) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        let c = inner.get(name)?;
        let mut task_config = c.config.clone();
        task_config.insert("task.class".into(), KUSTO_SINK_TASK_CLASS.into());
        let tasks: Vec<Value> = task_ids(c)
            .map(|t| json!({ "id": { "connector": name, "task": t }, "config": task_config }))
            .collect();
        Ok(Reply::json(200, Value::Array(tasks)))
    }

    /// `GET /connectors/{name}/tasks/{task}/status`.
    pub fn task_status(&self, name: &str, task: u32) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        let c = inner.get(name)?;
        let status = status(name, c, &inner.worker_id);
        status["tasks"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["id"] == json!(task)))
            .map(|t| Reply::json(200, t.clone()))
            .ok_or_else(|| {
                ConnectError::new(404, format!("No status found for task {name}-{task}"))
            })
    }

    /// `GET /connectors/{name}/topics`: the sandbox moves no records, so no topic is active.
    pub fn topics(&self, name: &str) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        inner.get(name)?;
        Ok(Reply::json(200, json!({ name: { "topics": [] } })))
    }

    /// `GET /connectors/{name}/offsets`: what `PATCH` last set (no records move through the
    /// sandbox, so nothing else commits offsets).
    pub fn offsets(&self, name: &str) -> Result<Reply, ConnectError> {
        let inner = self.lock();
        let c = inner.get(name)?;
        Ok(Reply::json(200, json!({ "offsets": c.offsets })))
    }

    /// `PATCH /connectors/{name}/offsets` (KIP-875): only while the connector is stopped, as
    /// Connect requires; each entry needs a `partition` object and an `offset` (an object,
    /// or `null` to reset that partition). Entries replace those of the same partition.
    pub fn alter_offsets(&self, name: &str, body: &[u8]) -> Result<Reply, ConnectError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ConnectError::new(400, format!("Invalid JSON in the request body: {e}"))
        })?;
        let entries = value
            .get("offsets")
            .and_then(Value::as_array)
            .filter(|entries| !entries.is_empty())
            .ok_or_else(|| {
                ConnectError::new(
                    400,
                    "Partitions / offsets need to be provided for an alter offsets request",
                )
            })?;
        for entry in entries {
            let partition_ok = entry.get("partition").is_some_and(Value::is_object);
            let offset_ok = entry
                .get("offset")
                .is_some_and(|o| o.is_object() || o.is_null());
            if !partition_ok || !offset_ok {
                return Err(ConnectError::new(
                    400,
                    format!("Invalid offsets entry: {entry}"),
                ));
            }
        }
        let mut inner = self.lock();
        let c = inner
            .state
            .connectors
            .get_mut(name)
            .ok_or_else(|| ConnectError::new(404, format!("Connector {name} not found")))?;
        if c.target != TargetState::Stopped {
            return Err(ConnectError::new(
                400,
                format!(
                    "Connectors must be in the STOPPED state before their offsets can be modified. \
                     This can be done for the specified connector by issuing a 'PUT' request to the \
                     '/connectors/{name}/stop' endpoint"
                ),
            ));
        }
        for entry in entries {
            c.offsets
                .retain(|o| o.get("partition") != entry.get("partition"));
            if entry.get("offset").is_some_and(Value::is_object) {
                c.offsets.push(entry.clone());
            }
        }
        inner.save().map_err(internal)?;
        Ok(Reply::json(
            200,
            json!({ "message": "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses." }),
        ))
    }

    /// `PUT /connectors/{name}/pause|resume|stop`: 202, 202, 204 like Connect.
    pub fn set_target(&self, name: &str, target: TargetState) -> Result<Reply, ConnectError> {
        let mut inner = self.lock();
        let c = inner
            .state
            .connectors
            .get_mut(name)
            .ok_or_else(|| ConnectError::new(404, format!("Unknown connector {name}")))?;
        c.target = target;
        if target == TargetState::Stopped {
            c.failed_tasks.clear();
        }
        inner.save().map_err(internal)?;
        Ok(Reply::empty(if target == TargetState::Stopped {
            204
        } else {
            202
        }))
    }

    /// `POST /connectors/{name}/restart?includeTasks=..&onlyFailed=..`: 204 for a plain
    /// restart; otherwise 202 with the status showing `RESTARTING` for the instances being
    /// restarted (a failed task keeps its trace, as in fixture 22).
    pub fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<Reply, ConnectError> {
        let mut inner = self.lock();
        let worker = inner.worker_id.clone();
        let c = inner
            .state
            .connectors
            .get_mut(name)
            .ok_or_else(|| ConnectError::new(404, format!("Unknown connector {name}")))?;
        if !include_tasks && !only_failed {
            return Ok(Reply::empty(204));
        }
        let mut body = status(name, c, &worker);
        if !only_failed {
            body["connector"]["state"] = json!("RESTARTING");
        }
        if include_tasks && let Some(tasks) = body["tasks"].as_array_mut() {
            for t in tasks {
                if !only_failed || t["state"] == json!("FAILED") {
                    t["state"] = json!("RESTARTING");
                }
            }
        }
        if include_tasks {
            c.failed_tasks.clear();
        }
        inner.save().map_err(internal)?;
        Ok(Reply::json(202, body))
    }

    /// `POST /connectors/{name}/tasks/{task}/restart`: 204.
    pub fn restart_task(&self, name: &str, task: u32) -> Result<Reply, ConnectError> {
        let mut inner = self.lock();
        let c = inner
            .state
            .connectors
            .get_mut(name)
            .ok_or_else(|| ConnectError::new(404, format!("Unknown connector {name}")))?;
        if c.target == TargetState::Stopped || task >= c.task_count() {
            return Err(ConnectError::new(
                404,
                format!("Unknown task {name}-{task}"),
            ));
        }
        c.failed_tasks.remove(&task);
        inner.save().map_err(internal)?;
        Ok(Reply::empty(204))
    }

    /// `DELETE /connectors/{name}`: 204.
    pub fn delete(&self, name: &str) -> Result<Reply, ConnectError> {
        let mut inner = self.lock();
        if inner.state.connectors.remove(name).is_none() {
            return Err(ConnectError::new(
                404,
                format!("Connector {name} not found"),
            ));
        }
        inner.save().map_err(internal)?;
        Ok(Reply::empty(204))
    }
}

impl Inner {
    fn get(&self, name: &str) -> Result<&StoredConnector, ConnectError> {
        self.state
            .connectors
            .get(name)
            .ok_or_else(|| ConnectError::new(404, format!("Connector {name} not found")))
    }

    fn save(&self) -> Result<(), PersistError> {
        match &self.dir {
            Some(dir) => persist::save_json(dir, STATE_FILE, &self.state),
            None => Ok(()),
        }
    }
}

fn internal(e: PersistError) -> ConnectError {
    ConnectError::new(500, format!("Failed to write the sandbox state: {e}"))
}
