//! The canonical order of keys, read from the manifest schema: a mapping's known keys come in
//! the order of the fields of its type in `spec.rs` (`kind` and `name` first), and keys the
//! schema does not know follow in the order they were written. Maps whose keys are names
//! (`vars`, `config`, `environments`) keep their order.

use serde_json::Value as Json;

use super::super::schema::{KINDS, structural_schema};
use super::tree::{Node, Shape, Written};

/// How deep `$ref`s are followed before giving up (the schema has no cycles that deep).
const MAX_REFS: usize = 32;

/// The structural schema, to look up the order of a mapping's keys.
pub(super) struct Order {
    root: Json,
}

impl Order {
    /// Generates the schema once, for every file formatted.
    pub fn new() -> Order {
        Order {
            root: structural_schema(),
        }
    }

    /// The schema of a document: the one of its `kind`, when it has a known one.
    pub fn document(&self, root: &Node) -> Option<&Json> {
        let Shape::Map { entries, .. } = &root.shape else {
            return None;
        };
        let kind = entries.iter().find_map(|(k, v)| {
            (scalar_value(k) == Some("kind"))
                .then(|| scalar_value(v))
                .flatten()
        })?;
        let (_, def) = KINDS.iter().find(|(k, _)| *k == kind)?;
        self.root.get("$defs")?.get(*def)
    }

    /// The schema of the value of `key` in a mapping of schema `map`.
    pub fn entry<'s>(&'s self, map: Option<&'s Json>, key: &str) -> Option<&'s Json> {
        let object = self.branch(map?, "object")?;
        object
            .get("properties")
            .and_then(|p| p.get(key))
            .or_else(|| object.get("additionalProperties").filter(|a| a.is_object()))
    }

    /// The schema of the items of a sequence of schema `seq`.
    pub fn item<'s>(&'s self, seq: Option<&'s Json>) -> Option<&'s Json> {
        self.branch(seq?, "array")?.get("items")
    }

    /// Where `key` goes among the keys of a mapping of schema `map`: its field's position, or
    /// after every known key.
    pub fn rank(&self, map: Option<&Json>, key: &str) -> usize {
        map.and_then(|m| self.branch(m, "object"))
            .and_then(|o| o.get("properties"))
            .and_then(Json::as_object)
            .and_then(|p| p.keys().position(|k| k == key))
            .unwrap_or(usize::MAX)
    }

    /// `schema` with its `$ref`s followed, or the branch of its `anyOf`/`oneOf` that describes
    /// a value of JSON type `ty`.
    fn branch<'s>(&'s self, schema: &'s Json, ty: &str) -> Option<&'s Json> {
        let schema = self.resolve(schema)?;
        let describes = |s: &Json| match ty {
            "object" => s.get("properties").is_some() || s.get("additionalProperties").is_some(),
            _ => s.get("items").is_some(),
        };
        if describes(schema) {
            return Some(schema);
        }
        ["anyOf", "oneOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Json::as_array))
            .flatten()
            .filter_map(|b| self.resolve(b))
            .find(|b| describes(b))
    }

    fn resolve<'s>(&'s self, mut schema: &'s Json) -> Option<&'s Json> {
        for _ in 0..MAX_REFS {
            let Some(reference) = schema.get("$ref").and_then(Json::as_str) else {
                return Some(schema);
            };
            let name = reference.strip_prefix("#/$defs/")?;
            schema = self.root.get("$defs")?.get(name)?;
        }
        None
    }
}

/// The value of a one-line scalar node.
pub(super) fn scalar_value(node: &Node) -> Option<&str> {
    match &node.shape {
        Shape::Scalar(s) if matches!(s.written, Written::Inline(_)) => Some(&s.value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_rank_in_field_order_and_unknown_ones_last() {
        let order = Order::new();
        let table = order.root["$defs"].get("TableDoc");
        assert!(order.rank(table, "kind") < order.rank(table, "name"));
        assert!(order.rank(table, "name") < order.rank(table, "columns"));
        assert!(order.rank(table, "columns") < order.rank(table, "mappings"));
        assert_eq!(order.rank(table, "no_such_key"), usize::MAX);
        let batching = order.entry(table, "ingestion_batching");
        assert!(order.rank(batching, "max_time") < order.rank(batching, "max_items"));
        let column = order.item(order.entry(table, "columns"));
        assert!(order.rank(column, "name") < order.rank(column, "type"));
    }
}
