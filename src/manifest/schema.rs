//! The JSON Schema of manifests, generated from [`super::spec`], and the structural check of
//! documents against it.
//!
//! Checking the node tree against the schema (instead of relying on serde alone) is what lets
//! `validate` report every unknown key and wrong type of a document, not just the first.

mod node_json;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError, Validator};
use schemars::generate::SchemaSettings;
use serde_json::{Value as Json, json};

use super::node::Node;
use super::spec::Document;
use crate::diagnostics::Diagnostic;

/// Where the committed schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/kustoplan.schema.json";

/// The document kinds and the `$defs` entry that describes each.
pub const KINDS: [(&str, &str); 7] = [
    ("Stack", "StackDoc"),
    ("Database", "DatabaseDoc"),
    ("Table", "TableDoc"),
    ("Function", "FunctionDoc"),
    ("MaterializedView", "MaterializedViewDoc"),
    ("Topic", "TopicDoc"),
    ("Sink", "SinkDoc"),
];

/// The JSON Schema of a manifest document (any kind) that editors use, as committed under
/// `schemas/`: the structural schema plus the rules validation mirrors there and `${var.NAME}`
/// references ([`super::editor`]).
pub fn manifest_schema() -> Json {
    super::editor::editor_schema(structural_schema())
}

/// The shape of a substituted document, as [`SchemaChecker`] checks it: the validation rules
/// the editor schema adds are left to `validate`, whose messages say more.
pub fn structural_schema() -> Json {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Document>();
    let mut value = schema.to_value();
    forbid_null(&mut value);
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            json!("https://kustoplan.dev/schemas/kustoplan.schema.json"),
        );
    }
    value
}

/// schemars lets every `Option` be `null`; manifests omit a key instead, and a bare `key:` is
/// almost always a mistake, so the schema we publish and check against does not accept `null`.
fn forbid_null(value: &mut Json) {
    match value {
        Json::Object(obj) => {
            if let Some(Json::Array(types)) = obj.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    obj.insert("type".into(), only);
                }
            }
            let non_null_branch = match obj.get("anyOf") {
                Some(Json::Array(branches)) if branches.len() == 2 => branches
                    .iter()
                    .position(|b| b.get("type").is_some_and(|t| t == "null"))
                    .map(|null_at| branches[1 - null_at].clone()),
                _ => None,
            };
            if let Some(Json::Object(branch)) = non_null_branch {
                obj.remove("anyOf");
                for (k, v) in branch {
                    obj.entry(k).or_insert(v);
                }
            }
            obj.values_mut().for_each(forbid_null);
        }
        Json::Array(items) => items.iter_mut().for_each(forbid_null),
        _ => {}
    }
}

/// Checks documents of each kind against the schema.
///
/// A document is first checked as it is, a tree of located nodes ([`node_json`]); only a
/// document with problems is converted to JSON and checked again to explain them, so a valid
/// stack is checked without a JSON copy of any document.
pub struct SchemaChecker {
    root: Json,
    /// One validator per kind over the node tree: the yes-or-no check.
    on_nodes: BTreeMap<&'static str, Validator<node_json::NodeJson>>,
    /// One validator per kind over JSON, compiled when a document first has problems: their
    /// explanation.
    on_json: OnceLock<BTreeMap<&'static str, Validator>>,
}

impl SchemaChecker {
    /// Compiles one validator per document kind.
    pub fn new() -> SchemaChecker {
        let root = structural_schema();
        let on_nodes = kind_schemas(&root)
            .filter_map(|(kind, schema)| {
                jsonschema::options_for::<node_json::NodeJson>()
                    .build(&schema)
                    .ok()
                    .map(|v| (kind, v))
            })
            .collect();
        SchemaChecker {
            root,
            on_nodes,
            on_json: OnceLock::new(),
        }
    }

