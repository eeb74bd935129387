use std::fmt;

use serde::{Deserialize, Serialize};

/// A Kusto scalar column type in canonical form.
///
/// Kusto accepts several spellings for the same type (`int`/`int32`, `real`/`double`, ...) and
/// reports each type under three names depending on the surface: the KQL name in commands, the
/// CLR type in `.show ... schema as json` (`System.Int32`), and the .NET type name in the v1
/// `DataType` column field (`Int32`). Comparing this enum instead of strings is what keeps
/// aliases from showing up as false drift, and keeping every name here stops the planner and
/// the sandbox from disagreeing about what a type is called.
///
/// Serde writes the canonical KQL name (`int`, `timespan`, ...), as the sandbox persists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// `bool` (alias `boolean`).
    Bool,
    /// `datetime` (alias `date`).
    DateTime,
    /// `dynamic`: JSON-like property bags and arrays.
    Dynamic,
    /// `guid` (aliases `uuid`, `uniqueid`).
    Guid,
    /// `int` (alias `int32`).
    Int,
    /// `long` (alias `int64`).
    Long,
    /// `real` (alias `double`).
    Real,
    /// `string`.
    String,
    /// `timespan` (alias `time`).
    Timespan,
    /// `decimal`.
    Decimal,
}

/// Every KQL spelling of a type, canonical names first: one table for the parser, the
/// planner and the editor schema, so they cannot disagree on an alias.
const KQL_NAMES: [(&str, ColumnType); 18] = [
    ("bool", ColumnType::Bool),
    ("datetime", ColumnType::DateTime),
    ("dynamic", ColumnType::Dynamic),
    ("guid", ColumnType::Guid),
    ("int", ColumnType::Int),
    ("long", ColumnType::Long),
    ("real", ColumnType::Real),
    ("string", ColumnType::String),
    ("timespan", ColumnType::Timespan),
    ("decimal", ColumnType::Decimal),
    ("boolean", ColumnType::Bool),
    ("date", ColumnType::DateTime),
    ("uuid", ColumnType::Guid),
    ("uniqueid", ColumnType::Guid),
    ("int32", ColumnType::Int),
    ("int64", ColumnType::Long),
    ("double", ColumnType::Real),
    ("time", ColumnType::Timespan),
];

/// CLR names `.show ... schema` reports besides each type's own [`ColumnType::as_clr`].
const CLR_ALIASES: [(&str, ColumnType); 2] = [
    ("System.Boolean", ColumnType::Bool),
    ("System.Decimal", ColumnType::Decimal),
];

impl ColumnType {
    /// Every canonical type, in the order used by help texts.
    pub const ALL: [ColumnType; 10] = [
        ColumnType::Bool,
        ColumnType::DateTime,
        ColumnType::Dynamic,
        ColumnType::Guid,
        ColumnType::Int,
        ColumnType::Long,
        ColumnType::Real,
        ColumnType::String,
        ColumnType::Timespan,
        ColumnType::Decimal,
    ];

    /// Parses a KQL type name or alias, or a CLR type name as `.show ... schema` reports it.
    pub fn parse(text: &str) -> Option<ColumnType> {
        let t = text.trim();
        ColumnType::from_kql(t).or_else(|| {
            CLR_ALIASES
                .into_iter()
                .find(|(name, _)| *name == t)
                .map(|(_, ty)| ty)
                .or_else(|| ColumnType::ALL.into_iter().find(|ty| ty.as_clr() == t))
        })
    }

