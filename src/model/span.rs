//! `Sp<T>`: a value together with the 1-based line/column it was read from.
//!
//! Input: any YAML node deserialized through serde-saphyr — values, and mapping keys too
//! (`registries.<host>`, `credentials.<name>`, `versions.<v>` are `BTreeMap<Sp<String>, …>`).
//! Output: the value plus its position, so that semantic checks (duplicate names, unknown
//! credentials, …) can point at file:line:col and not just at the file. Serializes and
//! documents itself (JSON Schema) exactly like the bare `T`, so the spans never leak into
//! generated files.
//!
//! Invariant: equality, ordering and hashing look at the value only (two equal keys on
//! different lines are the same key), and `Sp<String>` borrows as `str`/`String`, so a map
//! keyed by spanned strings is looked up with plain strings.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Line/column position inside a source file (1-based; 0 means unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const UNKNOWN: Pos = Pos { line: 0, col: 0 };
    pub fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line.max(1), self.col.max(1))
    }
}

/// A deserialized value with the position of its YAML node.
#[derive(Clone, Debug, Default)]
pub struct Sp<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Sp<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Sp { value, pos }
    }
    /// A value without a source position (built in code, not read from a file).
    pub fn bare(value: T) -> Self {
        Sp {
            value,
            pos: Pos::UNKNOWN,
        }
    }
}

impl<T> Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Display> fmt::Display for Sp<T> {
    /// The value alone, as `T` displays it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

// Equality and ordering ignore the position: two equal names on different lines are equal.
impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Sp<T> {}

impl<T: PartialOrd> PartialOrd for Sp<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Sp<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T: Hash> Hash for Sp<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

// Map lookups by plain strings: consistent with the value-only Eq/Ord/Hash above.
impl Borrow<str> for Sp<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}
impl Borrow<String> for Sp<String> {
    fn borrow(&self) -> &String {
        &self.value
    }
}

impl<T> From<T> for Sp<T> {
    /// A value without a source position (built in code).
    fn from(value: T) -> Self {
        Sp::bare(value)
    }
}

impl From<&str> for Sp<String> {
    /// A string without a source position (built in code).
    fn from(s: &str) -> Self {
        Sp::bare(s.to_string())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        let loc = s.referenced;
        Ok(Sp {
            value: s.value,
            pos: Pos::new(loc.line() as u32, loc.column() as u32),
        })
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
