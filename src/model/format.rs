use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a Kusto ingestion mapping; one kind serves several data formats.
///
/// Serde writes the variant name (`Csv`, `W3cLogFile`, ...), as the sandbox persists it; plans
/// and models that want the keyword use `as_kql` explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MappingKind {
    /// CSV mapping, also used by TSV, PSV, SCSV, SOHsv, TXT and RAW.
    Csv,
    /// JSON mapping, also used by MULTIJSON.
    Json,
    /// Avro mapping, for AVRO and APACHEAVRO.
    Avro,
    /// Parquet mapping.
    Parquet,
    /// ORC mapping.
    Orc,
    /// W3C log file mapping.
    W3cLogFile,
}

impl MappingKind {
    /// Every kind, in the order used by help texts.
    pub const ALL: [MappingKind; 6] = [
        MappingKind::Csv,
        MappingKind::Json,
        MappingKind::Avro,
        MappingKind::Parquet,
        MappingKind::Orc,
        MappingKind::W3cLogFile,
    ];

    /// Parses the kind keyword as Kusto commands and `.show ... mappings` spell it (any case),
    /// ignoring surrounding whitespace.
    pub fn parse(text: &str) -> Option<MappingKind> {
        MappingKind::from_keyword(text.trim())
    }

    /// Parses the kind keyword exactly as written in a command: any case (Kusto accepts `CSV`
    /// and `csv`), nothing trimmed.
    pub fn from_keyword(word: &str) -> Option<MappingKind> {
        MappingKind::ALL
            .into_iter()
            .find(|k| k.as_kql().eq_ignore_ascii_case(word))
    }

    /// The keyword used in `.create table T ingestion <kind> mapping`.
    pub fn as_kql(self) -> &'static str {
        match self {
            MappingKind::Csv => "csv",
            MappingKind::Json => "json",
            MappingKind::Avro => "avro",
            MappingKind::Parquet => "parquet",
            MappingKind::Orc => "orc",
            MappingKind::W3cLogFile => "w3clogfile",
        }
    }

    /// The name shown in the `Kind` column of mapping results (uppercase, as in the docs).
    pub fn display_name(self) -> &'static str {
        match self {
            MappingKind::Csv => "CSV",
            MappingKind::Json => "JSON",
            MappingKind::Avro => "AVRO",
            MappingKind::Parquet => "PARQUET",
            MappingKind::Orc => "ORC",
            MappingKind::W3cLogFile => "W3CLOGFILE",
        }
    }
}

impl fmt::Display for MappingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_kql())
    }
}

/// A data format a route can carry, as the Kusto sink connector names it in
/// `kusto.tables.topics.mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataFormat {
    name: &'static str,
    mapping_kind: MappingKind,
}

const FORMATS: [DataFormat; 15] = [
    DataFormat::new("csv", MappingKind::Csv),
    DataFormat::new("tsv", MappingKind::Csv),
    DataFormat::new("tsve", MappingKind::Csv),
    DataFormat::new("psv", MappingKind::Csv),
    DataFormat::new("scsv", MappingKind::Csv),
    DataFormat::new("sohsv", MappingKind::Csv),
    DataFormat::new("txt", MappingKind::Csv),
    DataFormat::new("raw", MappingKind::Csv),
    DataFormat::new("json", MappingKind::Json),
    DataFormat::new("multijson", MappingKind::Json),
    DataFormat::new("avro", MappingKind::Avro),
    DataFormat::new("apacheavro", MappingKind::Avro),
    DataFormat::new("parquet", MappingKind::Parquet),
    DataFormat::new("orc", MappingKind::Orc),
    DataFormat::new("w3clogfile", MappingKind::W3cLogFile),
];

impl DataFormat {
    const fn new(name: &'static str, mapping_kind: MappingKind) -> DataFormat {
        DataFormat { name, mapping_kind }
    }

    /// Parses a format name (any case), as Kusto and the sink accept it.
    pub fn parse(text: &str) -> Option<DataFormat> {
        FORMATS
            .into_iter()
            .find(|f| f.name.eq_ignore_ascii_case(text.trim()))
    }

    /// Every format name, for help texts.
    pub fn names() -> impl Iterator<Item = &'static str> {
        FORMATS.iter().map(|f| f.name)
    }

    /// The canonical lower-case name.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The only mapping kind Kusto accepts for data of this format.
    pub fn mapping_kind(self) -> MappingKind {
        self.mapping_kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_pick_their_mapping_kind() {
        let f = |s| DataFormat::parse(s).map(DataFormat::mapping_kind);
        assert_eq!(f("JSON"), Some(MappingKind::Json));
        assert_eq!(f("multijson"), Some(MappingKind::Json));
        assert_eq!(f("tsv"), Some(MappingKind::Csv));
        assert_eq!(f("apacheavro"), Some(MappingKind::Avro));
        assert_eq!(f("xml"), None);
        assert_eq!(
            MappingKind::parse("W3CLogFile"),
            Some(MappingKind::W3cLogFile)
        );
    }

    #[test]
    fn keywords_parse_in_any_case_and_round_trip() {
        for kind in MappingKind::ALL {
            assert_eq!(MappingKind::from_keyword(kind.as_kql()), Some(kind));
            assert_eq!(MappingKind::from_keyword(kind.display_name()), Some(kind));
            assert_eq!(MappingKind::parse(&format!(" {kind} ")), Some(kind));
        }
        assert_eq!(MappingKind::from_keyword("Json"), Some(MappingKind::Json));
        assert_eq!(MappingKind::from_keyword(" json"), None);
        assert_eq!(MappingKind::from_keyword("xml"), None);
        assert_eq!(MappingKind::Csv.display_name(), "CSV");
    }

    #[test]
    fn serde_writes_the_variant_name() {
        let json = serde_json::to_string(&MappingKind::W3cLogFile).expect("serialise");
        assert_eq!(json, r#""W3cLogFile""#);
        assert_eq!(
            serde_json::from_str::<MappingKind>(&json).expect("deserialise"),
            MappingKind::W3cLogFile
        );
    }
}
