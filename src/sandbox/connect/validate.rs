//! `PUT /connector-plugins/{class}/config/validate` for the Kusto sink: the framework's
//! field rules, the sink's documented rules, and the response shape of a Connect 4.3 worker
//! (`{"name","error_count","groups","configs":[{"definition","value"}]}`).
//!
//! Messages follow Kafka's `ConfigException` wording (`Invalid value V for configuration K:
//! reason`, `Missing required configuration "K" which has no default value.`), so that
//! clients see the same text from the sandbox as from a worker running the stand-in plugin.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::defs::{Check, FRAMEWORK_KEYS, KUSTO_SINK_CLASS, KeyDef, Kind, SINK_KEYS};

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.-]+$").unwrap_or_else(|e| panic!("{e}")));
static FORMAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9]+$").unwrap_or_else(|e| panic!("{e}")));

/// The outcome of validating one config.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// The response body, shaped like a Connect 4.3 worker's.
    pub body: Value,
    /// Every error message, in key order (what `PUT /connectors/N/config` reports).
    pub errors: Vec<String>,
}

/// One key's parsed value and errors.
struct Checked {
    def: KeyDef,
    value: Option<String>,
    errors: Vec<String>,
}

fn invalid(name: &str, value: &str, reason: &str) -> String {
    format!("Invalid value {value} for configuration {name}: {reason}")
}

/// Parses and checks one key the way `ConfigDef.validate` does: a parse error nulls the
/// value, then the validator runs on whatever value is left.
fn check_key(def: KeyDef, config: &BTreeMap<String, String>) -> Checked {
    let mut errors = Vec::new();
    let raw = config.get(def.name);
    let mut value: Option<String> = match raw {
        Some(v) => parse(def, v).map_err(|e| errors.push(e)).ok(),
        None if def.required => {
            errors.push(format!(
                "Missing required configuration \"{}\" which has no default value.",
                def.name
            ));
            None
        }
        None => def.default.map(str::to_string),
    };
    if let Some(e) = validate(def, value.as_deref()) {
        errors.push(e);
    }
    if def.kind == Kind::Password && raw.is_some() && value.is_some() {
        value = Some("[hidden]".to_string());
    }
    Checked { def, value, errors }
}

fn parse(def: KeyDef, raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let ok = match def.kind {
        Kind::Int => trimmed.parse::<i32>().is_ok(),
        Kind::Long => trimmed.parse::<i64>().is_ok(),
        Kind::Short => trimmed.parse::<i16>().is_ok(),
        Kind::Boolean => {
            if !(trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false")) {
                return Err(invalid(
                    def.name,
                    raw,
                    "Expected value to be either true or false",
                ));
            }
            return Ok(trimmed.to_ascii_lowercase());
        }
        Kind::String | Kind::Class | Kind::List | Kind::Password => return Ok(raw.to_string()),
    };
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(invalid(
            def.name,
            raw,
            &format!("Not a number of type {}", def.kind.as_str()),
        ))
    }
}

fn validate(def: KeyDef, value: Option<&str>) -> Option<String> {
    match def.check {
        Check::None => None,
        Check::AtLeast(min) => match value {
            None => Some(invalid(def.name, "null", "Value must be non-null")),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n < min => Some(invalid(
                    def.name,
                    v,
                    &format!("Value must be at least {min}"),
                )),
                _ => None,
            },
        },
        Check::OneOf(allowed) => {
            let v = value?;
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) {
                None
            } else {
                Some(invalid(
                    def.name,
                    v,
                    &format!(
                        "String must be one of (case insensitive): {}",
                        allowed.join(", ")
                    ),
                ))
            }
        }
        Check::Url => {
            let v = value?;
            match reqwest::Url::parse(v.trim()) {
                Err(_) => Some(invalid(def.name, v, "Not a valid URL")),
                Ok(u) if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() => {
                    Some(invalid(def.name, v, "Must be an absolute http(s) URL"))
                }
                Ok(_) => None,
            }
        }
        Check::Mapping => {
            let v = value?;
            parse_mapping(v)
                .err()
                .map(|reason| invalid(def.name, v, &reason))
        }
    }
}

/// One route of `kusto.tables.topics.mapping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Kafka topic (`*` routes every unmapped topic).
    pub topic: String,
    /// Kusto database.
    pub db: String,
    /// Kusto table.
    pub table: String,
    /// Data format (`json`, `csv`, ...), when given.
    pub format: Option<String>,
    /// Ingestion mapping reference, when given.
    pub mapping: Option<String>,
    /// Managed streaming ingestion for this route.
    pub streaming: bool,
}