    /// Every structural problem of one document of the given kind.
    pub fn check(&self, kind: &str, doc: &Node) -> Vec<Diagnostic> {
        if self.on_nodes.get(kind).is_some_and(|v| v.is_valid(doc)) {
            return Vec::new();
        }
        let validators = self.on_json.get_or_init(|| {
            kind_schemas(&self.root)
                .filter_map(|(kind, schema)| {
                    jsonschema::validator_for(&schema).ok().map(|v| (kind, v))
                })
                .collect()
        });
        let Some(validator) = validators.get(kind) else {
            return Vec::new();
        };
        let instance = doc.to_json();
        let mut out: Vec<Diagnostic> = validator
            .iter_errors(&instance)
            .flat_map(|e| self.explain(doc, &e))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn explain(&self, doc: &Node, err: &ValidationError<'_>) -> Vec<Diagnostic> {
        let pointer = err.instance_path().as_str().to_string();
        let node = doc.at_pointer(&pointer).unwrap_or(doc);
        let field = field_name(&pointer);
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = self.allowed_keys(err.schema_path().as_str());
                unexpected
                    .iter()
                    .map(|key| {
                        let loc = doc.key_at_pointer(&pointer, key).map_or(node.loc, |k| k.loc);
                        let d = Diagnostic::at(loc, format!("unknown key `{key}`"));
                        match closest(key, allowed.iter().map(String::as_str)) {
                            Some(best) => d.hint(format!("did you mean `{best}`?")),
                            None if allowed.is_empty() => d.hint("remove this key"),
                            None => d.hint(format!("allowed keys here: {}", allowed.join(", "))),
                        }
                    })
                    .collect()
            }
            ValidationErrorKind::Required { property } => {
                let key = property.as_str().unwrap_or_default();
                vec![
                    Diagnostic::at(node.loc, format!("missing required key `{key}`"))
                        .hint(format!("add `{key}:` to this mapping")),
                ]
            }
            ValidationErrorKind::Type { kind } => vec![
                Diagnostic::at(
                    node.loc,
                    format!(
                        "{} must be {}, found {}",
                        field,
                        expected_types(kind),
                        node.value.type_name()
                    ),
                )
                .hint(type_hint(kind, node)),
            ],
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(json_text).collect())
                    .unwrap_or_default();
                vec![enum_mismatch(&field, node, &options)]
            }
            ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context }
                if !context.is_empty() && context.iter().all(|b| matches!(b.as_slice(), [e] if matches!(e.kind(), ValidationErrorKind::Constant { .. }))) =>
            {
                // schemars writes documented enums as `oneOf` of `const`s.
                let options: Vec<String> = context
                    .iter()
                    .flatten()
                    .filter_map(|e| match e.kind() {
                        ValidationErrorKind::Constant { expected_value } => Some(json_text(expected_value)),
                        _ => None,
                    })
                    .collect();
                vec![enum_mismatch(&field, node, &options)]
            }
            ValidationErrorKind::Constant { expected_value } => vec![

                Diagnostic::at(
                    node.loc,
                    format!("{field} must be `{}`", json_text(expected_value)),
                )
                .hint(format!("write `{}`", json_text(expected_value))),
            ],
            ValidationErrorKind::Minimum { limit } => vec![
                Diagnostic::at(
                    node.loc,
                    format!(
                        "{field} must be at least {limit}, found {}",
                        json_text(&node.to_json())
                    ),
                )
                .hint(format!("use a value of {limit} or more")),
            ],
            ValidationErrorKind::Maximum { limit } => vec![
                Diagnostic::at(
                    node.loc,
                    format!(
                        "{field} must be at most {limit}, found {}",
                        json_text(&node.to_json())
                    ),
                )
                .hint(format!("use a value of {limit} or less")),
            ],
            ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
                // Report the branch that got furthest (the one whose errors are not merely a
                // mismatch of the value's own type), so `{env: X, extra: 1}` says "unknown key".
                let deeper: Vec<_> = context
                    .iter()
                    .filter(|branch| {
                        !branch.iter().all(|e| {
                            matches!(e.kind(), ValidationErrorKind::Type { .. })
                                && e.instance_path().as_str() == pointer
                        })
                    })
                    .collect();
                match deeper.as_slice() {
                    [branch] => branch.iter().flat_map(|e| self.explain(doc, e)).collect(),
                    _ => vec![Diagnostic::at(
                        node.loc,
                        format!("{field} has an unexpected shape ({})", node.value.type_name()),
                    )
                    .hint("see the schema in schemas/kustoplan.schema.json for the allowed forms")],
                }
            }
            _ => vec![Diagnostic::at(node.loc, format!("{field}: {err}"))],
        }
    }

    /// The property names allowed by the object schema that `additionalProperties` sits in.
    /// jsonschema reports schema paths with references already resolved (`/$defs/X/...`).
    fn allowed_keys(&self, schema_path: &str) -> Vec<String> {
        let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
        self.root
            .pointer(parent)
            .and_then(|c| c.get("properties"))
            .and_then(Json::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The schema of each document kind: a reference to its `$defs` entry, with every definition.
fn kind_schemas(root: &Json) -> impl Iterator<Item = (&'static str, Json)> + '_ {
    let defs = root.get("$defs").cloned().unwrap_or_else(|| json!({}));
    KINDS.iter().map(move |(kind, def)| {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#/$defs/{def}"),
            "$defs": defs,
        });
        (*kind, schema)
    })
}

impl Default for SchemaChecker {
    fn default() -> Self {
        SchemaChecker::new()
    }
}

fn enum_mismatch(field: &str, node: &Node, options: &[String]) -> Diagnostic {
    let found = json_text(&node.to_json());
    let d = Diagnostic::at(
        node.loc,
        format!(
            "{field} must be one of {}, found `{found}`",
            options.join(", ")
        ),
    );
    match closest(&found, options.iter().map(String::as_str)) {
        Some(best) => d.hint(format!("did you mean `{best}`?")),
        None => d.hint(format!("use one of: {}", options.join(", "))),
    }
}

fn field_name(pointer: &str) -> String {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    match segments.iter().rev().find(|s| s.parse::<usize>().is_err()) {
        Some(last) if segments.last().is_some_and(|s| s.parse::<usize>().is_ok()) => {
            format!("each entry of `{last}`")
        }
        Some(last) => format!("`{last}`"),
        None => "the document".to_string(),
    }
}

fn json_type_name(t: JsonType) -> &'static str {
    match t {
        JsonType::Array => "a list",
        JsonType::Boolean => "a boolean",
        JsonType::Integer => "an integer",
        JsonType::Null => "null",
        JsonType::Number => "a number",
        JsonType::Object => "a mapping",
        JsonType::String => "a string",
    }
}

