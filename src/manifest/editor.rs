//! The schema published for editors (`schemas/kustoplan.schema.json`): the structural schema
//! of [`super::spec`] plus what `validate` checks that JSON Schema can say, and `${var.NAME}`
//! wherever substitution can put a typed value.
//!
//! Editors see a file as written, before `${var.NAME}` substitution, so every number, boolean
//! and enum here also accepts a whole variable reference, and every constrained string one that
//! holds a variable anywhere (`${var.days}d`). `validate` checks the
//! substituted documents against the structural schema instead ([`super::schema::SchemaChecker`])
//! and reports the rules added here with its own messages and hints; this file only mirrors
//! them, from the same constants, so an editor flags a manifest `validate` would reject.

use serde_json::{Map, Value as Json, json};

use super::schema::KINDS;
use super::validate::{BATCHING_ITEMS, BATCHING_SIZE_MB, DERIVED_KEYS, FLUSH_MIN, transforms};
use super::vars::{CONTAINED_REFERENCE_PATTERN, WHOLE_REFERENCE_PATTERN};
use crate::model::connect::{PLACEHOLDER_PATTERN, REFERENCE_ONLY_KEY_PATTERN};
use crate::model::{
    ColumnType, DataFormat, KAFKA_TOPIC_MAX, KAFKA_TOPIC_PATTERN, KUSTO_NAME_MAX,
    KUSTO_NAME_PATTERN, MappingKind, SINK_SAFE_NAME_PATTERN,
};

/// The `$defs` entry of a whole `${var.NAME}` reference, which a number or boolean may be.
pub const VAR_REF: &str = "VarRef";

/// The `$defs` entry of a string holding a `${var.NAME}`, which a constrained string may be.
pub const VAR_IN_STRING: &str = "VarInString";

/// The `$defs` entry of a secret kustoplan reads itself: only `{env: NAME}`.
const ENV_SECRET_REF: &str = "EnvSecretRef";

/// The `$defs` entry of a column, parameter or mapping data type.
const COLUMN_TYPE: &str = "ColumnType";

/// The `$defs` entry of a mapping transformation.
const TRANSFORM: &str = "MappingTransform";

/// Definitions that keep their exact form: the stack's variable values, which are never
/// substituted, and the `kind` tags, which tell documents apart before anything is substituted.
fn exact_forms(defs: &Map<String, Json>) -> Vec<String> {
    let kind_tags = KINDS.iter().filter_map(|(_, doc)| {
        let tag = defs.get(*doc)?.pointer("/properties/kind/$ref")?.as_str()?;
        tag.rsplit('/').next().map(str::to_string)
    });
    kind_tags.chain(["VarValue".to_string()]).collect()
}

/// The editor schema made from the structural one.
pub fn editor_schema(mut schema: Json) -> Json {
    drop_rust_annotations(&mut schema);
    if let Some(defs) = schema.get_mut("$defs").and_then(Json::as_object_mut) {
        defs.extend(added_defs());
        for (pointer, extra) in constraints() {
            if let Some(Json::Object(target)) = defs_pointer_mut(defs, pointer)
                && let Json::Object(extra) = extra
            {
                target.extend(extra);
            }
        }
        let exact = exact_forms(defs);
        for (name, def) in defs.iter_mut() {
            if !exact.contains(name) {
                accept_var_refs(def);
            }
        }
        defs.insert(
            VAR_REF.into(),
            json!({
                "type": "string",
                "pattern": WHOLE_REFERENCE_PATTERN,
                "description": "A Stack variable, `${var.NAME}`, replaced by its value (with the value's type) before any check."
            }),
        );
        defs.insert(
            VAR_IN_STRING.into(),
            json!({
                "type": "string",
                "pattern": CONTAINED_REFERENCE_PATTERN,
                "description": "A string holding Stack variables (`${var.NAME}`), checked once they are replaced."
            }),
        );
    }
    schema
}

/// `pointer` (`/Def` or `/Def/properties/key`) inside `$defs`.
fn defs_pointer_mut<'a>(defs: &'a mut Map<String, Json>, pointer: &str) -> Option<&'a mut Json> {
    let path = pointer.trim_start_matches('/');
    match path.split_once('/') {
        Some((def, rest)) => defs.get_mut(def)?.pointer_mut(&format!("/{rest}")),
        None => defs.get_mut(path),
    }
}

