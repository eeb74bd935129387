//! Quick readers for the shapes the service prints for every table, so that observing a
//! database of ten thousand tables does not run the full command grammar and build a JSON tree
//! for each of its rows and mappings.
//!
//! Each reader answers `None` for anything but the one plain shape it knows (other spacing,
//! bracketed names, escapes it does not decode, duplicate or unknown keys, values of another
//! type ...), and the caller then reads the input the general way: through
//! [`crate::kusto::command::parse`] and `serde_json::Value`. So a quick reader never decides
//! what is accepted or which error is reported; it only has to give the same result as the
//! general way where it answers, which the tests below check shape by shape.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::kusto::command::{Command, PolicyKind, PolicyTarget, PolicyValue, TableRef};
use crate::model::kusto::{Mapping, MappingColumn, canonical_property};
use crate::model::{BatchingPolicy, ColumnType, MappingKind, MappingProperties, Timespan};

/// The policies a schema script row may set that observe reads (see `is_read`).
const READ_POLICIES: [PolicyKind; 5] = [
    PolicyKind::IngestionBatching,
    PolicyKind::StreamingIngestion,
    PolicyKind::Retention,
    PolicyKind::Caching,
    PolicyKind::Update,
];

/// A table policy row as the service prints it: `.alter[-merge] table T policy P VALUE`, one
/// space between words, `T` a plain identifier, and `VALUE` one string literal, `enable` or
/// `disable`, `softdelete = N [recoverability = enabled|disabled]` or `hot = N`. The same
/// command [`crate::kusto::command::parse`] gives; `None` for any other row.
pub(super) fn policy_row(row: &str) -> Option<Command> {
    let (merge, rest) = match row.strip_prefix(".alter-merge table ") {
        Some(rest) => (true, rest),
        None => (false, row.strip_prefix(".alter table ")?),
    };
    let (table, rest) = rest.split_once(' ')?;
    if !is_plain_name(table) {
        return None;
    }
    let (keyword, value) = rest.strip_prefix("policy ")?.split_once(' ')?;
    let policy = READ_POLICIES.into_iter().find(|k| k.keyword() == keyword)?;
    Some(Command::AlterPolicy {
        target: PolicyTarget::Tables(vec![TableRef {
            database: None,
            table: table.to_string(),
        }]),
        policy,
        value: policy_value(policy, value.trim_end())?,
        merge,
    })
}

/// An identifier the lexer reads as one plain word: ASCII letters, digits and `_`, not
/// starting with a digit (a number), and without the `-` of GUIDs and hyphenated keywords.
fn is_plain_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The value of a [`policy_row`], in the forms the parser's `alter_policy` reads for `policy`.
fn policy_value(policy: PolicyKind, text: &str) -> Option<PolicyValue> {
    match policy {
        PolicyKind::StreamingIngestion if text == "enable" || text == "disable" => {
            Some(PolicyValue::Switch(text == "enable"))
        }
        PolicyKind::Retention if text.starts_with("softdelete") => {
            // `softdelete` starts the property form; any other spelling of it is not this shape.
            let rest = text.strip_prefix("softdelete = ")?;
            let (span, recoverable) = match rest.split_once(' ') {
                None => (rest, None),
                Some((span, "recoverability = enabled")) => (span, Some(true)),
                Some((span, "recoverability = disabled")) => (span, Some(false)),
                Some(_) => return None,
            };
            Some(PolicyValue::Retention {
                soft_delete: timespan(span)?,
                recoverable,
            })
        }
        PolicyKind::Caching if text.starts_with("hot") => {
            let hot = timespan(text.strip_prefix("hot = ")?)?;
            Some(PolicyValue::Caching {
                data: hot,
                index: hot,
                windows: Vec::new(),
            })
        }
        _ => string_literal(text).map(PolicyValue::Json),
    }
}

/// A timespan written as one number token (`90d`, `00`, `7h`): digits then ASCII letters,
/// digits or `_`, the whole of what the lexer takes as a number when no `.` follows.
fn timespan(word: &str) -> Option<Timespan> {
    let plain = word.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain { Timespan::parse(word) } else { None }
}