fn expected_types(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => json_type_name(*t).to_string(),
        TypeKind::Multiple(set) => {
            let names: Vec<&str> = set.iter().map(json_type_name).collect();
            match names.split_last() {
                Some((last, [])) => (*last).to_string(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => "a value".to_string(),
            }
        }
    }
}

fn type_hint(kind: &TypeKind, node: &Node) -> String {
    let wants_string = match kind {
        TypeKind::Single(t) => *t == JsonType::String,
        TypeKind::Multiple(set) => set.contains(JsonType::String),
    };
    if node.value == super::node::Value::Null {
        "give the key a value, or remove it".into()
    } else if wants_string
        && !matches!(
            node.value,
            super::node::Value::Seq(_) | super::node::Value::Map(_)
        )
    {
        "quote the value to make it a string".into()
    } else {
        format!("write {} here", expected_types(kind))
    }
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The closest candidate by edit distance, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::node::parse_documents;

    fn check(kind: &str, text: &str) -> Vec<(u32, u32, String, Option<String>)> {
        let docs = parse_documents(text, 0).unwrap();
        SchemaChecker::new()
            .check(kind, &docs[0])
            .into_iter()
            .map(|d| {
                let loc = d.loc.unwrap_or_default();
                (loc.line, loc.column, d.message, d.hint)
            })
            .collect()
    }

    #[test]
    fn every_problem_of_a_document_is_reported() {
        let errors = check(
            "Topic",
            "kind: Topic\nname: t\npartitons: 4\nreplication_factor: three\nconfig: {a: [1]}\n",
        );
        assert_eq!(
            errors,
            vec![
                (
                    1,
                    1,
                    "missing required key `partitions`".into(),
                    Some("add `partitions:` to this mapping".into())
                ),
                (
                    3,
                    1,
                    "unknown key `partitons`".into(),
                    Some("did you mean `partitions`?".into())
                ),
                (
                    4,
                    21,
                    "`replication_factor` must be an integer, found a string".into(),
                    Some("write an integer here".into())
                ),
                (
                    5,
                    13,
                    "`a` must be a boolean, a number or a string, found a list".into(),
                    Some("write a boolean, a number or a string here".into())
                ),
            ]
        );
    }

    #[test]
    fn enums_suggest_the_closest_value() {
        let errors = check(
            "Sink",
            "kind: Sink\nname: s\nauth: {strategy: aplication}\nroutes: []\n",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].2,
            "`strategy` must be one of application, managed_identity, workload_identity, found `aplication`"
        );
        assert_eq!(errors[0].3.as_deref(), Some("did you mean `application`?"));
    }

    #[test]
    fn nested_unknown_keys_point_at_the_key() {
        let errors = check(
            "Table",
            "kind: Table\nname: T\ncolumns:\n  - name: A\n    typ: int\n",
        );
        assert_eq!(
            errors,
            vec![
                (
                    4,
                    5,
                    "missing required key `type`".into(),
                    Some("add `type:` to this mapping".into())
                ),
                (
                    5,
                    5,
                    "unknown key `typ`".into(),
                    Some("did you mean `type`?".into())
                ),
            ]
        );
    }

    /// The check over nodes says yes exactly when the check over the document's JSON copy does,
    /// for every document of the examples and the invalid fixtures, every document of each kind
    /// checked as every kind, and shapes only nodes have (complex keys, numbers as keys).
    #[test]
    fn the_check_over_nodes_agrees_with_the_check_over_json() {
        let checker = SchemaChecker::new();
        let on_json: BTreeMap<&str, Validator> = kind_schemas(&checker.root)
            .map(|(kind, schema)| (kind, jsonschema::validator_for(&schema).unwrap()))
            .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut problems = Vec::new();
        let files = crate::manifest::files::collect(
            &[root.join("examples"), root.join("tests/fixtures/invalid")],
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let mut texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        texts.extend(
            [
                "kind: Table\nname: T\ncolumns: [{name: A, type: int}]\n? [a]\n: 1\n? [b]\n: 2\n",
                "kind: Table\nname: T\ncolumns: [{name: A, type: int}]\n? {a: 1}\n: 1\n",
                "kind: Topic\nname: t\npartitions: 1.0\n",
                "kind: Topic\nname: t\npartitions: 1.5\n",
                "kind: Topic\nname: t\npartitions: -1\n",
                "kind: Topic\nname: t\npartitions: .inf\n",
                "kind: Topic\nname: t\npartitions: 3\nreplication_factor: 99999999999999\n",
                "kind: Topic\nname: 12\npartitions: 3\n1: x\n",
                "kind: Topic\nname: t\npartitions: 3\nconfig: {a: 1, b: 1.5, c: true, d: x, 1: 2}\n",
                "kind: Table\nname: T\ncolumns: [{name: A, type: int}]\nretention: {soft_delete: 1d, recoverability: true}\n",
                "kind: Table\nname: T\ncolumns: []\ningestion_batching: {max_items: 0.0}\n",
                "kind: Sink\nname: s\nauth: {strategy: application, app_key: {env: K}}\nroutes: []\n",
                "kind: Sink\nname: s\nauth: {strategy: 1}\nroutes: []\n",
            ]
            .map(str::to_string),
        );
        let mut checked = 0;
        for text in &texts {
            let Ok(docs) = parse_documents(text, 0) else {
                continue;
            };
            for doc in &docs {
                for (kind, _) in KINDS {
                    let expected = on_json[kind].is_valid(&doc.to_json());
                    let got = checker.on_nodes[kind].is_valid(doc);
                    assert_eq!(got, expected, "{kind}: {doc:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn secret_refs_accept_both_forms() {
        let ok = "kind: Sink\nname: s\nauth:\n  strategy: application\n  app_key: {env: KEY}\nroutes: []\n";
        assert_eq!(check("Sink", ok), vec![]);
        let bad = "kind: Sink\nname: s\nauth:\n  strategy: application\n  app_key: {env: KEY, x: 1}\nroutes: []\n";
        let errors = check("Sink", bad);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].2, "unknown key `x`");
    }
}
