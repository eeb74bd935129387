//! The `Properties` of one mapped column (`Path`, `ConstValue`, `Transform`, `Ordinal`,
//! `Field`), as a small sorted list.
//!
//! A column has one or two properties. A `BTreeMap` allocates a whole node (about 540 bytes
//! for string pairs) even for one entry, which at 10,000 tables of five mapped columns was about
//! 27 MB for the declared mappings and as much again for the observed ones. The list keeps the
//! map's behaviour (one value per key, keys in order, serialised as a JSON object).

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Property name to value, one per name, kept sorted by name. Names and values are short
/// (`Path`, `$.device`): held inline, not each in an allocation of its own (two per mapped
/// column, in the observed and the desired state).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MappingProperties(Vec<(CompactString, CompactString)>);

impl MappingProperties {
    /// No properties.
    pub fn new() -> Self {
        MappingProperties(Vec::new())
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets `key` to `value`, replacing a value it had.
    pub fn insert(&mut self, key: impl Into<CompactString>, value: impl Into<CompactString>) {
        let key = key.into();
        match self.position(&key) {
            Ok(i) => self.0[i].1 = value.into(),
            Err(i) => self.add_at(i, key, value.into()),
        }
    }

    /// Sets `key` to `value` unless it already has one.
    pub fn insert_if_absent(
        &mut self,
        key: impl Into<CompactString>,
        value: impl Into<CompactString>,
    ) {
        let key = key.into();
        if let Err(i) = self.position(&key) {
            self.add_at(i, key, value.into());
        }
    }

    /// Adds a property, growing the list by exactly one: a column mapping has one or two
    /// properties, and a vector's usual first growth to four pairs cost 144 unused bytes per
    /// column, about 14 MB for the observed and the desired state of 10,000 tables of 5 columns.
    fn add_at(&mut self, i: usize, key: CompactString, value: CompactString) {
        self.0.reserve_exact(1);
        self.0.insert(i, (key, value));
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| self.0[i].1.as_str())
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Name and value pairs, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for MappingProperties {
    type Output = str;

    /// The value of a property that must be there (tests and callers that checked first).
    fn index(&self, key: &str) -> &str {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no mapping property `{key}`"),
        }
    }
}

impl FromIterator<(String, String)> for MappingProperties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut out = MappingProperties::new();
        for (k, v) in pairs {
            out.insert(k, v);
        }
        out
    }
}

impl<const N: usize> From<[(String, String); N]> for MappingProperties {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl Serialize for MappingProperties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for MappingProperties {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_room_for_its_properties_only() {
        let mut p = MappingProperties::new();
        p.insert("Path", "$.a");
        assert_eq!(p.0.capacity(), 1);
        p.insert_if_absent("Transform", "t");
        p.insert("Path", "$.b");
        assert_eq!(p.0.capacity(), 2);
    }

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut p = MappingProperties::new();
        p.insert("Transform", "t");
        p.insert("Path", "$.a");
        p.insert("Path", "$.b");
        p.insert_if_absent("Path", "$.c");
        p.insert_if_absent("Field", "f");
        assert_eq!(p.keys().collect::<Vec<_>>(), ["Field", "Path", "Transform"]);
        assert_eq!(&p["Path"], "$.b");
        assert_eq!(p.get("Ordinal"), None);
        let json = serde_json::to_string(&p).expect("serialises");
        assert_eq!(json, r#"{"Field":"f","Path":"$.b","Transform":"t"}"#);
        let back: MappingProperties = serde_json::from_str(&json).expect("reads");
        assert_eq!(back, p);
    }
}
