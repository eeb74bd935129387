//! The document of `.show database DB schema as json`, serialised straight from the stored
//! state: building it as a `serde_json::Value` tree first (a map per table and per column) and
//! freeing it after was half of the sandbox's time answering a plan at 10,000 tables. Field
//! names and order are the service's (see `../shared/fixtures`).

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::super::state::{Column, Database, StoredFunction, StoredView, Table};

/// `{"Databases": {NAME: {...}}}`.
pub(super) struct DatabaseSchema<'a> {
    name: &'a str,
    db: &'a Database,
}

impl<'a> DatabaseSchema<'a> {
    /// The document of database `name`.
    pub(super) fn of(name: &'a str, db: &'a Database) -> Self {
        DatabaseSchema { name, db }
    }
}

impl Serialize for DatabaseSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut outer = serializer.serialize_map(Some(1))?;
        outer.serialize_entry("Databases", &Named(self.name, &DatabaseBody(self)))?;
        outer.end()
    }
}

/// A one-entry map `{name: value}`.
struct Named<'a, T>(&'a str, &'a T);

impl<T: Serialize> Serialize for Named<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

struct DatabaseBody<'a>(&'a DatabaseSchema<'a>);

impl Serialize for DatabaseBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let DatabaseSchema { name, db } = self.0;
        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("Name", name)?;
        map.serialize_entry(
            "Tables",
            &by_name(db.tables.values(), |t| (t.name.as_str(), TableSchema(t))),
        )?;
        map.serialize_entry("ExternalTables", &Empty)?;
        map.serialize_entry(
            "MaterializedViews",
            &by_name(db.materialized_views.values(), |v| {
                (v.name.as_str(), ViewSchema(v))
            }),
        )?;
        map.serialize_entry("PrettyName", &None::<&str>)?;
        map.serialize_entry("MajorVersion", &1)?;
        map.serialize_entry("MinorVersion", &db.minor_version)?;
        map.serialize_entry(
            "Functions",
            &by_name(db.functions.values(), |f| {
                (f.name.as_str(), FunctionSchema(f))
            }),
        )?;
        map.serialize_entry("DatabaseAccessMode", "ReadWrite")?;
        map.end()
    }
}

/// `{}`.
struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

/// Objects keyed by their names, in the store's (sorted) order: the function gives each one's
/// name and what to write for it.
struct ByName<I, F>(I, F);

/// [`ByName`], with the bound that lets the closures' types be inferred.
fn by_name<'a, I, F, T, V>(items: I, name_and_value: F) -> ByName<I, F>
where
    I: Iterator<Item = T> + Clone,
    F: Fn(T) -> (&'a str, V),
{
    ByName(items, name_and_value)
}

impl<'a, I, F, T, V> Serialize for ByName<I, F>
where
    I: Iterator<Item = T> + Clone,
    F: Fn(T) -> (&'a str, V),
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for item in self.0.clone() {
            let (name, value) = (self.1)(item);
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

struct TableSchema<'a>(&'a Table);

impl Serialize for TableSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("Name", &t.name)?;
        map.serialize_entry("OrderedColumns", &Columns(&t.columns))?;
        map.serialize_entry("EntityType", "Table")?;
        map.serialize_entry("Folder", &t.folder)?;
        map.serialize_entry("DocString", &t.docstring)?;
        map.end()
    }
}

/// A table's columns with their CLR and KQL type names.
pub(super) struct Columns<'a>(pub(super) &'a [Column]);

impl Serialize for Columns<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|c| ColumnSchema {
            name: &c.name,
            ty: c.ty.as_clr(),
            csl: c.ty.as_kql(),
        }))
    }
}

#[derive(Serialize)]
struct ColumnSchema<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Type")]
    ty: &'a str,
    #[serde(rename = "CslType")]
    csl: &'a str,
}

struct FunctionSchema<'a>(&'a StoredFunction);

impl Serialize for FunctionSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("Name", &f.name)?;
        map.serialize_entry("InputParameters", &Parameters(&f.parameters))?;
        map.serialize_entry("Body", &f.body)?;
        map.serialize_entry("Folder", &f.folder)?;
        map.serialize_entry("DocString", &f.docstring)?;
        map.serialize_entry("FunctionKind", "Unknown")?;
        map.serialize_entry("OutputColumns", &[(); 0])?;
        map.end()
    }
}

/// A function's scalar parameters, typed (tabular ones, which the sandbox does not store,
/// would carry `Columns`).
struct Parameters<'a>(&'a [(String, crate::model::ColumnType)]);

impl Serialize for Parameters<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(name, ty)| ParameterSchema {
            name,
            ty: ty.as_clr(),
            csl: ty.as_kql(),
            default: None,
        }))
    }
}

#[derive(Serialize)]
struct ParameterSchema<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "Type")]
    ty: &'a str,
    #[serde(rename = "CslType")]
    csl: &'a str,
    #[serde(rename = "CslDefaultValue")]
    default: Option<&'a str>,
}

struct ViewSchema<'a>(&'a StoredView);

impl Serialize for ViewSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("Name", &v.name)?;
        map.serialize_entry("SourceTable", &v.source)?;
        map.serialize_entry("Query", &v.query)?;
        map.serialize_entry("Folder", &v.folder)?;
        map.serialize_entry("DocString", &v.docstring)?;
        map.serialize_entry("AutoUpdateSchema", &v.auto_update_schema)?;
        map.serialize_entry("Lookback", &v.lookback)?;
        map.serialize_entry("EffectiveDateTime", &v.effective_date_time)?;
        map.serialize_entry("OrderedColumns", &[(); 0])?;
        map.end()
    }
}
