//! Unknown fields, collected while deserializing instead of failing the whole file.
//!
//! Input: a serde-saphyr deserializer (from `serde_saphyr::with_deserializer_from_str…`) and
//! the target type `T` — a YAML model (listing, policy, berth.yaml) that does *not* say
//! `#[serde(deny_unknown_fields)]` (its JSON Schema still does, through
//! `#[schemars(deny_unknown_fields)]`). Output: the value, and every key of a struct mapping
//! that `T` does not know, with the key's line/column and the field names that struct
//! expects (for the "did you mean" hint). serde-saphyr documents this use of its
//! deserializer (wrappers that report ignored fields, like `serde_ignored`).
//!
//! How: the wrapper forwards every call to the real deserializer and wraps what comes back
//! (visitors, map/sequence/enum accessors, seeds), so the whole value tree passes through
//! it. For the mapping of a struct (`deserialize_struct` names its fields), each key is read
//! as `serde_saphyr::Spanned<String>` — its position — and handed to the struct as a string;
//! serde's derive skips an unknown key's value with `deserialize_ignored_any`, which is where
//! the key is recorded. Plain maps (`versions:`, `registries:`) pass keys through untouched
//! (their keys are data, `Sp<String>`), and the `Spanned<T>` protocol of [`crate::model::span::Sp`]
//! is passed through with only its `value` wrapped.
//!
//! Invariants: the value deserialized is exactly what the plain deserializer would produce
//! for the known fields; errors are the deserializer's own (positions and classification
//! unchanged); unknown fields found before a hard error are kept in `found`.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};

#[cfg(test)]
use crate::model::diag::Code;
use crate::model::span::Pos;

/// serde-saphyr's name for the newtype behind `Spanned<T>`.
const SPANNED: &str = "__yaml_spanned";

/// A key that no field of its struct accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownField {
    pub name: String,
    /// Position of the key.
    pub pos: Pos,
    /// The fields the struct accepts, in declaration order.
    pub expected: &'static [&'static str],
}

/// Deserialize a `T` from `d`, pushing every unknown struct field into `found`.
pub fn deserialize<'de, T, D>(d: D, found: &mut Vec<UnknownField>) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let cell = RefCell::new(std::mem::take(found));
    let out = T::deserialize(Collect {
        inner: d,
        found: &cell,
        field: None,
    });
    *found = cell.into_inner();
    out
}

type Found<'a> = &'a RefCell<Vec<UnknownField>>;

/// The key a value belongs to, when it is the value of a struct field.
#[derive(Clone, Debug)]
struct FieldKey {
    name: String,
    pos: Pos,
    expected: &'static [&'static str],
}

/// The wrapping deserializer.
struct Collect<'a, D> {
    inner: D,
    found: Found<'a>,
    field: Option<FieldKey>,
}

/// How a wrapped visitor treats a mapping.
#[derive(Clone, Copy)]
enum Mode {
    /// Data: keys untouched.
    Plain,
    /// The fields of a struct: keys located, unknown ones recorded.
    Struct(&'static [&'static str]),
    /// serde-saphyr's synthetic `{marker, value, referenced, defined}` map of a `Spanned<T>`.
    Spanned,
}

struct Wrap<'a, V> {
    visitor: V,
    found: Found<'a>,
    mode: Mode,
}

impl<'a, V> Wrap<'a, V> {
    fn plain(visitor: V, found: Found<'a>) -> Self {
        Wrap {
            visitor,
            found,
            mode: Mode::Plain,
        }
    }
}

impl<'a, D> Collect<'a, D> {
    fn wrap<V>(&self, visitor: V) -> Wrap<'a, V> {
        Wrap::plain(visitor, self.found)
    }
}

