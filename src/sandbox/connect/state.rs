//! The Connect sandbox's persisted state: connector configs and their target states.
//!
//! Runtime state (task states, workers) is derived from this on every read, the way a
//! Connect worker derives it from the config topic: a restarted sandbox comes back with the
//! same connectors in the same target states.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the state document; bumped on incompatible changes.
pub const STATE_FORMAT: u32 = 1;

/// File name of the state document inside the sandbox directory.
pub const STATE_FILE: &str = "connect-state.json";

/// What a connector should be doing (Connect's target state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    /// Tasks run.
    Running,
    /// Tasks exist but consume nothing.
    Paused,
    /// No tasks exist.
    Stopped,
}

/// One connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConnector {
    /// The config as last written, including `name`.
    pub config: BTreeMap<String, String>,
    /// Its target state.
    pub target: TargetState,
    /// Tasks made to fail by a test hook, with their traces; cleared by a restart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_tasks: BTreeMap<u32, String>,
    /// Committed offsets as `PATCH .../offsets` last set them (`{"partition": .., "offset": ..}`
    /// entries); no records move through the sandbox, so nothing else changes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<serde_json::Value>,
}

impl StoredConnector {
    /// `tasks.max` as a task count (1 when unparsable; capped so a typo cannot allocate
    /// millions of tasks).
    pub fn task_count(&self) -> u32 {
        self.config
            .get("tasks.max")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(1)
            .clamp(1, 256)
    }
}

/// The whole persisted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectState {
    /// Version of the document (`STATE_FORMAT`, currently 1).
    pub format: u32,
    /// Connectors by name.
    pub connectors: BTreeMap<String, StoredConnector>,
}

impl Default for ConnectState {
    fn default() -> Self {
        ConnectState {
            format: STATE_FORMAT,
            connectors: BTreeMap::new(),
        }
    }
}
