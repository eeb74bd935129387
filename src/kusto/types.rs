//! Kusto scalar column types and their aliases.
//!
//! Kusto accepts several spellings for the same column type (`int`/`int32`, `guid`/`uuid`, ...)
//! and reports each type under three different names depending on the surface: the CSL name in
//! commands, the CLR type in `.show ... schema as json`, and the .NET type name in the v1
//! `DataType` column field. Keeping all of them in one place stops the planner and the sandbox
//! from disagreeing about what a type is called.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Kusto scalar type, normalised from any of its accepted aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarType {
    /// `bool` (alias `boolean`).
    Bool,
    /// `datetime` (alias `date`).
    DateTime,
    /// `decimal`.
    Decimal,
    /// `dynamic` (JSON-like values).
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
    TimeSpan,
}

impl ScalarType {
    /// Every scalar type, in a stable order, for exhaustive tests and listings.
    pub const ALL: [ScalarType; 10] = [
        ScalarType::Bool,
        ScalarType::DateTime,
        ScalarType::Decimal,
        ScalarType::Dynamic,
        ScalarType::Guid,
        ScalarType::Int,
        ScalarType::Long,
        ScalarType::Real,
        ScalarType::String,
        ScalarType::TimeSpan,
    ];

    /// Parses a CSL type name or alias exactly as written in a command (type names are
    /// lowercase in Kusto); `None` for anything Kusto would reject.
    pub fn from_csl(name: &str) -> Option<Self> {
        Some(match name {
            "bool" | "boolean" => ScalarType::Bool,
            "datetime" | "date" => ScalarType::DateTime,
            "decimal" => ScalarType::Decimal,
            "dynamic" => ScalarType::Dynamic,
            "guid" | "uuid" | "uniqueid" => ScalarType::Guid,
            "int" | "int32" => ScalarType::Int,
            "long" | "int64" => ScalarType::Long,
            "real" | "double" => ScalarType::Real,
            "string" => ScalarType::String,
            "timespan" | "time" => ScalarType::TimeSpan,
            _ => return None,
        })
    }

    /// The canonical CSL name (`int`, `long`, ...), as shown in `CslType` and v1 `ColumnType`.
    pub fn csl_name(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::DateTime => "datetime",
            ScalarType::Decimal => "decimal",
            ScalarType::Dynamic => "dynamic",
            ScalarType::Guid => "guid",
            ScalarType::Int => "int",
            ScalarType::Long => "long",
            ScalarType::Real => "real",
            ScalarType::String => "string",
            ScalarType::TimeSpan => "timespan",
        }
    }

    /// The CLR type name used in `.show database schema as json` (`Type` field).
    pub fn clr_type(self) -> &'static str {
        match self {
            ScalarType::Bool => "System.SByte",
            ScalarType::DateTime => "System.DateTime",
            ScalarType::Decimal => "System.Data.SqlTypes.SqlDecimal",
            ScalarType::Dynamic => "System.Object",
            ScalarType::Guid => "System.Guid",
            ScalarType::Int => "System.Int32",
            ScalarType::Long => "System.Int64",
            ScalarType::Real => "System.Double",
            ScalarType::String => "System.String",
            ScalarType::TimeSpan => "System.TimeSpan",
        }
    }

    /// The .NET type name used in the v1 response `DataType` column field.
    pub fn v1_data_type(self) -> &'static str {
        match self {
            ScalarType::Bool => "Boolean",
            ScalarType::DateTime => "DateTime",
            ScalarType::Decimal => "Decimal",
            ScalarType::Dynamic => "Object",
            ScalarType::Guid => "Guid",
            ScalarType::Int => "Int32",
            ScalarType::Long => "Int64",
            ScalarType::Real => "Double",
            ScalarType::String => "String",
            ScalarType::TimeSpan => "TimeSpan",
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.csl_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_normalise_to_one_type() {
        let cases = [
            ("int", ScalarType::Int),
            ("int32", ScalarType::Int),
            ("long", ScalarType::Long),
            ("int64", ScalarType::Long),
            ("real", ScalarType::Real),
            ("double", ScalarType::Real),
            ("bool", ScalarType::Bool),
            ("boolean", ScalarType::Bool),
            ("datetime", ScalarType::DateTime),
            ("date", ScalarType::DateTime),
            ("guid", ScalarType::Guid),
            ("uuid", ScalarType::Guid),
            ("uniqueid", ScalarType::Guid),
            ("timespan", ScalarType::TimeSpan),
            ("time", ScalarType::TimeSpan),
            ("string", ScalarType::String),
            ("dynamic", ScalarType::Dynamic),
            ("decimal", ScalarType::Decimal),
        ];
        for (alias, expected) in cases {
            assert_eq!(ScalarType::from_csl(alias), Some(expected), "{alias}");
        }
    }

    #[test]
    fn unknown_and_miscased_names_are_rejected() {
        for bad in ["Int", "integer", "float", "str", ""] {
            assert_eq!(ScalarType::from_csl(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_names_round_trip() {
        for ty in ScalarType::ALL {
            assert_eq!(ScalarType::from_csl(ty.csl_name()), Some(ty));
        }
        assert_eq!(ScalarType::Int.clr_type(), "System.Int32");
        assert_eq!(ScalarType::Bool.v1_data_type(), "Boolean");
        assert_eq!(ScalarType::Long.v1_data_type(), "Int64");
    }
}