macro_rules! forward_wrapped {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                let w = self.wrap(visitor);
                self.inner.$method(w)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Collect<'_, D> {
    type Error = D::Error;

    forward_wrapped!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
    );

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        // serde's derive skips the value of a key its struct does not know this way.
        if let Some(f) = self.field {
            self.found.borrow_mut().push(UnknownField {
                name: f.name,
                pos: f.pos,
                expected: f.expected,
            });
        }
        self.inner.deserialize_ignored_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let w = self.wrap(visitor);
        self.inner.deserialize_unit_struct(name, w)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let mut w = self.wrap(visitor);
        if name == SPANNED {
            w.mode = Mode::Spanned;
        }
        self.inner.deserialize_newtype_struct(name, w)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let w = self.wrap(visitor);
        self.inner.deserialize_tuple(len, w)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let w = self.wrap(visitor);
        self.inner.deserialize_tuple_struct(name, len, w)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let w = Wrap {
            visitor,
            found: self.found,
            mode: Mode::Struct(fields),
        };
        self.inner.deserialize_struct(name, fields, w)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let w = self.wrap(visitor);
        self.inner.deserialize_enum(name, variants, w)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.visitor.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.visitor.visit_some(Collect {
            inner: d,
            found: self.found,
            field: None,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.mode {
            Mode::Spanned => self.visitor.visit_newtype_struct(SpannedDe {
                inner: d,
                found: self.found,
            }),
            _ => self.visitor.visit_newtype_struct(Collect {
                inner: d,
                found: self.found,
                field: None,
            }),
        }
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_seq(SeqWrap {
            inner: seq,
            found: self.found,
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_map(MapWrap {
            inner: map,
            found: self.found,
            mode: self.mode,
            pending: None,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_enum(EnumWrap {
            inner: data,
            found: self.found,
        })
    }
}

/// The deserializer handed to `Spanned<T>`'s visitor: its one `deserialize_any` yields the
/// synthetic map, whose `value` entry is wrapped again.
struct SpannedDe<'a, D> {
    inner: D,
    found: Found<'a>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for SpannedDe<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(Wrap {
            visitor,
            found: self.found,
            mode: Mode::Spanned,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A seed whose deserializer is wrapped (and knows the struct key it is the value of).
struct Seed<'a, S> {
    seed: S,
    found: Found<'a>,
    field: Option<FieldKey>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Collect {
            inner: d,
            found: self.found,
            field: self.field,
        })
    }
}

/// Reads a struct key with its position, then gives the key to the struct as a string.
struct StructKey<S> {
    seed: S,
    expected: &'static [&'static str],
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StructKey<S> {
    type Value = (S::Value, FieldKey);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let key = serde_saphyr::Spanned::<String>::deserialize(d)?;
        let field = FieldKey {
            pos: Pos::new(key.referenced.line() as u32, key.referenced.column() as u32),
            name: key.value,
            expected: self.expected,
        };
        let name: StrDeserializer<'_, D::Error> = field.name.as_str().into_deserializer();
        Ok((self.seed.deserialize(name)?, field))
    }
}

/// Reads a key of `Spanned<T>`'s synthetic map and says whether it is `value`.
struct SpannedKey<S> {
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for SpannedKey<S> {
    type Value = (S::Value, bool);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // The key is looked at where it lies: these keys are read for every spanned value, and
        // an owned copy of each was a good part of the parse.
        d.deserialize_str(SpannedKeyVisitor { seed: self.seed })
    }
}

struct SpannedKeyVisitor<S> {
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for SpannedKeyVisitor<S> {
    type Value = (S::Value, bool);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key of a spanned value")
    }

    // (Borrowed and owned strings come here too: serde's defaults forward them.)
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        let name: StrDeserializer<'_, E> = key.into_deserializer();
        Ok((self.seed.deserialize(name)?, key == "value"))
    }
}

struct SeqWrap<'a, A> {
    inner: A,
    found: Found<'a>,
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for SeqWrap<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Seed {
            seed,
            found: self.found,
            field: None,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// What the next value of a wrapped map is.
enum Pending {
    /// The value of this struct field.
    Field(FieldKey),
    /// The `value` of a `Spanned<T>`: wrapped like any value.
    SpannedValue,
    /// Marker and locations of a `Spanned<T>`: read by serde-saphyr's own code, unwrapped.
    SpannedMeta,
}

struct MapWrap<'a, A> {
    inner: A,
    found: Found<'a>,
    mode: Mode,
    pending: Option<Pending>,
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for MapWrap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.mode {
            Mode::Plain => self.inner.next_key_seed(seed),
            Mode::Struct(expected) => Ok(self
                .inner
                .next_key_seed(StructKey { seed, expected })?
                .map(|(key, field)| {
                    self.pending = Some(Pending::Field(field));
                    key
                })),
            Mode::Spanned => {
                Ok(self
                    .inner
                    .next_key_seed(SpannedKey { seed })?
                    .map(|(key, is_value)| {
                        self.pending = Some(if is_value {
                            Pending::SpannedValue
                        } else {
                            Pending::SpannedMeta
                        });
                        key
                    }))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let field = match self.pending.take() {
            Some(Pending::SpannedMeta) => return self.inner.next_value_seed(seed),
            Some(Pending::Field(f)) => Some(f),
            Some(Pending::SpannedValue) | None => None,
        };
        self.inner.next_value_seed(Seed {
            seed,
            found: self.found,
            field,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct EnumWrap<'a, A> {
    inner: A,
    found: Found<'a>,
}

impl<'a, 'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for EnumWrap<'a, A> {
    type Error = A::Error;
    type Variant = VariantWrap<'a, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            VariantWrap {
                inner: variant,
                found: self.found,
            },
        ))
    }
}

