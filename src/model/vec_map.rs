//! `VecMap<K, V>`: a map kept as one vector of entries sorted by key — the small maps of
//! index.json (`channels`, `testingChannels`, `configLabels`).
//!
//! Why: a `BTreeMap` allocates a node for eleven entries even when it holds two, about 1 KiB
//! for a pair of channels; an image of the index has three such maps, and a 100,000-image
//! index is held twice during a plan (recorded and next). A sorted vector holds exactly its
//! entries. Lookups are binary searches; these maps hold a handful of entries.
//!
//! Invariants: entries are sorted by key and keys are unique, whatever the input order, so
//! iteration (and serialization) is in key order exactly like a `BTreeMap`'s; a key given
//! twice keeps its last value (as `BTreeMap::insert` and serde's map reading do). It
//! serializes, deserializes and documents itself (JSON Schema) exactly as a `BTreeMap<K, V>`.

use std::borrow::{Borrow, Cow};
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A map as a sorted vector of `(key, value)` entries (see the module doc).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// From entries in any order; a repeated key keeps its last value.
    fn from_unsorted(mut entries: Vec<(K, V)>) -> Self {
        // Stable: equal keys stay in input order, so the last one given is last in its run.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        VecMap { entries: out }
    }

    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Insert or replace; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }
}

impl<K, V> VecMap<K, V> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn clear(&mut self) {
        self.entries.clear();
    }
    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.entries.iter())
    }
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

/// Iterator over `(&K, &V)` in key order.
#[derive(Clone, Debug)]
pub struct Iter<'a, K, V>(std::slice::Iter<'a, (K, V)>);

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}
impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_unsorted(iter.into_iter().collect())
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        Self::from_unsorted(entries.into())
    }
}

impl<K: Ord, V> From<std::collections::BTreeMap<K, V>> for VecMap<K, V> {
    fn from(map: std::collections::BTreeMap<K, V>) -> Self {
        // Already sorted and unique.
        VecMap {
            entries: map.into_iter().collect(),
        }
    }
}

impl<K, Q, V> std::ops::Index<&Q> for VecMap<K, V>
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
{
    type Output = V;
    /// Panics when the key is missing, like `BTreeMap`'s.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                // Capacity from the input is a hint only: never trust it for a large allocation.
                let mut entries = Vec::with_capacity(a.size_hint().unwrap_or(0).min(16));
                while let Some(entry) = a.next_entry()? {
                    entries.push(entry);
                }
                Ok(VecMap::from_unsorted(entries))
            }
        }
        d.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

impl<K: JsonSchema, V: JsonSchema> JsonSchema for VecMap<K, V> {
    fn inline_schema() -> bool {
        <std::collections::BTreeMap<K, V>>::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        <std::collections::BTreeMap<K, V>>::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        <std::collections::BTreeMap<K, V>>::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <std::collections::BTreeMap<K, V>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_btreemap() {
        let pairs = [("b", 2), ("a", 1), ("c", 3), ("a", 9)];
        let v: VecMap<String, i32> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let b: BTreeMap<String, i32> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(v.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        assert_eq!(format!("{v:?}"), format!("{b:?}"));
        assert_eq!(v["a"], 9);
        assert_eq!(v.get("z"), None);
        let mut v = v;
        assert_eq!(v.insert("0".into(), 0), None);
        assert_eq!(v.insert("c".into(), 4), Some(3));
        assert_eq!(
            v.keys().map(String::as_str).collect::<Vec<_>>(),
            ["0", "a", "b", "c"]
        );
        assert_eq!(v.remove("a"), Some(9));
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn serde_and_schema_equal_a_btreemap() {
        let text = r#"{"z": 1, "a": 2, "m": 3, "a": 4}"#;
        let v: VecMap<String, u32> = serde_json::from_str(text).unwrap();
        let b: BTreeMap<String, u32> = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&v).unwrap(),
            serde_json::to_string_pretty(&b).unwrap()
        );
        assert_eq!(
            serde_json::to_value(schemars::schema_for!(VecMap<String, u32>)).unwrap(),
            serde_json::to_value(schemars::schema_for!(BTreeMap<String, u32>)).unwrap()
        );
    }
}