    /// Every spelling [`ColumnType::parse`] accepts once trimmed (KQL names, aliases and CLR
    /// names), so the editor schema can offer exactly what validation accepts.
    pub fn spellings() -> impl Iterator<Item = &'static str> {
        KQL_NAMES
            .iter()
            .map(|(name, _)| *name)
            .chain(ColumnType::ALL.iter().map(|ty| ty.as_clr()))
            .chain(CLR_ALIASES.iter().map(|(name, _)| *name))
    }

    /// Parses a KQL type name or alias exactly as written in a command (type names are
    /// lowercase in Kusto, and nothing around them is trimmed); `None` for anything Kusto
    /// would reject there, CLR names included.
    pub fn from_kql(name: &str) -> Option<ColumnType> {
        KQL_NAMES
            .into_iter()
            .find(|(kql, _)| *kql == name)
            .map(|(_, ty)| ty)
    }

    /// The canonical KQL spelling, used in every command kustoplan emits and in the
    /// `CslType` / v1 `ColumnType` fields Kusto reports.
    pub fn as_kql(self) -> &'static str {
        match self {
            ColumnType::Bool => "bool",
            ColumnType::DateTime => "datetime",
            ColumnType::Dynamic => "dynamic",
            ColumnType::Guid => "guid",
            ColumnType::Int => "int",
            ColumnType::Long => "long",
            ColumnType::Real => "real",
            ColumnType::String => "string",
            ColumnType::Timespan => "timespan",
            ColumnType::Decimal => "decimal",
        }
    }

    /// The CLR type name used in `.show database schema as json` (`Type` field).
    pub fn as_clr(self) -> &'static str {
        match self {
            ColumnType::Bool => "System.SByte",
            ColumnType::DateTime => "System.DateTime",
            ColumnType::Dynamic => "System.Object",
            ColumnType::Guid => "System.Guid",
            ColumnType::Int => "System.Int32",
            ColumnType::Long => "System.Int64",
            ColumnType::Real => "System.Double",
            ColumnType::String => "System.String",
            ColumnType::Timespan => "System.TimeSpan",
            ColumnType::Decimal => "System.Data.SqlTypes.SqlDecimal",
        }
    }

    /// The .NET type name used in the v1 response `DataType` column field.
    pub fn as_v1_data_type(self) -> &'static str {
        match self {
            ColumnType::Bool => "Boolean",
            ColumnType::DateTime => "DateTime",
            ColumnType::Dynamic => "Object",
            ColumnType::Guid => "Guid",
            ColumnType::Int => "Int32",
            ColumnType::Long => "Int64",
            ColumnType::Real => "Double",
            ColumnType::String => "String",
            ColumnType::Timespan => "TimeSpan",
            ColumnType::Decimal => "Decimal",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_kql())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_fold_to_one_type() {
        assert_eq!(ColumnType::parse("int32"), Some(ColumnType::Int));
        assert_eq!(ColumnType::parse("System.Int32"), Some(ColumnType::Int));
        assert_eq!(ColumnType::parse("double"), Some(ColumnType::Real));
        assert_eq!(ColumnType::parse("uniqueid"), Some(ColumnType::Guid));
        assert_eq!(ColumnType::parse("boolean"), Some(ColumnType::Bool));
        assert_eq!(ColumnType::parse("integer"), None);
        assert_eq!(ColumnType::parse("Int"), None);
    }

    #[test]
    fn canonical_names_round_trip() {
        for t in ColumnType::ALL {
            assert_eq!(ColumnType::parse(t.as_kql()), Some(t));
        }
    }

    #[test]
    fn kql_aliases_normalise_to_one_type() {
        let cases = [
            ("int", ColumnType::Int),
            ("int32", ColumnType::Int),
            ("long", ColumnType::Long),
            ("int64", ColumnType::Long),
            ("real", ColumnType::Real),
            ("double", ColumnType::Real),
            ("bool", ColumnType::Bool),
            ("boolean", ColumnType::Bool),
            ("datetime", ColumnType::DateTime),
            ("date", ColumnType::DateTime),
            ("guid", ColumnType::Guid),
            ("uuid", ColumnType::Guid),
            ("uniqueid", ColumnType::Guid),
            ("timespan", ColumnType::Timespan),
            ("time", ColumnType::Timespan),
            ("string", ColumnType::String),
            ("dynamic", ColumnType::Dynamic),
            ("decimal", ColumnType::Decimal),
        ];
        for (alias, expected) in cases {
            assert_eq!(ColumnType::from_kql(alias), Some(expected), "{alias}");
        }
    }

    #[test]
    fn unknown_and_miscased_kql_names_are_rejected() {
        for bad in ["Int", "integer", "float", "str", ""] {
            assert_eq!(ColumnType::from_kql(bad), None, "{bad}");
        }
        // Commands take KQL names only, as written.
        for bad in ["System.Int32", " int"] {
            assert_eq!(ColumnType::from_kql(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_surface_name_round_trips() {
        for ty in ColumnType::ALL {
            assert_eq!(ColumnType::from_kql(ty.as_kql()), Some(ty));
            assert_eq!(ColumnType::parse(ty.as_clr()), Some(ty));
        }
        assert_eq!(ColumnType::Int.as_clr(), "System.Int32");
        assert_eq!(ColumnType::Bool.as_v1_data_type(), "Boolean");
        assert_eq!(ColumnType::Long.as_v1_data_type(), "Int64");
    }

    #[test]
    fn serde_writes_the_kql_name() {
        for ty in ColumnType::ALL {
            let json = serde_json::to_string(&ty).expect("serialise");
            assert_eq!(json, format!("\"{}\"", ty.as_kql()));
            assert_eq!(
                serde_json::from_str::<ColumnType>(&json).expect("deserialise"),
                ty
            );
        }
    }
}