struct VariantWrap<'a, A> {
    inner: A,
    found: Found<'a>,
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for VariantWrap<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.newtype_variant_seed(Seed {
            seed,
            found: self.found,
            field: None,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner
            .tuple_variant(len, Wrap::plain(visitor, self.found))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner.struct_variant(
            fields,
            Wrap {
                visitor,
                found: self.found,
                mode: Mode::Struct(fields),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::load::{parse_yaml, parse_yaml_collecting};
    use crate::model::{Config, Criterion, Listing, Policy};

    fn collect<T: serde::de::DeserializeOwned>(text: &str) -> (T, Vec<(String, String)>) {
        let mut found = Vec::new();
        let v = parse_yaml_collecting::<T>(text, &mut found).unwrap();
        let found = found
            .into_iter()
            .map(|u| (u.name, u.pos.to_string()))
            .collect();
        (v, found)
    }

    const LISTING: &str = "code: a\nname: A\nsummary: s\npublisher: p\nimage:\n  repository: x/a\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n";

    #[test]
    fn unknown_keys_at_every_depth_with_their_positions() {
        let text = format!(
            "{LISTING}labls: [x]\nversions:\n  \"1.0.0\": {{ qa: failed, reasn: r }}\n  \"1.0.1\":\n    delisted: true\n    \"why\": {{ deep: [1, 2] }}\n"
        )
        .replace("  tag: \"1\"\n", "  tag: \"1\"\n  tags: [\"2\"]\n");
        let (l, found): (Listing, _) = collect(&text);
        assert_eq!(
            found,
            vec![
                ("tags".to_string(), "8:3".to_string()),
                ("labls".to_string(), "12:1".to_string()),
                ("reasn".to_string(), "14:26".to_string()),
                ("why".to_string(), "17:5".to_string()),
            ]
        );
        // The known fields read exactly as without the unknown ones.
        let plain: Listing = parse_yaml(&format!(
            "{LISTING}versions:\n  \"1.0.0\": {{ qa: failed }}\n  \"1.0.1\":\n    delisted: true\n"
        ))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::to_value(&plain).unwrap()
        );
        // Spans inside survive the wrapper: values and map keys.
        assert_eq!(l.image.tag.pos.to_string(), "7:8");
        let key = l.versions.keys().nth(1).unwrap();
        assert_eq!(
            (key.value.as_str(), key.pos.to_string()),
            ("1.0.1", "15:3".into())
        );
        // Strict parsing (berth mark) refuses the first one.
        let e = parse_yaml::<Listing>(&text).unwrap_err();
        assert_eq!(
            (e.code, e.pos.to_string()),
            (Code::UnknownField, "8:3".into())
        );
        assert_eq!(
            e.message,
            "unknown field `tags`, expected one of registry, repository, tag, credential"
        );
        assert!(e.hint.unwrap().starts_with("did you mean `tag`?"));
    }

    #[test]
    fn enum_variants_maps_and_sequences_pass_through() {
        let (p, found): (Policy, _) = collect(
            "name: p\nsource: { repository: dev/x, registy: r.example }\ncriteria:\n  - tag: { endWith: x, equals: \"1\" }\n  - label: { name: v, equals: a, extra: 1 }\n  - platform: linux/amd64\ntarget: { repository: qa/x, tag: \"%n\" }\n",
        );
        assert_eq!(
            found,
            vec![
                ("registy".to_string(), "2:30".to_string()),
                ("endWith".to_string(), "4:12".to_string()),
                ("extra".to_string(), "5:34".to_string()),
            ]
        );
        assert_eq!(p.criteria.len(), 3);
        let Criterion::Tag(m) = &p.criteria[0].value else {
            panic!("{:?}", p.criteria[0]);
        };
        assert_eq!(
            (m.equals.as_deref(), m.pos.to_string()),
            (Some("1"), "4:10".into())
        );
        // Keys of plain maps are data, never unknown fields.
        let (c, found): (Config, _) = collect(
            "registries:\n  anything.example: { insecure: true, maxConcurency: 2 }\ncredentials:\n  whatever: { dockerConfig: true }\n",
        );
        assert_eq!(
            found,
            vec![("maxConcurency".to_string(), "2:39".to_string())]
        );
        assert!(c.registries["anything.example"].insecure);
        assert_eq!(c.registries.keys().next().unwrap().pos.to_string(), "2:3");
    }

    #[test]
    fn hard_errors_are_unchanged_and_keep_what_was_found() {
        let mut found = Vec::new();
        let text = LISTING.replace("type: new", "type: minor") + "labls: [x]\n";
        let text = text.replace("publisher: p\n", "publisher: p\nsumary: t\n");
        let e = parse_yaml_collecting::<Listing>(&text, &mut found).unwrap_err();
        assert_eq!(
            (e.code, e.pos.to_string()),
            (Code::InvalidShape, "10:9".into())
        );
        assert!(
            e.message.starts_with("unknown variant `minor`"),
            "{}",
            e.message
        );
        // Found before the error: kept; after it: not reached.
        let names: Vec<&str> = found.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, vec!["sumary"]);
    }
}
