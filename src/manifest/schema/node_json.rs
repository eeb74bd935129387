//! The located-node tree as a JSON representation jsonschema validates directly, so checking a
//! valid document makes no JSON copy of it.
//!
//! The view is exactly the JSON [`Node::to_json`] builds: numbers that are not finite read as
//! `null`, keys that are not strings read as [`Node::key_text`], and of several keys with the
//! same text (only complex keys can share one: the parser rejects repeated scalar keys, and
//! substitution never touches keys) the last one counts, as in a JSON object built from them.

use std::borrow::Cow;

use jsonschema::json::{Array, Json, JsonNumber, Node as JsonNode, NodeIdentity, Object, cmp};
use jsonschema::types::JsonType;
use serde_json::Value as Json_;

use super::super::node::{Node, Value};

/// The representation: instances are `&Node`.
pub struct NodeJson;

impl Json for NodeJson {
    type Node<'a> = &'a Node;
    type PreparedKey = String;
    type StringBuffer = Option<Node>;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(
        buffer: &mut Option<Node>,
        string: &str,
        f: impl FnOnce(&Node) -> T,
    ) -> T {
        let node = buffer.insert(Node {
            loc: Default::default(),
            value: Value::Str(string.into()),
        });
        f(node)
    }
}

/// A number of the tree: what `to_json` makes a `serde_json::Number` of.
#[derive(Clone, Copy)]
pub enum Num {
    /// `Value::Int`.
    Int(i64),
    /// A finite `Value::Float`.
    Float(f64),
}

impl Num {
    fn number(self) -> serde_json::Number {
        match self {
            Num::Int(i) => i.into(),
            // Only finite floats become a `Num`.
            Num::Float(f) => serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into()),
        }
    }
}

impl JsonNumber for Num {
    fn as_u64(&self) -> Option<u64> {
        self.number().as_u64()
    }

    fn as_i64(&self) -> Option<i64> {
        self.number().as_i64()
    }

    fn as_f64(&self) -> Option<f64> {
        self.number().as_f64()
    }

    fn as_str(&self) -> Cow<'_, str> {
        Cow::Owned(self.number().to_string())
    }

    fn to_number(&self) -> Cow<'_, serde_json::Number> {
        Cow::Owned(self.number())
    }

    fn is_written_as_integer(&self) -> bool {
        let number = self.number();
        JsonNumber::is_written_as_integer(&number)
    }
}

fn number(node: &Node) -> Option<Num> {
    match node.value {
        Value::Int(i) => Some(Num::Int(i)),
        Value::Float(f) if f.is_finite() => Some(Num::Float(f)),
        _ => None,
    }
}

impl<'a> JsonNode<'a, NodeJson> for &'a Node {
    type Object = Members<'a>;
    type Array = Items<'a>;
    type Number = Num;

    fn as_object(&self) -> Option<Members<'a>> {
        match &self.value {
            Value::Map(entries) => Some(Members::new(entries)),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<Items<'a>> {
        match &self.value {
            Value::Seq(items) => Some(Items(items)),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match &self.value {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<Num> {
        number(self)
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        self.json_type() == JsonType::Null
    }

    fn json_type(&self) -> JsonType {
        match &self.value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Int(_) => JsonType::Number,
            Value::Float(f) if f.is_finite() => JsonType::Number,
            Value::Float(_) => JsonType::Null,
            Value::Str(_) => JsonType::String,
            Value::Seq(_) => JsonType::Array,
            Value::Map(_) => JsonType::Object,
        }
    }

    fn equals_value(&self, expected: &Json_) -> bool {
        match (&self.value, expected) {
            (Value::Str(s), Json_::String(e)) => s == e,
            (Value::Str(_), _) => false,
            (Value::Bool(b), Json_::Bool(e)) => b == e,
            (Value::Bool(_), _) => false,
            (Value::Int(_) | Value::Float(_) | Value::Null, _) => {
                let own = match number(self) {
                    Some(n) => Json_::Number(n.number()),
                    None => Json_::Null,
                };
                cmp::equal(&own, expected)
            }
            (Value::Seq(_) | Value::Map(_), _) => cmp::equal(&self.to_json(), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, Json_> {
        Cow::Owned(self.to_json())
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<Node>(self) as usize))
    }
}

/// A mapping's entries as a JSON object's members.
#[derive(Clone, Copy)]
pub struct Members<'a> {
    entries: &'a [(Node, Node)],
    /// The entry that stands for every complex key (`<complex key>`): the last one.
    last_complex: Option<usize>,
    complex: usize,
}

fn is_complex(key: &Node) -> bool {
    matches!(key.value, Value::Seq(_) | Value::Map(_))
}

impl<'a> Members<'a> {
    fn new(entries: &'a [(Node, Node)]) -> Members<'a> {
        let mut complex = 0;
        let mut last_complex = None;
        for (i, (k, _)) in entries.iter().enumerate() {
            if is_complex(k) {
                complex += 1;
                last_complex = Some(i);
            }
        }
        Members {
            entries,
            last_complex,
            complex,
        }
    }

    /// Whether entry `i` is one of the object's members (not a complex key another hides).
    fn counts(&self, i: usize) -> bool {
        !is_complex(&self.entries[i].0) || self.last_complex == Some(i)
    }
}

fn key_text(key: &Node) -> Cow<'_, str> {
    match &key.value {
        Value::Str(s) => Cow::Borrowed(s),
        _ => Cow::Owned(key.key_text()),
    }
}

/// The members of [`Members`], in document order.
pub struct MembersIter<'a> {
    members: Members<'a>,
    next: usize,
}

impl<'a> Iterator for MembersIter<'a> {
    type Item = (Cow<'a, str>, &'a Node);

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.members.entries.len() {
            let i = self.next;
            self.next += 1;
            if self.members.counts(i) {
                let (k, v) = &self.members.entries[i];
                return Some((key_text(k), v));
            }
        }
        None
    }
}

impl<'a> Object<'a, NodeJson> for Members<'a> {
    type Node = &'a Node;
    type MemberName = Cow<'a, str>;
    type MembersIter = MembersIter<'a>;

    fn len(&self) -> usize {
        self.entries.len() - self.complex.saturating_sub(1)
    }

    fn get(&self, key: &String) -> Option<&'a Node> {
        self.entries
            .iter()
            .enumerate()
            .rev()
            .find(|(i, (k, _))| self.counts(*i) && key_text(k) == key.as_str())
            .map(|(_, (_, v))| v)
    }

    fn members(&self) -> MembersIter<'a> {
        MembersIter {
            members: *self,
            next: 0,
        }
    }
}

/// A sequence's items as a JSON array.
#[derive(Clone, Copy)]
pub struct Items<'a>(&'a [Node]);

impl<'a> Array<'a, NodeJson> for Items<'a> {
    type Node = &'a Node;
    type ElementsIter = std::slice::Iter<'a, Node>;

    fn len(&self) -> usize {
        self.0.len()
    }

    fn elements(&self) -> std::slice::Iter<'a, Node> {
        self.0.iter()
    }
}
