use std::fmt;

/// A Kusto scalar column type in canonical form.
///
/// Kusto accepts several spellings for the same type (`int`/`int32`, `real`/`double`, ...) and
/// reports CLR names (`System.Int32`) in schema output; comparing this enum instead of strings is
/// what keeps aliases from showing up as false drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
        let by_kql = match t {
            "bool" | "boolean" => Some(ColumnType::Bool),
            "datetime" | "date" => Some(ColumnType::DateTime),
            "dynamic" => Some(ColumnType::Dynamic),
            "guid" | "uuid" | "uniqueid" => Some(ColumnType::Guid),
            "int" | "int32" => Some(ColumnType::Int),
            "long" | "int64" => Some(ColumnType::Long),
            "real" | "double" => Some(ColumnType::Real),
            "string" => Some(ColumnType::String),
            "timespan" | "time" => Some(ColumnType::Timespan),
            "decimal" => Some(ColumnType::Decimal),
            _ => None,
        };
        by_kql.or(match t {
            "System.Boolean" | "System.SByte" => Some(ColumnType::Bool),
            "System.DateTime" => Some(ColumnType::DateTime),
            "System.Object" => Some(ColumnType::Dynamic),
            "System.Guid" => Some(ColumnType::Guid),
            "System.Int32" => Some(ColumnType::Int),
            "System.Int64" => Some(ColumnType::Long),
            "System.Double" => Some(ColumnType::Real),
            "System.String" => Some(ColumnType::String),
            "System.TimeSpan" => Some(ColumnType::Timespan),
            "System.Data.SqlTypes.SqlDecimal" | "System.Decimal" => Some(ColumnType::Decimal),
            _ => None,
        })
    }

    /// The canonical KQL spelling, used in every command kustoplan emits.
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
}