/// A timespan as [`crate::model::Timespan::parse`] reads it: units (`10s`, `1h30m`, `500ms`)
/// or the clock form `[d.]hh:mm:ss[.f]`. Its range is left to `validate`.
const TIMESPAN_PATTERN: &str =
    r"^\s*((\d+(ms|[smhd]))+|(\d+\.)?0*(1?\d|2[0-3]):0*[1-5]?\d:[0-5]\d(\.\d*)?)\s*$";

/// A date or UTC instant as [`crate::model::normalize_instant`] reads it (hot windows).
const INSTANT_PATTERN: &str = r"^\s*\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?(\.\d+)?)?[Zz]?\s*$";

/// What validation rejects that a schema can express, by `$defs` pointer; each value's keys are
/// added to (or replace those of) the schema there.
fn constraints() -> Vec<(&'static str, Json)> {
    let oauth_used = json!({
        "properties": {
            "protocol": { "not": { "enum": ["plaintext", "ssl"] } },
            "sasl_mechanism": { "not": { "enum": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] } }
        },
        "required": ["protocol", "sasl_mechanism"]
    });
    let column_types = json!({ "$ref": format!("#/$defs/{COLUMN_TYPE}") });
    let non_blank = json!({ "pattern": r"\S" });
    let placeholder = json!({ "pattern": PLACEHOLDER_PATTERN });
    let connect_secret_keys = json!({
        "patternProperties": {
            any_case(REFERENCE_ONLY_KEY_PATTERN): {
                "type": "string",
                "pattern": PLACEHOLDER_PATTERN,
                "description": "A credential, by reference only: a Connect config-provider placeholder such as `${file:/opt/connect/secrets.properties:KEY}`."
            }
        }
    });
    let mut sink_config = connect_secret_keys.clone();
    if let Some(obj) = sink_config.as_object_mut() {
        let derived: Vec<&str> = DERIVED_KEYS.iter().map(|(k, _)| *k).collect();
        obj.insert(
            "propertyNames".into(),
            json!({ "not": { "enum": derived } }),
        );
    }
    let timespan = json!({ "pattern": TIMESPAN_PATTERN });
    let kusto_name = json!({ "pattern": KUSTO_NAME_PATTERN, "maxLength": KUSTO_NAME_MAX });
    let topic = json!({ "pattern": KAFKA_TOPIC_PATTERN, "maxLength": KAFKA_TOPIC_MAX });
    let kusto_names = [
        "/DatabaseDoc/properties/name",
        "/TableDoc/properties/name",
        "/TableDoc/properties/renamed_from",
        "/ColumnSpec/properties/name",
        "/ColumnSpec/properties/renamed_from",
        "/MappingSpec/properties/name",
        "/FunctionDoc/properties/name",
        "/FunctionDoc/properties/renamed_from",
        "/MaterializedViewDoc/properties/name",
        "/UpdatePolicySpec/properties/source",
    ]
    .map(|pointer| (pointer, kusto_name.clone()));
    let topics = [
        "/TopicDoc/properties/name",
        "/RouteSpec/properties/topic",
        "/DeadLetterQueue/properties/topic",
    ]
    .map(|pointer| (pointer, topic.clone()));
    let names = kusto_names.into_iter().chain(topics).chain([(
        "/StackDoc/properties/name",
        json!({ "pattern": SINK_SAFE_NAME_PATTERN }),
    )]);
    names
        .chain([
            ("/BatchingSpec/properties/max_time", timespan.clone()),
            ("/RetentionSpec/properties/soft_delete", timespan.clone()),
            ("/CachingSpec/properties/hot", timespan.clone()),
            ("/MaterializedViewDoc/properties/lookback", timespan),
            (
                "/HotWindowSpec/properties/from",
                json!({ "pattern": INSTANT_PATTERN }),
            ),
            (
                "/HotWindowSpec/properties/to",
                json!({ "pattern": INSTANT_PATTERN }),
            ),
            ("/ColumnSpec/properties/type", column_types.clone()),
            ("/ParameterSpec/properties/type", column_types.clone()),
            ("/MappingColumnSpec/properties/datatype", column_types),
            (
                "/MappingColumnSpec/properties/transform",
                json!({ "$ref": format!("#/$defs/{TRANSFORM}") }),
            ),
            (
                "/MappingSpec/properties/kind",
                any_case_choice(MappingKind::ALL.iter().map(|k| k.as_kql())),
            ),
            (
                "/RouteSpec/properties/format",
                any_case_choice(DataFormat::names()),
            ),
            (
                "/Converter/properties/class",
                json!({
                    "pattern": r"^(json|string|bytearray|avro)$|\.",
                    "examples": ["json", "string", "bytearray", "avro"]
                }),
            ),
            (
                "/BatchingSpec/properties/max_items",
                json!({ "minimum": BATCHING_ITEMS.0, "maximum": BATCHING_ITEMS.1 }),
            ),
            (
                "/BatchingSpec/properties/max_raw_size_mb",
                json!({ "minimum": BATCHING_SIZE_MB.0, "maximum": BATCHING_SIZE_MB.1 }),
            ),
            ("/TopicDoc/properties/partitions", json!({ "minimum": 1 })),
            (
                "/TopicDoc/properties/replication_factor",
                json!({ "minimum": 1 }),
            ),
            ("/SinkDoc/properties/tasks_max", json!({ "minimum": 1 })),
            (
                "/Flush/properties/size_bytes",
                json!({ "minimum": FLUSH_MIN }),
            ),
            (
                "/Flush/properties/interval_ms",
                json!({ "minimum": FLUSH_MIN }),
            ),
            (
                "/PrincipalSpec",
                // Each branch names its key in `properties` too, as strict validators require.
                json!({
                    "oneOf": [
                        { "required": ["app"], "properties": { "app": true } },
                        { "required": ["user"], "properties": { "user": true } },
                        { "required": ["group"], "properties": { "group": true } }
                    ]
                }),
            ),
            ("/PrincipalSpec/properties/app", non_blank.clone()),
            ("/PrincipalSpec/properties/user", non_blank.clone()),
            ("/PrincipalSpec/properties/group", non_blank.clone()),
            ("/SecretRef/anyOf/0", placeholder),
            ("/SecretRef/anyOf/1/properties/env", non_blank),
            (
                "/AadAuth/properties/client_secret",
                json!({ "$ref": format!("#/$defs/{ENV_SECRET_REF}") }),
            ),
            (
                "/KafkaSecurity/properties/password",
                json!({ "$ref": format!("#/$defs/{ENV_SECRET_REF}") }),
            ),
            (
                "/ConnectTarget/properties/password",
                json!({ "$ref": format!("#/$defs/{ENV_SECRET_REF}") }),
            ),
            (
                "/KafkaTarget/properties/properties",
                connect_secret_keys.clone(),
            ),
            ("/Converter/properties/properties", connect_secret_keys),
            ("/SinkDoc/properties/config", sink_config),
            (
                "/SinkAuth",
                json!({ "allOf": [
                    needs("strategy", "application", &["app_id", "tenant_id", "app_key"]),
                    needs("strategy", "workload_identity", &["app_id", "tenant_id"]),
                ] }),
            ),
            (
                "/KafkaSecurity",
                // OAUTHBEARER on a SASL protocol signs in with `auth`, without user or password.
                json!({ "allOf": [{
                    "if": {
                        "properties": {
                            "protocol": { "enum": ["sasl_plaintext", "sasl_ssl"] },
                            "sasl_mechanism": { "const": "OAUTHBEARER" }
                        },
                        "required": ["protocol", "sasl_mechanism"]
                    },
                    "then": {
                        "properties": { "auth": true, "username": false, "password": false },
                        "required": ["auth"]
                    }
                },
                // An Entra ID credential or a scope only where an OAUTHBEARER token is used (a
                // variable protocol or mechanism is left to `validate`).
                {
                    "if": {
                        "properties": { "auth": {
                            "type": "object",
                            "properties": { "method": { "enum": [
                                "workload_identity", "client_secret", "managed_identity", "azure_cli"
                            ] } },
                            "required": ["method"]
                        } },
                        "required": ["auth"]
                    },
                    "then": oauth_used.clone()
                },
                {
                    "if": { "properties": { "scope": true }, "required": ["scope"] },
                    "then": oauth_used
                }] }),
            ),
            (
                "/AadAuth",
                json!({ "allOf": [
                    needs("method", "workload_identity", &["tenant_id", "client_id"]),
                    needs("method", "client_secret", &["tenant_id", "client_id", "client_secret"]),
                ] }),
            ),
        ])
        .collect()
}