/// One string literal that is the whole of `text`: `'...'` or `"..."` with the lexer's
/// backslash escapes other than `\u`, or verbatim `@'...'` / `@"..."` with the quote doubled.
/// Decoded as the lexer decodes it; `None` for anything else, adjacent literals included.
fn string_literal(text: &str) -> Option<String> {
    let (verbatim, quoted) = match text.strip_prefix('@') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let quote = *quoted.as_bytes().first()?;
    if quote != b'\'' && quote != b'"' {
        return None;
    }
    let body = &quoted[1..];
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut at = 0;
    loop {
        // The bytes looked for are ASCII, so every slice boundary is a character boundary.
        let special = bytes[at..]
            .iter()
            .position(|&b| b == quote || b == b'\n' || (b == b'\\' && !verbatim))?;
        let next = at + special;
        out.push_str(&body[at..next]);
        match bytes[next] {
            b'\n' => return None,
            b'\\' => {
                out.push(match bytes.get(next + 1)? {
                    b'\\' => '\\',
                    b'\'' => '\'',
                    b'"' => '"',
                    b'n' => '\n',
                    b't' => '\t',
                    b'r' => '\r',
                    b'0' => '\0',
                    _ => return None,
                });
                at = next + 2;
            }
            _ if verbatim && bytes.get(next + 1) == Some(&quote) => {
                out.push(char::from(quote));
                at = next + 2;
            }
            _ => return body[next + 1..].trim_start().is_empty().then_some(out),
        }
    }
}

/// A batching policy object with exactly the service's three fields, each at most once (any
/// key case, as the service reads them), times as text and counts as unsigned integers, `null`
/// meaning the default: the policy [`BatchingPolicy::from_json`] reads from the same JSON.
/// `None` for anything else, invalid JSON included.
pub(super) fn batching_policy(text: &str) -> Option<BatchingPolicy> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de.deserialize_map(BatchingFields).ok()?;
    de.end().ok()?;
    let d = BatchingPolicy::DEFAULTS;
    Some(BatchingPolicy {
        max_time: match fields.max_time {
            Some(text) => Timespan::parse(&text)?,
            None => d.max_time,
        },
        max_items: fields.max_items.unwrap_or(d.max_items),
        max_raw_size_mb: fields.max_raw_size_mb.unwrap_or(d.max_raw_size_mb),
    })
}

/// The fields of [`batching_policy`]'s object as written (`None`: absent or `null`).
#[derive(Default)]
struct BatchingFieldValues {
    max_time: Option<String>,
    max_items: Option<u64>,
    max_raw_size_mb: Option<u64>,
}

/// Reads [`BatchingFieldValues`], failing on a key it does not know or sees twice.
struct BatchingFields;

impl<'de> Visitor<'de> for BatchingFields {
    type Value = BatchingFieldValues;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batching policy object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BatchingFieldValues::default();
        let mut seen = [false; 3];
        while let Some(key) = map.next_key::<Text>()? {
            let slot = [
                "MaximumBatchingTimeSpan",
                "MaximumNumberOfItems",
                "MaximumRawDataSizeMB",
            ]
            .iter()
            .position(|k| k.eq_ignore_ascii_case(&key.0))
            .ok_or_else(|| de::Error::custom("unknown field"))?;
            if std::mem::replace(&mut seen[slot], true) {
                return Err(de::Error::custom("duplicate field"));
            }
            match slot {
                0 => out.max_time = map.next_value()?,
                1 => out.max_items = map.next_value()?,
                _ => out.max_raw_size_mb = map.next_value()?,
            }
        }
        Ok(out)
    }
}

/// A JSON string (an object key, a datatype) that is only looked at: borrowed from the input
/// when it has no escapes, so reading it allocates nothing.
struct Text<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// An ingestion mapping as the service lists it: an array of objects whose keys (any case,
/// each at most once) are `column` (text), `datatype` (text or `null`), `Properties` (an object
/// of text or `null` values, or `null`) and the legacy `Path`, `ConstValue`, `Transform`,
/// `Ordinal` and `Field` (text). The mapping [`Mapping::from_json`] reads from the same JSON;
/// `None` for anything else, an unknown datatype and invalid JSON included.
pub(super) fn mapping(kind: MappingKind, name: &str, text: &str) -> Option<Mapping> {
    let mut de = serde_json::Deserializer::from_str(text);
    let elements = de.deserialize_seq(MappingElements).ok()?;
    de.end().ok()?;
    // A vector of its own, exactly as long as the mapping: collected from `elements`, the
    // columns would be written in place into the elements' buffer, four times their size and
    // grown past the count, and keep it (about 1.5 KB per mapping, 15 MB at 10,000 tables).
    let mut columns = Vec::with_capacity(elements.len());
    for element in elements {
        columns.push(element.into_column()?);
    }
    Some(Mapping {
        kind,
        name: name.to_string(),
        columns,
    })
}

