//! `Located<T>`: a manifest value together with where it was written.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use super::node::Loc;

/// The newtype-struct name through which the node deserializer hands out positions.
pub(crate) const LOCATED_TOKEN: &str = "$kustoplan::Located";

/// A value with the position it came from, so semantic checks that run long after parsing can
/// still point at file:line:column. Its JSON Schema is the schema of `T`: the wrapper is invisible
/// to users.
#[derive(Clone)]
pub struct Located<T> {
    /// Where the value was written.
    pub loc: Loc,
    /// The value itself.
    pub value: T,
}

impl<T> Located<T> {
    /// Wraps a value with a known position.
    pub fn new(loc: Loc, value: T) -> Located<T> {
        Located { loc, value }
    }
}

impl<T: Default> Default for Located<T> {
    /// A default value has no position; diagnostics about it point at the enclosing mapping.
    fn default() -> Self {
        Located::new(Loc::default(), T::default())
    }
}

impl<T> Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Located<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Located<T> {
    /// Positions do not take part in equality: two manifests that say the same thing are equal.
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_newtype_struct(LOCATED_TOKEN, LocatedVisitor(std::marker::PhantomData))
    }
}

struct LocatedVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LocatedVisitor<T> {
    type Value = Located<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a located value")
    }

    /// Any other deserializer (a saved plan, a test) gives the value without a position.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Located<T>, D::Error> {
        T::deserialize(d).map(|value| Located::new(Loc::default(), value))
    }

    /// The node deserializer sends `(file, line, column)` then the value.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Located<T>, A::Error> {
        let (file, line, column): (u32, u32, u32) = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let value = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok(Located::new(Loc { file, line, column }, value))
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
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