/// The keys an auth mapping needs when its `selector` is `value` (when it is a variable, only
/// `validate` knows). Each key is named in `properties` too, as strict validators require.
fn needs(selector: &str, value: &str, keys: &[&str]) -> Json {
    let named: Map<String, Json> = keys.iter().map(|k| ((*k).into(), json!(true))).collect();
    json!({
        "if": { "properties": { selector: { "const": value } }, "required": [selector] },
        "then": { "properties": named, "required": keys }
    })
}

/// Definitions the structural schema lacks, shared by several keys: a secret kustoplan reads
/// itself (a Connect placeholder would reach it unresolved), and the value sets named once so
/// editors and the reference show one name instead of every value at every key.
fn added_defs() -> [(String, Json); 3] {
    [
        (
            ENV_SECRET_REF.into(),
            json!({
                "description": "A secret kustoplan reads itself, by reference only: `{env: NAME}`. Literal secrets and Connect placeholders are rejected.",
                "type": "object",
                "properties": {"env": {"type": "string", "pattern": r"\S", "description": "Environment variable name."}},
                "required": ["env"],
                "additionalProperties": false
            }),
        ),
        (
            COLUMN_TYPE.into(),
            json!({
                "description": "A Kusto scalar type: its name, an alias, or the CLR name `.show ... schema as json` reports.",
                "type": "string",
                "enum": ColumnType::spellings().collect::<Vec<_>>()
            }),
        ),
        (
            TRANSFORM.into(),
            json!({
                "description": "A mapping transformation; `validate` also checks it suits the mapping's kind.",
                "type": "string",
                "enum": transforms().collect::<Vec<_>>()
            }),
        ),
    ]
}

