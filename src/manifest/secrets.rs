//! Finds the literal secrets in parsed documents, so diagnostics mask them ([`crate::redact`]).
//!
//! Run after variable substitution: a value that came from `${var.X}` or `--var` is the secret
//! itself, and is masked wherever it also appears (the `vars:` entry that defines it, say).

use super::node::{Loc, Node, Value};
use crate::redact::is_secret_field;

/// Secret values with where each was written, as found in some documents; the loader adds them
/// to its `SourceMap` (`add_secret`) once every document is read (documents are read on
/// several threads, the map is one).
pub type Found = Vec<(Loc, String)>;

/// Records, in `found`, every value written under a secret key of `doc` (at any depth).
pub fn record(doc: &Node, found: &mut Found) {
    match &doc.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                if key.as_str().is_some_and(is_secret_field) {
                    record_value(value, found);
                } else {
                    record(value, found);
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|n| record(n, found)),
        _ => {}
    }
}

/// A secret key's value: every scalar in it is a secret, except a placeholder and the variable
/// name of `{env: NAME}` (a reference names a secret without holding it).
fn record_value(node: &Node, sources: &mut Found) {
    let text = match &node.value {
        Value::Null => return,
        Value::Str(s) if crate::model::connect::is_placeholder(s) => return,
        Value::Str(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Seq(items) => {
            items.iter().for_each(|n| record_value(n, sources));
            return;
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                if key.as_str() != Some("env") {
                    record_value(value, sources);
                }
            }
            return;
        }
    };
    sources.push((node.loc, text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{Diagnostic, SourceMap, render};

    #[test]
    fn values_under_secret_keys_are_masked_in_every_diagnostic() {
        let text = "kind: Sink\nauth: {app_key: hunter2, bogus: 1}\nconfig:\n  sasl.jaas.config: |\n    line-one-secret\n  env: {env: APPKEY}\n";
        let mut sources = SourceMap::default();
        let file = sources.add("s.yaml".into(), text.into());
        let docs = crate::manifest::node::parse_documents(text, file).expect("parses");
        let mut found = Found::new();
        docs.iter().for_each(|d| record(d, &mut found));
        for (loc, value) in found {
            sources.add_secret(loc, &value);
        }
        let bogus = crate::manifest::node::Loc {
            file,
            line: 2,
            column: 26,
        };
        let out = render(
            &[Diagnostic::at(bogus, "unknown key `bogus` near hunter2")
                .hint("line-one-secret is not shown either")],
            &sources,
            false,
        );
        assert!(
            !out.contains("hunter2") && !out.contains("line-one-secret"),
            "{out}"
        );
        assert!(
            out.contains(
                "2 | auth: {app_key: <redacted>, bogus: 1}\n  |                             ^^^^^\n"
            ),
            "{out}"
        );
        assert!(out.contains("near <redacted>"), "{out}");
    }
}
