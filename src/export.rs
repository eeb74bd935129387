//! Manifests turned into the resources another tool applies: Strimzi `KafkaConnector`
//! resources for the sinks of Connect clusters declared `managed_by: strimzi`.
//!
//! A Strimzi Cluster Operator with `strimzi.io/use-connector-resources: "true"` owns the
//! connectors of its Connect cluster: it reverts or deletes what is written to the REST API.
//! There, the connector configs kustoplan plans (the same ones it would write itself, ownership
//! marker included, so `plan` compares them as usual) are committed as resources instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::diagnostics::Diagnostic;
use crate::import::yaml::quoted;
use crate::manifest::{Manifests, desired};
use crate::model::ConnectManager;
use crate::model::connect::{Connector, RunState};
use crate::model::sink::key;

/// The Strimzi API version of the resources written (KafkaConnector `spec.state` needs
/// Strimzi 0.38 or later).
pub const STRIMZI_API_VERSION: &str = "kafka.strimzi.io/v1beta2";

/// The first line of every exported file, so a later export knows which files it may replace
/// or remove (and never touches one somebody else wrote).
pub const HEADER: &str = "# Written by `kustoplan export strimzi`";

/// The longest Kubernetes object name (a DNS subdomain).
const K8S_NAME_MAX: usize = 253;

/// One KafkaConnector resource: its file name and YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `CLUSTER/CONNECTOR.yaml`, unique within one export.
    pub file: String,
    /// The resource as YAML.
    pub yaml: String,
}

/// The KafkaConnector resources of every sink on a `managed_by: strimzi` Connect cluster, in
/// cluster and connector order; or one diagnostic per sink whose name Kubernetes refuses
/// (Strimzi names the connector after the resource, so it cannot be renamed on the way).
pub fn strimzi(m: &Manifests) -> Result<Vec<Resource>, Vec<Diagnostic>> {
    let clusters = desired::connect_state(m);
    let stack = m.resolve_stack();
    let mut resources = Vec::new();
    let mut problems = Vec::new();
    for (cluster, connectors) in &clusters {
        let target = stack.connect(cluster);
        if target.manager != ConnectManager::Strimzi {
            continue;
        }
        for connector in connectors.values() {
            if let Some(problem) = k8s_name_problem(&connector.name) {
                let message = format!(
                    "sink `{}` cannot be a KafkaConnector: {problem}",
                    connector.name
                );
                let hint = "Strimzi names the connector after the resource: rename the sink (with `renamed_from` to keep its offsets)";
                problems.push(
                    match m.sinks.iter().find(|s| s.name.value == connector.name) {
                        Some(sink) => Diagnostic::at(sink.name.loc, message).hint(hint),
                        None => Diagnostic::global(message).hint(hint),
                    },
                );
                continue;
            }
            resources.push(Resource {
                file: format!("{cluster}/{}.yaml", connector.name),
                yaml: kafka_connector(connector, &target.strimzi_cluster, &stack.owner),
            });
        }
    }
    if problems.is_empty() {
        Ok(resources)
    } else {
        Err(problems)
    }
}