/// The legacy top-level property keys, in the order [`Mapping::from_json`] applies them.
const LEGACY_KEYS: [&str; 5] = ["Path", "ConstValue", "Transform", "Ordinal", "Field"];

/// One element of [`mapping`] as written.
#[derive(Default)]
struct MappingElement<'de> {
    column: Option<String>,
    datatype: Option<Text<'de>>,
    /// `Properties`, keys already in canonical spelling.
    properties: MappingProperties,
    /// The legacy keys' values, by their index in [`LEGACY_KEYS`].
    legacy: [Option<String>; 5],
}

impl MappingElement<'_> {
    /// The column as [`Mapping::from_json`] makes it: `None` where it reports an error.
    fn into_column(self) -> Option<MappingColumn> {
        let datatype = match self.datatype.as_ref().map(|t| t.0.trim()) {
            None | Some("") => None,
            Some(t) => Some(ColumnType::parse(t)?),
        };
        let mut properties = self.properties;
        for (key, value) in LEGACY_KEYS.iter().zip(self.legacy) {
            if let Some(text) = value.filter(|t| !t.is_empty()) {
                properties.insert_if_absent((*key).to_string(), text);
            }
        }
        Some(MappingColumn {
            column: self.column?,
            datatype,
            properties,
        })
    }
}

/// Reads the array of [`MappingElement`]s.
struct MappingElements;

impl<'de> Visitor<'de> for MappingElements {
    type Value = Vec<MappingElement<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(element) = seq.next_element_seed(ElementSeed)? {
            out.push(element);
        }
        Ok(out)
    }
}

/// Reads one [`MappingElement`], failing on a key it does not know or sees twice.
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = MappingElement<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed {
    type Value = MappingElement<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping element")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = MappingElement::default();
        // column, datatype, Properties, then the legacy keys.
        let mut seen = [false; 8];
        while let Some(key) = map.next_key::<Text>()? {
            let slot = ["column", "datatype", "properties"]
                .iter()
                .chain(LEGACY_KEYS.iter())
                .position(|k| k.eq_ignore_ascii_case(&key.0))
                .ok_or_else(|| de::Error::custom("unknown key"))?;
            if std::mem::replace(&mut seen[slot], true) {
                return Err(de::Error::custom("duplicate key"));
            }
            match slot {
                0 => out.column = Some(map.next_value()?),
                1 => out.datatype = map.next_value()?,
                2 => out.properties = map.next_value_seed(PropertiesSeed)?,
                legacy => out.legacy[legacy - 3] = Some(map.next_value()?),
            }
        }
        Ok(out)
    }
}

/// Reads `Properties`: `null`, or an object of text or `null` values whose keys stay distinct
/// once spelled canonically; empty values are left out, as [`Mapping::from_json`] does.
struct PropertiesSeed;

