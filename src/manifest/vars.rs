//! `${var.NAME}` substitution: how one set of manifests serves dev and prod without copies.
//!
//! Substitution runs on the node tree before schema checks, so `partitions: ${var.partitions}`
//! becomes a real integer. Only the `var.` namespace is ours: `${env:X}` and `${file:...}` are
//! Kafka Connect config-provider placeholders and pass through untouched.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::node::{Loc, Node, Value};
use crate::diagnostics::Diagnostic;

/// A variable name, as a regular expression (a macro so the patterns below can `concat!` it).
macro_rules! var_name {
    () => {
        r"[A-Za-z_][A-Za-z0-9_]*"
    };
}

/// A value that is exactly one variable reference, `${var.NAME}`: what substitution turns into
/// the variable's own type, so the editor schema accepts it wherever a number, boolean or
/// constrained string goes.
pub const WHOLE_REFERENCE_PATTERN: &str = concat!(r"^\$\{var\.", var_name!(), r"\}$");

/// A string that holds a variable reference somewhere (not escaped as `$${`): once substituted
/// it may be any string, so the editor schema leaves checking it to `validate`.
pub const CONTAINED_REFERENCE_PATTERN: &str = concat!(r"(^|[^$])\$\{var\.", var_name!(), r"\}");

static VAR_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(r"\$\$\{|\$\{var\.(", var_name!(), r")\}")).unwrap_or_else(|e| panic!("{e}"))
});

/// Variable values by name, each with where it was defined.
pub type Vars = BTreeMap<String, Node>;

/// Substitutes a whole manifest document: every value, except a Stack document's `vars:` and
/// `environments:`, which define the variables (their own references stay as written).
pub fn substitute_document(doc: &mut Node, vars: &Vars, problems: &mut Vec<Diagnostic>) {
    let is_stack = doc.get("kind").and_then(Node::as_str) == Some("Stack");
    match (&mut doc.value, is_stack) {
        (Value::Map(entries), true) => {
            for (k, v) in entries.iter_mut() {
                if !matches!(k.as_str(), Some("vars" | "environments")) {
                    substitute(v, vars, problems);
                }
            }
        }
        _ => substitute(doc, vars, problems),
    }
}

/// Replaces every `${var.NAME}` in the strings of `node`; `$${` escapes a literal `${`.
/// A string that is exactly one reference takes the variable's type (number, boolean).
pub fn substitute(node: &mut Node, vars: &Vars, problems: &mut Vec<Diagnostic>) {
    match &mut node.value {
        // Most strings hold no reference: skip the regex for them.
        Value::Str(text) if text.contains("${") => {
            if let Some(value) = whole_reference(text, node.loc, vars, problems) {
                node.value = value;
            } else {
                *text = replace_all(text, node.loc, vars, problems).into();
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| substitute(n, vars, problems)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| substitute(v, vars, problems)),
        _ => {}
    }
}

fn whole_reference(
    text: &str,
    loc: Loc,
    vars: &Vars,
    problems: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let caps = VAR_REF.captures(text)?;
    let whole = caps.get(0)?;
    if whole.start() != 0 || whole.end() != text.len() {
        return None;
    }
    let name = caps.get(1)?.as_str();
    match vars.get(name) {
        Some(value) => Some(value.value.clone()),
        None => {
            problems.push(undefined(name, loc, vars));
            Some(Value::Str(Default::default()))
        }
    }
}

fn replace_all(text: &str, loc: Loc, vars: &Vars, problems: &mut Vec<Diagnostic>) -> String {
    VAR_REF
        .replace_all(text, |caps: &regex::Captures<'_>| match caps.get(1) {
            None => "${".to_string(),
            Some(name) => match vars.get(name.as_str()).map(|n| &n.value) {
                Some(Value::Str(s)) => s.to_string(),
                Some(Value::Int(i)) => i.to_string(),
                Some(Value::Float(f)) => f.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(_) => {
                    problems.push(
                        Diagnostic::at(
                            loc,
                            format!(
                                "variable `{}` is not a scalar and cannot be part of a string",
                                name.as_str()
                            ),
                        )
                        .hint("use a string, number or boolean variable here"),
                    );
                    String::new()
                }
                None => {
                    problems.push(undefined(name.as_str(), loc, vars));
                    String::new()
                }
            },
        })
        .into_owned()
}

fn undefined(name: &str, loc: Loc, vars: &Vars) -> Diagnostic {
    let d = Diagnostic::at(loc, format!("undefined variable `{name}`"));
    match super::schema::closest(name, vars.keys().map(String::as_str)) {
        Some(best) => d.hint(format!("did you mean `{best}`?")),
        None => d.hint(format!(
            "define `{name}` under `vars:` of the Stack document (or its environment), or pass `--var {name}=VALUE`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::node::parse_documents;

    fn vars(text: &str) -> Vars {
        let doc = parse_documents(text, 0).unwrap().remove(0);
        match doc.value {
            Value::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| (k.key_text(), v))
                .collect(),
            _ => Vars::new(),
        }
    }

    #[test]
    fn typed_whole_and_textual_partial_substitution() {
        let vars = vars("partitions: 4\ncluster: https://c.kusto.windows.net\n");
        let mut doc = parse_documents(
            "p: ${var.partitions}\nurl: ${var.cluster}/x\nkeep: ${env:SECRET}\nesc: $${var.partitions}\n",
            0,
        )
        .unwrap()
        .remove(0);
        let mut problems = Vec::new();
        substitute(&mut doc, &vars, &mut problems);
        assert_eq!(problems, vec![]);
        assert_eq!(
            doc.to_json(),
            serde_json::json!({
                "p": 4,
                "url": "https://c.kusto.windows.net/x",
                "keep": "${env:SECRET}",
                "esc": "${var.partitions}"
            })
        );
    }

    #[test]
    fn undefined_variables_are_reported_where_used() {
        let vars = vars("partitions: 4\n");
        let mut doc = parse_documents("a: 1\np: ${var.partition}\n", 0)
            .unwrap()
            .remove(0);
        let mut problems = Vec::new();
        substitute(&mut doc, &vars, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].message, "undefined variable `partition`");
        assert_eq!(
            problems[0].hint.as_deref(),
            Some("did you mean `partitions`?")
        );
        assert_eq!(problems[0].loc.map(|l| (l.line, l.column)), Some((2, 4)));
    }
}