/// Why Kubernetes refuses `name` as an object name (a lower-case RFC 1123 subdomain), if it does.
fn k8s_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > K8S_NAME_MAX {
        return Some(format!(
            "a Kubernetes name has 1 to {K8S_NAME_MAX} characters"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "a Kubernetes name holds only lower-case letters, digits, `-` and `.`, not `{bad}`"
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Some("a Kubernetes name starts and ends with a letter or digit".to_string());
    }
    None
}

/// The YAML of one KafkaConnector. `connector.class` and `tasks.max` go to `spec.class` and
/// `spec.tasksMax` (Strimzi refuses them in `spec.config`); every other key is written as a
/// double-quoted string, which YAML reads back as exactly that string and Connect receives
/// as it would from kustoplan (config-provider placeholders included, unresolved).
fn kafka_connector(connector: &Connector, strimzi_cluster: &str, stack: &str) -> String {
    let config: BTreeMap<&str, &str> = connector
        .config
        .iter()
        .filter(|(k, _)| k.as_str() != key::CLASS && k.as_str() != key::TASKS_MAX)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let class = connector.config.get(key::CLASS).map_or("", String::as_str);
    let tasks_max = connector
        .config
        .get(key::TASKS_MAX)
        .map_or("1", String::as_str);
    let state = match connector.state {
        RunState::Running => "running",
        RunState::Paused => "paused",
        RunState::Stopped => "stopped",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{HEADER} from stack {}: change the manifests, then export again.",
        quoted(stack)
    );
    let _ = writeln!(out, "apiVersion: {STRIMZI_API_VERSION}");
    let _ = writeln!(out, "kind: KafkaConnector");
    let _ = writeln!(out, "metadata:");
    let _ = writeln!(out, "  name: {}", connector.name);
    let _ = writeln!(out, "  labels:");
    let _ = writeln!(out, "    strimzi.io/cluster: {}", quoted(strimzi_cluster));
    let _ = writeln!(out, "spec:");
    let _ = writeln!(out, "  class: {}", quoted(class));
    // `tasks.max` is a number the planner wrote; a quoted string would be refused by the CRD.
    match tasks_max.parse::<u32>() {
        Ok(n) => {
            let _ = writeln!(out, "  tasksMax: {n}");
        }
        Err(_) => {
            let _ = writeln!(out, "  tasksMax: {}", quoted(tasks_max));
        }
    }
    let _ = writeln!(out, "  state: {state}");
    let _ = writeln!(out, "  config:");
    for (k, v) in config {
        let _ = writeln!(out, "    {}: {}", quoted(k), quoted(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load};

    fn stack(managed_by: &str, sink: &str) -> Manifests {
        let label = if managed_by == "strimzi" {
            ", strimzi_cluster: my-connect"
        } else {
            ""
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("stack.yaml"),
            format!(
                "kind: Stack\nname: ops\ntargets:\n  kusto: {{cluster: sandbox}}\n  kafka: {{bootstrap_servers: sandbox}}\n  connect:\n    main: {{url: sandbox, managed_by: {managed_by}{label}}}\n---\nkind: Database\nname: db\n---\nkind: Table\nname: Events\ncolumns:\n  - {{name: Id, type: string}}\nmappings:\n  - name: events_json\n    kind: json\n    columns:\n      - {{column: Id, path: $.id}}\n---\nkind: Topic\nname: events\npartitions: 1\n---\nkind: Sink\nname: {sink}\nauth:\n  strategy: application\n  app_id: 00000000-0000-0000-0000-000000000001\n  tenant_id: 00000000-0000-0000-0000-000000000002\n  app_key: ${{file:/opt/secrets.properties:appkey}}\nroutes:\n  - {{topic: events, table: Events, mapping: events_json, format: json}}\n"
            ),
        )
        .unwrap();
        load(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap()
    }

    #[test]
    fn a_strimzi_cluster_gets_one_kafka_connector_per_sink_with_the_planned_config() {
        let m = stack("strimzi", "events-sink");
        let resources = strimzi(&m).unwrap();
        assert_eq!(resources.len(), 1);
        let r = &resources[0];
        assert_eq!(r.file, "main/events-sink.yaml");
        let planned = &desired::connect_state(&m)["main"]["events-sink"];
        assert!(r.yaml.contains("kind: KafkaConnector\n"));
        assert!(r.yaml.contains("  name: events-sink\n"));
        assert!(r.yaml.contains("    strimzi.io/cluster: \"my-connect\"\n"));
        assert!(
            r.yaml
                .contains(&format!("  class: \"{}\"\n", planned.config[key::CLASS]))
        );
        assert!(r.yaml.contains("  tasksMax: 1\n"));
        assert!(r.yaml.contains("  state: running\n"));
        // Every other planned key, ownership marker and route mapping included, with its value.
        for (k, v) in &planned.config {
            if k == key::CLASS || k == key::TASKS_MAX {
                assert!(!r.yaml.contains(&format!("\"{k}\":")), "{k} in spec.config");
                continue;
            }
            assert!(
                r.yaml
                    .contains(&format!("    {}: {}\n", quoted(k), quoted(v))),
                "{k} missing:\n{}",
                r.yaml
            );
        }
    }

    #[test]
    fn other_clusters_export_nothing() {
        assert!(
            strimzi(&stack("kustoplan", "events-sink"))
                .unwrap()
                .is_empty()
        );
        assert!(
            strimzi(&stack("external", "events-sink"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_sink_name_kubernetes_refuses_is_an_error_at_the_name() {
        let m = stack("strimzi", "Events_Sink");
        let problems = strimzi(&m).unwrap_err();
        assert_eq!(problems.len(), 1);
        let text = crate::diagnostics::render(&problems, &m.sources, false);
        assert!(
            text.contains("sink `Events_Sink` cannot be a KafkaConnector"),
            "{text}"
        );
        assert!(text.contains("stack.yaml:"), "{text}");
    }

    #[test]
    fn kubernetes_names_follow_rfc_1123_subdomains() {
        assert_eq!(k8s_name_problem("events-sink.v2"), None);
        assert!(k8s_name_problem("-events").is_some());
        assert!(k8s_name_problem("events-").is_some());
        assert!(k8s_name_problem("Events").is_some());
        assert!(k8s_name_problem("").is_some());
        assert!(k8s_name_problem(&"a".repeat(254)).is_some());
    }

    #[test]
    fn quoted_scalars_escape_what_yaml_double_quotes_need() {
        assert_eq!(quoted("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(
            quoted("${file:/s.properties:key}"),
            "\"${file:/s.properties:key}\""
        );
    }
}