/// Parses `kusto.tables.topics.mapping` like the sink: a JSON array (single-quoted strings
/// allowed) of objects with non-empty `topic`, `db` and `table`; `db`, `table` and `mapping`
/// must match `^[A-Za-z0-9_.-]+$`, `format` `^[A-Za-z0-9]+$`; `streaming` is a boolean.
/// The error is the sink's message for the first problem.
pub fn parse_mapping(value: &str) -> Result<Vec<Route>, String> {
    let json = single_to_double_quotes(value);
    let root: Value = serde_json::from_str(&json)
        .map_err(|e| format!("Error parsing kusto.tables.topics.mapping as JSON: {e}"))?;
    let Value::Array(items) = root else {
        return Err("Must be a JSON array of mappings".to_string());
    };
    let mut routes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(format!("Mapping {i} is not a JSON object"));
        };
        let text = |key: &str| -> Option<String> {
            match obj.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            }
        };
        for key in ["topic", "db", "table"] {
            if text(key).is_none_or(|v| v.is_empty()) {
                return Err(format!("'{key}' must be provided for each mapping"));
            }
        }
        for (key, pattern, required) in [
            ("db", &*NAME, true),
            ("table", &*NAME, true),
            ("mapping", &*NAME, false),
            ("format", &*FORMAT, false),
        ] {
            if let Some(v) = text(key)
                && (required || !v.is_empty())
                && !pattern.is_match(&v)
            {
                return Err(format!(
                    "Invalid '{key}' value '{v}': must match {}",
                    pattern.as_str()
                ));
            }
        }
        let streaming = match obj.get("streaming") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(format!("'streaming' must be true or false in mapping {i}")),
        };
        routes.push(Route {
            topic: text("topic").unwrap_or_default(),
            db: text("db").unwrap_or_default(),
            table: text("table").unwrap_or_default(),
            format: text("format").filter(|f| !f.is_empty()),
            mapping: text("mapping").filter(|m| !m.is_empty()),
            streaming,
        });
    }
    Ok(routes)
}

/// Rewrites single-quoted JSON strings as double-quoted ones (Jackson's
/// `ALLOW_SINGLE_QUOTES`), leaving double-quoted strings alone.
fn single_to_double_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for d in chars.by_ref() {
                    out.push(d);
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        break;
                    }
                }
            }
            '\'' => {
                out.push('"');
                let mut escaped = false;
                for d in chars.by_ref() {
                    if escaped {
                        if d != '\'' {
                            out.push('\\');
                        }
                        out.push(d);
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '\'' {
                        break;
                    } else if d == '"' {
                        out.push_str("\\\"");
                    } else {
                        out.push(d);
                    }
                }
                out.push('"');
            }
            other => out.push(other),
        }
    }
    out
}

/// Cross-field rules: `topics` xor `topics.regex` (framework), credentials required by
/// the auth strategy and the query URL required by table validation (sink).
fn cross_field(checked: &mut [Checked], config: &BTreeMap<String, String>) {
    let set = |k: &str| config.get(k).is_some_and(|v| !v.trim().is_empty());
    match (set("topics"), set("topics.regex")) {
        (true, true) => {
            let m = "topics and topics.regex are mutually exclusive options, but both are set.";
            add_error(checked, "topics", m);
            add_error(checked, "topics.regex", m);
        }
        (false, false) => {
            let m = "Must configure one of topics or topics.regex";
            add_error(checked, "topics", m);
            add_error(checked, "topics.regex", m);
        }
        _ => {}
    }
    if has_errors(checked, "aad.auth.strategy") {
        return;
    }
    let mut need = |key: &str, message: &str| {
        if !set(key) && !has_errors(checked, key) {
            add_error(checked, key, message);
        }
    };
    let strategy = config
        .get("aad.auth.strategy")
        .map_or("application".to_string(), |s| s.trim().to_ascii_lowercase());
    if strategy == "application" {
        for key in ["aad.auth.appid", "aad.auth.appkey", "aad.auth.authority"] {
            need(
                key,
                &format!("{key} must be set when aad.auth.strategy is 'application'"),
            );
        }
    } else if strategy == "az_dev_token" {
        need(
            "aad.auth.accesstoken",
            "aad.auth.accesstoken must be set when aad.auth.strategy is 'az_dev_token'",
        );
    }
    if config
        .get("kusto.validation.table.enable")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        need(
            "kusto.query.url",
            "kusto.query.url must be set when kusto.validation.table.enable is true",
        );
    }
}

fn add_error(checked: &mut [Checked], key: &str, message: &str) {
    if let Some(c) = checked.iter_mut().find(|c| c.def.name == key) {
        c.errors.push(message.to_string());
    }
}

fn has_errors(checked: &[Checked], key: &str) -> bool {
    checked
        .iter()
        .any(|c| c.def.name == key && !c.errors.is_empty())
}

/// Every key of `config` checked, cross-field rules included.
fn check_kusto_sink(config: &BTreeMap<String, String>) -> Vec<Checked> {
    let mut checked: Vec<Checked> = FRAMEWORK_KEYS
        .iter()
        .chain(SINK_KEYS)
        .map(|def| check_key(*def, config))
        .collect();
    cross_field(&mut checked, config);
    checked
}

