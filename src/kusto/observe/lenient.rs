//! Fields of the schema JSON read leniently: a value of another type than the field's reads as
//! absent, where a derived reader would reject the whole answer. Functions and views that
//! kustoplan does not manage are listed by the schema with whatever their fields hold, and must
//! not stop observe; they are read into their own types, without a JSON tree, and read as
//! `serde_json::Value::as_str`, `as_bool` and `as_array` read them before.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What a lenient field makes of each kind of JSON value: its own kind read, any other absent.
trait Loose<'de>: Sized {
    /// Any value of another kind.
    fn absent() -> Self;

    fn text(_: &str) -> Self {
        Self::absent()
    }

    fn flag(_: bool) -> Self {
        Self::absent()
    }

    fn object<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::absent())
    }

    fn array<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::absent())
    }
}

impl Loose<'_> for Option<String> {
    fn absent() -> Self {
        None
    }

    fn text(text: &str) -> Self {
        Some(text.to_string())
    }
}

impl Loose<'_> for Option<bool> {
    fn absent() -> Self {
        None
    }

    fn flag(flag: bool) -> Self {
        Some(flag)
    }
}

/// An object read as `T` (whose fields are lenient themselves); any other value reads as
/// `T::default()`, as a JSON tree's missing keys did.
#[derive(Debug, Default)]
pub(super) struct Object<T>(pub(super) T);

impl<'de, T: Deserialize<'de> + Default> Loose<'de> for Object<T> {
    fn absent() -> Self {
        Object(T::default())
    }

    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor(PhantomData))
    }
}

/// An array of lenient objects; any other value reads as empty.
struct Array<T>(Vec<T>);

impl<'de, T: Deserialize<'de> + Default> Loose<'de> for Array<T> {
    fn absent() -> Self {
        Array(Vec::new())
    }

    fn array<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::new();
        while let Some(Object(item)) = seq.next_element::<Object<T>>()? {
            items.push(item);
        }
        Ok(Array(items))
    }
}

/// Hands every kind of JSON value to its [`Loose`] reading.
struct LooseVisitor<T>(PhantomData<T>);

impl<'de, T: Loose<'de>> Visitor<'de> for LooseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<T, E> {
        Ok(T::text(v))
    }

    fn visit_bool<E>(self, v: bool) -> Result<T, E> {
        Ok(T::flag(v))
    }

    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::absent())
    }

    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::absent())
    }

    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::absent())
    }

    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::absent())
    }

    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::absent())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::object(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::array(seq)
    }
}

/// A text field: a string, else absent.
pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(LooseVisitor(PhantomData))
}

/// A flag field: a boolean, else absent.
pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(LooseVisitor(PhantomData))
}

/// A list field: an array of lenient objects, else empty.
pub(super) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    d.deserialize_any(LooseVisitor::<Array<T>>(PhantomData))
        .map(|Array(items)| items)
}