/// A string matching one of `names` in any case (as Kusto and the sink read them), offering the
/// names themselves as completions.
fn any_case_choice<'a>(names: impl Iterator<Item = &'a str>) -> Json {
    let names: Vec<&str> = names.collect();
    let choices: Vec<String> = names.iter().map(|n| any_case(&regex_escape(n))).collect();
    json!({
        "pattern": format!("^({})$", choices.join("|")),
        "examples": names
    })
}

/// `text` as a literal inside a regular expression.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = !c.is_ascii_alphanumeric() && c != '_';
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// A regular expression that matches in any case: JSON Schema patterns have no flags, so each
/// ASCII letter becomes a class of both cases (escapes are copied as they are).
fn any_case(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                out.extend(chars.next());
            }
            c if c.is_ascii_alphabetic() => {
                out.push('[');
                out.push(c.to_ascii_lowercase());
                out.push(c.to_ascii_uppercase());
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// Removes what schemars writes for Rust's benefit: integer `format`s no JSON Schema tool
/// knows (their bounds become `minimum`/`maximum`), and `default: null` on optional keys,
/// which an editor would offer to insert although the schema rejects `null`.
fn drop_rust_annotations(value: &mut Json) {
    match value {
        Json::Object(obj) => {
            let format = obj.get("format").and_then(Json::as_str).unwrap_or_default();
            let max = match format {
                "uint8" => Some(u64::from(u8::MAX)),
                "uint16" => Some(u64::from(u16::MAX)),
                "uint32" => Some(u64::from(u32::MAX)),
                _ => None,
            };
            let numeric = ["int", "uint"].iter().any(|p| format.starts_with(p))
                || matches!(format, "float" | "double");
            if numeric {
                obj.remove("format");
            }
            if let Some(max) = max {
                obj.entry("maximum").or_insert(json!(max));
            }
            if obj.get("default") == Some(&Json::Null) {
                obj.remove("default");
            }
            obj.values_mut().for_each(drop_rust_annotations);
        }
        Json::Array(items) => items.iter_mut().for_each(drop_rust_annotations),
        _ => {}
    }
}

/// Whether a schema describes one constrained scalar: an enum, a number, a boolean, or a
/// string whose pattern a variable reference does not match. A plain string already accepts
/// `${var.NAME}`.
fn is_constrained_scalar(obj: &Map<String, Json>) -> bool {
    let consts = |key: &str| {
        obj.get(key)
            .and_then(Json::as_array)
            .is_some_and(|b| !b.is_empty() && b.iter().all(|b| b.get("const").is_some()))
    };
    if obj.contains_key("enum") || obj.contains_key("const") || consts("oneOf") {
        return true;
    }
    match obj.get("type").and_then(Json::as_str) {
        Some("integer" | "number" | "boolean") => true,
        Some("string") => obj
            .get("pattern")
            .and_then(Json::as_str)
            .is_some_and(|p| !regex::Regex::new(p).is_ok_and(|re| re.is_match("${var.NAME}"))),
        _ => false,
    }
}

/// Whether a constrained scalar is a string (its variables may sit anywhere in it) rather
/// than a number or boolean (which only a whole reference can stand for).
fn is_string(obj: &Map<String, Json>) -> bool {
    let strings = |values: Option<&Json>, of: fn(&Json) -> Option<&Json>| {
        values
            .and_then(Json::as_array)
            .is_some_and(|v| v.iter().all(|v| of(v).is_some_and(Json::is_string)))
    };
    obj.get("type").and_then(Json::as_str) == Some("string")
        || obj.get("const").is_some_and(Json::is_string)
        || strings(obj.get("enum"), |v| Some(v))
        || strings(obj.get("oneOf"), |b| b.get("const"))
}

/// Lets every constrained scalar in `schema` also be a `${var.NAME}` reference: a whole one
/// for numbers and booleans, one anywhere in a string.
fn accept_var_refs(schema: &mut Json) {
    let Json::Object(obj) = schema else {
        return;
    };
    if is_constrained_scalar(obj) {
        let mut outer = Map::new();
        for annotation in ["title", "description", "default"] {
            if let Some(v) = obj.remove(annotation) {
                outer.insert(annotation.into(), v);
            }
        }
        let variable = if is_string(obj) {
            VAR_IN_STRING
        } else {
            VAR_REF
        };
        let inner = Json::Object(std::mem::take(obj));
        outer.insert(
            "anyOf".into(),
            json!([inner, { "$ref": format!("#/$defs/{variable}") }]),
        );
        *obj = outer;
        return;
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = obj.get_mut(key) {
            accept_var_refs(child);
        }
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Json::Object(children)) = obj.get_mut(key) {
            children.values_mut().for_each(accept_var_refs);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Json::Array(branches)) = obj.get_mut(key) {
            branches.iter_mut().for_each(accept_var_refs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schema::structural_schema;

    #[test]
    fn every_constraint_lands_on_an_existing_key() {
        let mut schema = structural_schema();
        let Some(defs) = schema.get_mut("$defs").and_then(Json::as_object_mut) else {
            panic!("no $defs");
        };
        for (pointer, _) in constraints() {
            assert!(
                matches!(defs_pointer_mut(defs, pointer), Some(Json::Object(_))),
                "{pointer} is not in the structural schema: was the field renamed?"
            );
        }
    }

    #[test]
    fn the_timespan_pattern_accepts_what_the_parser_reads() {
        let pattern = regex::Regex::new(TIMESPAN_PATTERN).expect("pattern");
        for text in [
            "10s",
            "500ms",
            "5m",
            "1h30m",
            "2d",
            "365000d",
            "00:00:10",
            "00:02:00",
            "1.00:00:00",
            "0:5:00",
            "23:59:59.5",
            "00:00:10.",
            " 30s ",
            "0s",
            "x",
            "10",
            "1w",
            "24:00:00",
            "00:60:00",
            "00:00:7",
            "1:2",
            "10 s",
            "-5m",
            "",
        ] {
            assert_eq!(
                pattern.is_match(text),
                crate::model::Timespan::parse(text).is_some(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_instant_pattern_accepts_what_the_parser_reads() {
        let pattern = regex::Regex::new(INSTANT_PATTERN).expect("pattern");
        for text in [
            "2026-01-01",
            "2026-01-01Z",
            "2026-01-01T06:00:00Z",
            "2026-01-01 06:00",
            "2026-01-01t06:00:00.250z",
            " 2026-12-31T23:59:59 ",
            "2026-13-01",
            "2026-00-10",
            "2026-01-32",
            "2026-1-01",
            "26-01-01",
            "2026-01-01T",
            "2026-01-01T24:00",
            "2026-01-01T06",
            "2026-01-01T06:00:00+01:00",
            "2026-01-01T06:00:00.",
            "2026-01-01 Z",
            "",
        ] {
            assert_eq!(
                pattern.is_match(text),
                crate::model::normalize_instant(text).is_some(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn any_case_keeps_escapes() {
        assert_eq!(any_case(r"a\.b$"), r"[aA]\.[bB]$");
        assert_eq!(regex_escape("w3c.log"), r"w3c\.log");
    }

    #[test]
    fn scalars_accept_a_whole_variable_and_kinds_do_not() {
        let schema = editor_schema(structural_schema());
        let topic = &schema["$defs"]["TopicDoc"]["properties"];
        assert_eq!(
            topic["partitions"]["anyOf"][1]["$ref"],
            json!("#/$defs/VarRef")
        );
        assert_eq!(topic["partitions"]["anyOf"][0]["minimum"], json!(1));
        assert!(schema["$defs"]["TopicKind"].get("anyOf").is_none());
        assert_eq!(
            schema["$defs"]["ConnectorState"]["anyOf"][1]["$ref"],
            json!("#/$defs/VarInString")
        );
    }
}