/// The errors [`validate_kusto_sink`] lists for `config`, without building its response body:
/// a connector write needs only these, and the body (every key's definition as JSON) cost
/// more than the check itself.
pub fn kusto_sink_errors(config: &BTreeMap<String, String>) -> Vec<String> {
    check_kusto_sink(config)
        .into_iter()
        .flat_map(|c| c.errors)
        .collect()
}

/// Validates `config` for the Kusto sink and builds the response body, shaped like a
/// Connect 4.3 worker's (`name` is the sink class, as Connect echoes the plugin).
pub fn validate_kusto_sink(config: &BTreeMap<String, String>) -> Validation {
    let checked = check_kusto_sink(config);
    let mut groups: Vec<&str> = Vec::new();
    for c in &checked {
        if !groups.contains(&c.def.group) {
            groups.push(c.def.group);
        }
    }
    let errors: Vec<String> = checked.iter().flat_map(|c| c.errors.clone()).collect();
    let configs: Vec<Value> = checked
        .iter()
        .map(|c| {
            json!({
                "definition": {
                    "name": c.def.name,
                    "type": c.def.kind.as_str(),
                    "required": c.def.required,
                    "default_value": c.def.default,
                    "importance": c.def.importance,
                    "documentation": c.def.documentation,
                    "group": c.def.group,
                    "order_in_group": c.def.order,
                    "width": c.def.width,
                    "display_name": c.def.display,
                    "dependents": [],
                },
                "value": {
                    "name": c.def.name,
                    "value": c.value,
                    "recommended_values": [],
                    "errors": c.errors,
                    "visible": true,
                },
            })
        })
        .collect();
    Validation {
        body: json!({
            "name": KUSTO_SINK_CLASS,
            "error_count": errors.len(),
            "groups": groups,
            "configs": configs,
        }),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_errors_alone_are_those_of_the_full_validation() {
        let configs = [
            vec![],
            vec![("tasks.max", "x"), ("aad.auth.strategy", "az_dev_token")],
            vec![
                ("connector.class", KUSTO_SINK_CLASS),
                ("kusto.validation.table.enable", "true"),
                ("kusto.tables.topics.mapping", "[{'topic': 't'}]"),
            ],
        ];
        for pairs in configs {
            let config: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let full = validate_kusto_sink(&config);
            assert!(!full.errors.is_empty(), "{config:?}");
            assert_eq!(kusto_sink_errors(&config), full.errors, "{config:?}");
        }
    }

    #[test]
    fn mappings_with_single_quotes_and_rules() {
        let routes = parse_mapping(
            "[{'topic': 'gameplay','db': 'db', 'table': 'GamePlay','format': 'json', \
             'mapping':'gameplay_json_mapping', 'streaming': 'true'}, \
             {\"topic\":\"x\",\"db\":\"d.b-1\",\"table\":\"T_2\",\"format\":\"csv\"}]",
        )
        .expect("valid");
        assert_eq!(
            routes[0],
            Route {
                topic: "gameplay".into(),
                db: "db".into(),
                table: "GamePlay".into(),
                format: Some("json".into()),
                mapping: Some("gameplay_json_mapping".into()),
                streaming: true,
            }
        );
        assert_eq!(routes[1].db, "d.b-1");
        assert!(!routes[1].streaming);
        let err = |v: &str| parse_mapping(v).expect_err(v);
        assert_eq!(err("{}"), "Must be a JSON array of mappings");
        assert_eq!(err("[1]"), "Mapping 0 is not a JSON object");
        assert_eq!(
            err("[{'topic':'t','db':'db'}]"),
            "'table' must be provided for each mapping"
        );
        assert_eq!(
            err("[{'topic':'t','db':'db','table':'Game Play'}]"),
            "Invalid 'table' value 'Game Play': must match ^[A-Za-z0-9_.-]+$"
        );
        assert_eq!(
            err("[{'topic':'t','db':'db','table':'T','format':'multi-json'}]"),
            "Invalid 'format' value 'multi-json': must match ^[A-Za-z0-9]+$"
        );
        assert_eq!(
            err("[{'topic':'t','db':'db','table':'T','mapping':\"m';drop\"}]"),
            "Invalid 'mapping' value 'm';drop': must match ^[A-Za-z0-9_.-]+$"
        );
        assert_eq!(
            err("[{'topic':'t','db':'db','table':'T','streaming':3}]"),
            "'streaming' must be true or false in mapping 0"
        );
        assert!(err("[{'topic'").starts_with("Error parsing kusto.tables.topics.mapping as JSON"));
    }

    #[test]
    fn quotes_inside_strings_survive() {
        assert_eq!(
            single_to_double_quotes(r#"['it\'s', "a'b", 'say "hi"']"#),
            r#"["it's", "a'b", "say \"hi\""]"#
        );
    }
}
