//! Routes a REST request (method, path, query, body) to the engine, so the same routing
//! serves the HTTP face and in-process callers, and unknown paths answer like Connect's
//! Jersey server (404/405 with Connect's error body).

use std::collections::BTreeMap;

use serde_json::Value;

use super::engine::{ConnectError, ConnectSandbox, Reply};
use super::state::TargetState;
pub use crate::providers::connect::rest::RestRequest;
use crate::providers::connect::rest::{ConnectBackend, NoAnswer, RestAnswer};

/// The sandbox is a Connect backend answered in this process, so a
/// [`crate::providers::connect::ConnectClient::local`] client reaches it with no network and
/// reads its answers, errors included (Connect's `{"error_code", "message"}` body), exactly as
/// a worker's.
#[async_trait::async_trait]
impl ConnectBackend for ConnectSandbox {
    async fn exchange(
        &self,
        request: RestRequest<'_>,
        _request_id: &str,
    ) -> Result<RestAnswer, NoAnswer> {
        let (status, body) = status_and_body(ConnectSandbox::handle(self, request));
        Ok(RestAnswer {
            status,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            retry_after: None,
        })
    }

    fn in_process(&self) -> bool {
        true
    }
}

/// The status and JSON body that answer `outcome`, an error as Connect words it: one shape
/// for the HTTP face and the in-process backend.
pub(super) fn status_and_body(outcome: Result<Reply, ConnectError>) -> (u16, Option<Value>) {
    match outcome {
        Ok(reply) => (reply.status, reply.body),
        Err(e) => (e.status, Some(e.body())),
    }
}

impl ConnectSandbox {
    /// Answers one REST request: `Ok` with status and body, or Connect's error.
    pub fn handle(&self, req: RestRequest<'_>) -> Result<Reply, ConnectError> {
        let segments: Vec<String> = req
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        let query = parse_query(req.query);
        let flag = |name: &str| {
            query
                .iter()
                .any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
        };
        let expand = |what: &str| query.iter().any(|(k, v)| k == "expand" && v == what);
        match (req.method, seg.as_slice()) {
            ("GET", []) => Ok(self.root()),
            ("GET", ["connector-plugins"]) => Ok(self.plugins()),
            ("GET", ["connector-plugins", class, "config"]) => self.plugin_config(class),
            ("PUT", ["connector-plugins", class, "config", "validate"]) => {
                self.validate(class, parse_config(req.body)?)
            }
            ("GET", ["connectors"]) => Ok(self.list(expand("status"), expand("info"))),
            ("POST", ["connectors"]) => {
                let (name, config, initial) = parse_create(req.body)?;
                self.create(&name, config, initial)
            }
            ("GET", ["connectors", name]) => self.connector(name),
            ("DELETE", ["connectors", name]) => self.delete(name),
            ("GET", ["connectors", name, "config"]) => self.config(name),
            ("PUT", ["connectors", name, "config"]) => {
                self.put_config(name, parse_config(req.body)?)
            }
            ("GET", ["connectors", name, "status"]) => self.status(name),
            ("GET", ["connectors", name, "tasks"]) => self.tasks(name),
            ("GET", ["connectors", name, "topics"]) => self.topics(name),
            ("GET", ["connectors", name, "offsets"]) => self.offsets(name),
            ("PATCH", ["connectors", name, "offsets"]) => self.alter_offsets(name, req.body),
            ("PUT", ["connectors", name, "pause"]) => self.set_target(name, TargetState::Paused),
            ("PUT", ["connectors", name, "resume"]) => self.set_target(name, TargetState::Running),
            ("PUT", ["connectors", name, "stop"]) => self.set_target(name, TargetState::Stopped),
            ("POST", ["connectors", name, "restart"]) => {
                self.restart(name, flag("includeTasks"), flag("onlyFailed"))
            }
            ("GET", ["connectors", name, "tasks", task, "status"]) => {
                self.task_status(name, task_id(task)?)
            }
            ("POST", ["connectors", name, "tasks", task, "restart"]) => {
                self.restart_task(name, task_id(task)?)
            }
            (method, path) if known_path(path) => Err(ConnectError::new(
                405,
                format!("HTTP 405 Method Not Allowed ({method})"),
            )),
            _ => Err(ConnectError::new(404, "HTTP 404 Not Found")),
        }
    }
}

fn known_path(path: &[&str]) -> bool {
    matches!(
        path,
        [] | ["connector-plugins", ..]
            | ["connectors"]
            | ["connectors", _]
            | [
                "connectors",
                _,
                "config"
                    | "status"
                    | "tasks"
                    | "topics"
                    | "offsets"
                    | "pause"
                    | "resume"
                    | "stop"
                    | "restart"
            ]
    )
}

fn task_id(text: &str) -> Result<u32, ConnectError> {
    text.parse()
        .map_err(|_| ConnectError::new(404, "HTTP 404 Not Found"))
}

/// A config body: a JSON object whose values are strings (numbers and booleans are turned
/// into strings, as Jackson does for `Map<String, String>`).
fn parse_config(body: &[u8]) -> Result<BTreeMap<String, String>, ConnectError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ConnectError::new(400, format!("Invalid JSON in the request body: {e}")))?;
    config_from_value(&value)
}

fn config_from_value(value: &Value) -> Result<BTreeMap<String, String>, ConnectError> {
    let Value::Object(map) = value else {
        return Err(ConnectError::new(
            500,
            "Cannot deserialize value of type `java.util.LinkedHashMap<java.lang.String,java.lang.String>` \
             from a non-object value",
        ));
    };
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(ConnectError::new(
                        500,
                        format!(
                            "Cannot deserialize value of type `java.lang.String` for key '{k}'"
                        ),
                    ));
                }
            };
            Ok((k.clone(), text))
        })
        .collect()
}

/// `POST /connectors` body: `{"name": N, "config": {...}}`.
fn parse_create(
    body: &[u8],
) -> Result<(String, BTreeMap<String, String>, TargetState), ConnectError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ConnectError::new(400, format!("Invalid JSON in the request body: {e}")))?;
    let name = value["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ConnectError::new(400, "Connector name is required"))?
        .to_string();
    let config = config_from_value(&value["config"])?;
    // KIP-980: RUNNING (the default), PAUSED or STOPPED; Connect rejects anything else.
    let initial = match value.get("initial_state").and_then(Value::as_str) {
        None | Some("RUNNING") => TargetState::Running,
        Some("PAUSED") => TargetState::Paused,
        Some("STOPPED") => TargetState::Stopped,
        Some(other) => {
            return Err(ConnectError::new(
                400,
                format!(
                    "Cannot deserialize value of type `org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest$InitialState` from String \"{other}\": not one of the values accepted for Enum class: [STOPPED, RUNNING, PAUSED]"
                ),
            ));
        }
    };
    Ok((name, config, initial))
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` is kept: Connect paths do not use form encoding).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(
            parse_query("expand=status&expand=info&x"),
            [
                ("expand".to_string(), "status".to_string()),
                ("expand".to_string(), "info".to_string()),
                ("x".to_string(), String::new())
            ]
        );
    }
}
