//! The JSON bodies the engine answers with, in the shapes of a Connect 4.3 worker:
//! connector info, status, and the missing-plugin message.

use serde_json::{Value, json};

use super::defs::{KUSTO_SINK_CLASS, KUSTO_SINK_VERSION};
use super::state::{StoredConnector, TargetState};

/// Connect's message when no installed plugin matches `class` (fixtures 28, 32).
pub(super) fn missing_plugin(class: &str) -> String {
    format!(
        "Failed to find any class that implements Connector and which name matches {class}, \
         available connectors are: PluginDesc{{klass=class {KUSTO_SINK_CLASS}, \
         name='{KUSTO_SINK_CLASS}', version='{KUSTO_SINK_VERSION}', \
         encodedVersion={KUSTO_SINK_VERSION}, type=sink, typeName='sink', \
         location='file:/kustoplan-sandbox/plugins/kafka-sink-azure-kusto/'}}"
    )
}

/// Task ids that exist: none while stopped.
pub(super) fn task_ids(c: &StoredConnector) -> impl Iterator<Item = u32> {
    let n = if c.target == TargetState::Stopped {
        0
    } else {
        c.task_count()
    };
    0..n
}

/// `{"name","config","tasks":[{"connector","task"}],"type"}`.
pub(super) fn info(name: &str, c: &StoredConnector) -> Value {
    let tasks: Vec<Value> = task_ids(c)
        .map(|t| json!({ "connector": name, "task": t }))
        .collect();
    json!({ "name": name, "config": c.config, "tasks": tasks, "type": "sink" })
}

/// `{"name","connector":{"state","worker_id","version"},"tasks":[...],"type"}`.
pub(super) fn status(name: &str, c: &StoredConnector, worker: &str) -> Value {
    let state = match c.target {
        TargetState::Running => "RUNNING",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    };
    let tasks: Vec<Value> = task_ids(c)
        .map(|t| {
            let mut task = json!({
                "id": t, "state": state, "worker_id": worker, "version": KUSTO_SINK_VERSION,
            });
            if let Some(trace) = c.failed_tasks.get(&t) {
                if c.target == TargetState::Running {
                    task["state"] = json!("FAILED");
                }
                task["trace"] = json!(trace);
            }
            task
        })
        .collect();
    json!({
        "name": name,
        "connector": { "state": state, "worker_id": worker, "version": KUSTO_SINK_VERSION },
        "tasks": tasks,
        "type": "sink",
    })
}