impl<'de> DeserializeSeed<'de> for PropertiesSeed {
    type Value = MappingProperties;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed {
    type Value = MappingProperties;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mapping properties")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(MappingProperties::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = MappingProperties::new();
        // Keys whose value was empty: not kept, but a later spelling of one is a duplicate.
        let mut left_out = Vec::new();
        while let Some(key) = map.next_key::<Text>()? {
            let key = canonical_property(&key.0);
            if out.contains_key(&key) || left_out.contains(&key) {
                return Err(de::Error::custom("duplicate property"));
            }
            let value: Option<String> = map.next_value()?;
            match value.filter(|t| !t.is_empty()) {
                Some(text) => {
                    out.insert(key, text);
                }
                None => left_out.push(key),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kusto::command;
    use crate::kusto::observe::tests::REALISTIC_SCRIPT;
    use crate::sandbox::kusto::{Caller, KustoSandbox};
    use serde_json::Value;

    /// Rows of every shape observe may meet: the quick reader must read each one it answers
    /// for exactly as the grammar does (same command), and leave the rest to it.
    const ODD_ROWS: &[&str] = &[
        r#".alter table T policy ingestionbatching "{\"MaximumBatchingTimeSpan\":\"00:00:30\",\"MaximumNumberOfItems\":100,\"MaximumRawDataSizeMB\":256}""#,
        r#".alter table T policy ingestionbatching '{"MaximumBatchingTimeSpan":"00:00:30"}'"#,
        r#".alter table T policy ingestionbatching @'{"a":"it''s"}'"#,
        r#".alter table T policy ingestionbatching @"{""a"":1}""#,
        r#".alter table T policy ingestionbatching "tab\there\nand \\ \' \" \r \0 end""#,
        r#".alter table T policy ingestionbatching "\u0041""#,
        r#".alter table T policy ingestionbatching "\x""#,
        r#".alter table T policy ingestionbatching "a" "b""#,
        r#".alter table T policy ingestionbatching "a" // comment"#,
        ".alter table T policy ingestionbatching \"a\"   \t",
        ".alter table T policy ingestionbatching \"a\"\r\n",
        ".alter table T policy ingestionbatching \"a\nb\"",
        r#".alter table T policy ingestionbatching "unterminated"#,
        r#".alter table T policy ingestionbatching 'é ü 漢'"#,
        r#".alter table T policy ingestionbatching h'{}'"#,
        r#".alter table T policy ingestionbatching ```{}```"#,
        r#".alter table T policy ingestionbatching """#,
        r#".alter table T policy ingestionbatching "\""#,
        r#".alter  table T policy ingestionbatching '{}'"#,
        r#".alter table  T policy ingestionbatching '{}'"#,
        r#".alter table T  policy ingestionbatching '{}'"#,
        r#".alter table T policy  ingestionbatching '{}'"#,
        r#".alter table T policy ingestionbatching  '{}'"#,
        r#" .alter table T policy ingestionbatching '{}'"#,
        r#".alter	table T policy ingestionbatching '{}'"#,
        r#".alter table ['Raw Events'] policy ingestionbatching '{}'"#,
        r#".alter table db.T policy ingestionbatching '{}'"#,
        r#".alter table _x1 policy ingestionbatching '{}'"#,
        r#".alter table 1x policy ingestionbatching '{}'"#,
        r#".alter table policy policy ingestionbatching '{}'"#,
        r#".alter table table policy caching hot = 1d"#,
        r#".alter table datetime policy caching hot = 1d"#,
        r#".alter table abcdef01 policy caching hot = 1d"#,
        r#".alter table Tábla policy caching hot = 1d"#,
        r#".alter table T-1 policy caching hot = 1d"#,
        r#".alter tables (A, B) policy ingestionbatching '{}'"#,
        r#".alter database db policy ingestionbatching '{}'"#,
        r#".alter table T policy merge '{}'"#,
        r#".alter table T policy Caching hot = 1d"#,
        ".alter table T policy streamingingestion enable",
        ".alter table T policy streamingingestion disable",
        ".alter table T policy streamingingestion enabled",
        ".alter table T policy streamingingestion enable now",
        r#".alter table T policy streamingingestion '{"IsEnabled":true}'"#,
        ".alter table T policy streamingingestion",
        ".alter-merge table T policy retention softdelete = 90d recoverability = enabled",
        ".alter-merge table T policy retention softdelete = 90d recoverability = disabled",
        ".alter-merge table T policy retention softdelete = 90d",
        ".alter table T policy retention softdelete = 3650d recoverability = enabled",
        ".alter-merge table T policy retention softdelete = 90d recoverability = maybe",
        ".alter-merge table T policy retention softdelete = 90d recoverability=enabled",
        ".alter-merge table T policy retention softdelete=90d",
        ".alter-merge table T policy retention softdelete = 1.5d",
        ".alter-merge table T policy retention softdelete = 90x",
        ".alter-merge table T policy retention softdelete = 00:10:00",
        ".alter-merge table T policy retention softdelete = time(1.00:00:00)",
        ".alter-merge table T policy retention softdelete = 90d extra",
        ".alter-merge table T policy retention softdeleted = 90d",
        r#".alter-merge table T policy retention '{"SoftDeletePeriod":"1.00:00:00"}'"#,
        ".alter-merge table T policy retention softdelete = 12345678-1234-1234-1234-123456789012",
        ".alter table T policy caching hot = 7d",
        ".alter table T policy caching hot = 0d",
        ".alter table T policy caching hot = 100ms",
        ".alter table T policy caching hot = 7d, hot_window = datetime(2024-01-01) .. datetime(2024-02-01)",
        ".alter table T policy caching hotdata = 1d hotindex = 2d",
        ".alter table T policy caching hot=7d",
        ".alter table T policy caching hotter = 7d",
        ".alter table T policy caching hot = 7",
        r#".alter table T policy caching '{"DataHotSpan":{"Value":"1.00:00:00"}}'"#,
        r#".alter table T policy update "[{\"IsEnabled\":true,\"Source\":\"S\",\"Query\":\"S | take 1\",\"IsTransactional\":false}]""#,
        r#".alter-merge table T policy update '[]'"#,
        ".alter-merge table T (a:int)",
        ".alter table T docstring 'x'",
        ".add table T admins ('aaduser=a@x.com')",
        "",
        ".alter",
        ".alter table T policy",
        ".alter table T policy caching",
    ];

    fn sandbox_script() -> Vec<String> {
        let s = KustoSandbox::in_memory(&["db".to_string()]).expect("sandbox");
        let run = |csl: &str| {
            s.execute("db", csl, &Caller::cluster_admin("aaduser=me"))
                .unwrap_or_else(|e| panic!("{csl}: {e:?}"))
        };
        for csl in [
            ".create table T (A:int, B:string)",
            ".create table U (X:datetime)",
            r#".alter table T policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":5}'"#,
            r#".alter table U policy streamingingestion @'{"IsEnabled":true}'"#,
            ".alter-merge table T policy retention softdelete = 90d recoverability = disabled",
            ".alter-merge table U policy retention softdelete = 1d",
            ".alter table T policy caching hot = 7d",
            r#".alter table T policy update @'[{"IsEnabled":true,"Source":"U","Query":"U | project A = toint(1), B = \"x\"","IsTransactional":false}]'"#,
            r#".alter database db policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:01:00"}'"#,
            ".add table U ingestors ('aaduser=X@Y.com') 'n'",
        ] {
            run(csl);
        }
        let script = run(&crate::kusto::render::show_database_schema_script("db"));
        let table = script.primary().expect("a result");
        table
            .value_rows()
            .filter_map(|row| row.first().and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    #[test]
    fn policy_rows_read_like_the_grammar() {
        let sandbox = sandbox_script();
        let rows = REALISTIC_SCRIPT
            .iter()
            .copied()
            .chain(ODD_ROWS.iter().copied())
            .chain(sandbox.iter().map(String::as_str));
        let mut quick = 0;
        for row in rows {
            if let Some(read) = policy_row(row) {
                assert_eq!(command::parse(row), Ok(read), "{row}");
                quick += 1;
            }
        }
        assert!(quick >= 30, "{quick} rows read quickly");
    }

    #[test]
    fn the_shapes_the_service_prints_for_tables_are_read_quickly() {
        let sandbox = sandbox_script();
        let table_policies: Vec<&str> = sandbox
            .iter()
            .map(String::as_str)
            .filter(|row| {
                row.starts_with(".alter table ") || row.starts_with(".alter-merge table ")
            })
            .collect();
        assert!(table_policies.len() >= 5, "{table_policies:?}");
        for row in table_policies.into_iter().chain([
            r#".alter table GamePlay policy ingestionbatching @'{"MaximumBatchingTimeSpan":"00:00:10","MaximumNumberOfItems":5,"MaximumRawDataSizeMB":100}'"#,
            ".alter-merge table GamePlay policy retention softdelete = 365d recoverability = enabled",
            ".alter table GamePlay policy caching hot = 7d",
            ".alter table V policy streamingingestion disable",
        ]) {
            assert!(policy_row(row).is_some(), "{row}");
        }
    }

    /// Batching policy texts: the quick reader's answer, where it gives one, is the policy
    /// `BatchingPolicy::from_json` reads from the parsed text.
    const BATCHING: &[&str] = &[
        r#"{"MaximumBatchingTimeSpan":"00:00:30","MaximumNumberOfItems":100,"MaximumRawDataSizeMB":256}"#,
        r#"{"MaximumBatchingTimeSpan":"00:01:00"}"#,
        r#" { "maximumbatchingtimespan" : "00:00:10" , "MAXIMUMNUMBEROFITEMS" : 5 } "#,
        r#"{"MaximumBatchingTimeSpan":null,"MaximumNumberOfItems":null,"MaximumRawDataSizeMB":null}"#,
        r#"{}"#,
        "null",
        "[]",
        "",
        "{",
        r#"{"MaximumBatchingTimeSpan":"00:00:30"} x"#,
        r#"{"MaximumBatchingTimeSpan":"00:00:30","MaximumBatchingTimeSpan":"00:00:40"}"#,
        r#"{"MaximumBatchingTimeSpan":"00:00:30","maximumBatchingTimeSpan":"00:00:40"}"#,
        r#"{"MaximumBatchingTimeSpan":null,"maximumBatchingTimeSpan":"00:00:40"}"#,
        r#"{"MaximumNumberOfItems":"many"}"#,
        r#"{"MaximumNumberOfItems":5.0}"#,
        r#"{"MaximumNumberOfItems":-5}"#,
        r#"{"MaximumNumberOfItems":1e2}"#,
        r#"{"MaximumNumberOfItems":18446744073709551615}"#,
        r#"{"MaximumNumberOfItems":18446744073709551616}"#,
        r#"{"MaximumBatchingTimeSpan":10}"#,
        r#"{"MaximumBatchingTimeSpan":"ten"}"#,
        r#"{"MaximumBatchingTimeSpan":"1.00:00:00"}"#,
        r#"{"MaximumBatchingTimeSpan":"00:00:\u0031\u0030"}"#,
        r#"{"Maximum\u0042atchingTimeSpan":"00:00:10"}"#,
        r#"{"Other":1}"#,
        r#"{"MaximumBatchingTimeSpan":"00:00:30","Other":{"a":[1,2]}}"#,
    ];

    #[test]
    fn batching_policies_read_like_their_json_value() {
        let mut quick = 0;
        for text in BATCHING {
            let Some(read) = batching_policy(text) else {
                continue;
            };
            let value: Value = serde_json::from_str(text).expect(text);
            assert_eq!(BatchingPolicy::from_json(&value), Some(read), "{text}");
            quick += 1;
        }
        assert!(quick >= 6, "{quick}");
        assert!(batching_policy(BATCHING[0]).is_some());
    }

    /// Mapping texts: the quick reader's answer, where it gives one, is the mapping
    /// `Mapping::from_json` reads from the parsed text.
    const MAPPINGS: &[&str] = &[
        r#"[{"Properties":{"Path":"$.id"},"column":"Id","datatype":""},{"Properties":{"Path":"$.at"},"column":"At","datatype":""}]"#,
        r#"[{"column":"Id","Properties":{"Path":"$.id","Transform":"DateTimeFromUnixSeconds"},"datatype":"long"}]"#,
        r#"[{"column":"a","path":"$.a"},{"Column":"b","Path":"$.b","DataType":" int "}]"#,
        r#"[{"column":"a","Properties":{"path":"$.x"},"Path":"$.y"}]"#,
        r#"[{"column":"a","Properties":{"Ordinal":"0"},"ordinal":"1","ConstValue":"","Field":"f"}]"#,
        r#"[{"column":"a","Properties":{"ConstantValue":"c","Custom":"k","Empty":"","Null":null}}]"#,
        r#"[{"column":"a","Properties":null,"datatype":null}]"#,
        r#"[{"column":"a","Properties":{"Path":"a","path":"b"}}]"#,
        r#"[{"column":"a","Properties":{"ConstValue":"a","ConstantValue":"b"}}]"#,
        r#"[{"column":"a","Properties":{"Ordinal":1}}]"#,
        r#"[{"column":"a","Properties":"text"}]"#,
        r#"[{"column":"a","transform":null}]"#,
        r#"[{"column":"a","Path":5}]"#,
        r#"[{"column":"a","datatype":5}]"#,
        r#"[{"column":"a","datatype":"nope"}]"#,
        r#"[{"column":5}]"#,
        r#"[{"datatype":"int"}]"#,
        r#"[{"column":"a","column":"b"}]"#,
        r#"[{"column":"a","Column":"b"}]"#,
        r#"[{"column":"a","extra":1}]"#,
        r#"[{"column":"a\u00e9","Properties":{"Pa\u0074h":"$.\u00e9"}}]"#,
        r#"[]"#,
        r#"[1]"#,
        r#"{}"#,
        "null",
        "",
        "[{\"column\":\"a\"}] trailing",
    ];

    #[test]
    fn mappings_read_like_their_json_value() {
        let mut quick = 0;
        for text in MAPPINGS {
            let Some(read) = mapping(MappingKind::Json, "m", text) else {
                continue;
            };
            let value: Value = serde_json::from_str(text).expect(text);
            assert_eq!(
                Mapping::from_json(MappingKind::Json, "m", &value),
                Ok(read),
                "{text}"
            );
            quick += 1;
        }
        assert!(quick >= 8, "{quick}");
        assert!(mapping(MappingKind::Json, "m", MAPPINGS[0]).is_some());
    }
}
