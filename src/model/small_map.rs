//! A map kept as a sorted vector, for the maps each table holds a handful of entries in.
//!
//! A `BTreeMap` allocates a whole node of eleven entries for its first one: a table's one
//! ingestion mapping took about 900 bytes, so 9 MB at 10,000 tables in each of the observed
//! and the desired state of a plan. Here an entry costs its own size. Lookups are binary
//! searches; an insert moves the entries after it, which is nothing for a few entries.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;

use serde::{Deserialize, Serialize};

/// Keys to values, one per key, kept sorted by key (iteration is in key order, as a
/// `BTreeMap`'s).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SmallMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap(Vec::new())
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// No entries.
    pub fn new() -> Self {
        SmallMap(Vec::new())
    }

    fn position<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    /// The value of `key`, to change.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|i| &mut self.0[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`; the value it had, if any. Grows by exactly one entry.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Takes the value of `key` out.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Entries in key order, values to change.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// Values in key order, to change.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    /// As a `BTreeMap` collects: of entries with the same key, the last one stays.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut entries: Vec<(K, V)> = entries.into_iter().collect();
        // Stable, so entries with one key stay in their order and the last is kept below.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => out.push(entry),
            }
        }
        out.shrink_to_fit();
        SmallMap(out)
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<Q: Ord + ?Sized, K: Ord + Borrow<Q>, V> Index<&Q> for SmallMap<K, V> {
    type Output = V;

    /// Panics when `key` has no value, as a `BTreeMap` does (tests read entries they made).
    fn index(&self, key: &Q) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for the key"),
        }
    }
}

impl<K: Serialize, V: Serialize> Serialize for SmallMap<K, V> {
    /// As a map, exactly as a `BTreeMap` with the same entries.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for SmallMap<K, V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<K, V>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_btree_map_with_room_for_its_entries_only() {
        let mut small = SmallMap::new();
        let mut btree = BTreeMap::new();
        for (k, v) in [("b", 1), ("a", 2), ("c", 3), ("a", 4)] {
            assert_eq!(small.insert(k, v), btree.insert(k, v));
        }
        assert_eq!(small.0.capacity(), 3);
        assert!(small.iter().eq(btree.iter()));
        assert_eq!(small.remove("b"), btree.remove("b"));
        assert_eq!(small.remove("b"), None);
        assert_eq!(small.get("a"), Some(&4));
        assert_eq!(small["c"], 3);
        assert!(!small.contains_key("b"));
        *small.get_mut("c").expect("c") += 1;
        assert_eq!(small.values().copied().collect::<Vec<_>>(), [4, 4]);
        assert_eq!(
            serde_json::to_string(&small).expect("json"),
            serde_json::to_string(&BTreeMap::from([("a", 4), ("c", 4)])).expect("json")
        );
    }

    #[test]
    fn collects_and_reads_back_as_a_btree_map_does() {
        let entries = [("x", 1), ("y", 2), ("x", 3)];
        let small: SmallMap<&str, i32> = entries.into_iter().collect();
        let btree: BTreeMap<&str, i32> = entries.into_iter().collect();
        assert!(small.iter().eq(btree.iter()));
        assert_eq!(small.0.capacity(), 2);
        let json = serde_json::to_string(&small).expect("json");
        let back: SmallMap<String, i32> = serde_json::from_str(&json).expect("read back");
        assert_eq!(back.keys().collect::<Vec<_>>(), ["x", "y"]);
    }
}
