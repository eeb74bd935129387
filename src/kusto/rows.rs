//! A v1 answer's primary table read one row at a time, straight from the body.
//!
//! The bulk reads of a database answer with tens of thousands of rows at 10,000 tables. Read
//! into a [`V1Response`] first, every cell became a `serde_json::Value` with its own text, and
//! all of them lived until the last row was read: about 18 MB and 80 ms of CPU for the four
//! answers of a no-change plan, while the typed manifests were still in memory. Here each row's
//! cells borrow from the body where the JSON has no escape, the row is handed to a
//! [`RowSink`] and dropped before the next one is read. The checks [`V1Response`] callers get
//! from the client hold here too: an in-band `{"Exceptions":[...]}` row or a top-level
//! `Exceptions` array makes the whole answer a [`RowsError::PartialFailure`], whatever the sink
//! built from the rows before it.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::v1::{V1Column, V1Response, V1Row};

/// A v1 answer not read yet: the body as the service sent it, or a response already built (the
/// in-process sandbox builds one, with no body).
#[derive(Debug, Clone)]
pub enum V1Answer {
    /// The HTTP body of a successful request.
    Body(bytes::Bytes),
    /// A response built in this process.
    Parsed(V1Response),
}

/// What reads the primary table of a [`V1Answer`]: told the columns once, then given each
/// value row. A row's cells may borrow from the body, so a sink keeps what it needs by copy.
pub trait RowSink {
    /// Why the sink could not use the rows; stops the reading.
    type Error;

    /// The primary table's columns, before its first row.
    fn columns(&mut self, columns: &[V1Column]) -> Result<(), Self::Error>;

    /// One value row, cells in column order (a row may be shorter or longer than the columns).
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), Self::Error>;
}

/// One cell of a value row: scalars as JSON has them, text borrowed from the body when it has
/// no escape, and the rare array or object (JSON some SDK paths send already parsed) whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number that fits an `i64`.
    Int(i64),
    /// A number past `i64::MAX` that fits a `u64`.
    UInt(u64),
    /// Any other number.
    Float(f64),
    /// A string.
    Text(Cow<'a, str>),
    /// An array or object.
    Nested(Cow<'a, Value>),
}

impl<'a> Cell<'a> {
    /// The cell of a built response, borrowing its text.
    pub fn of(value: &'a Value) -> Cell<'a> {
        match value {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Cell::Int(i),
                (None, Some(u), _) => Cell::UInt(u),
                (None, None, f) => Cell::Float(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => Cell::Text(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => Cell::Nested(Cow::Borrowed(value)),
        }
    }

    /// The text of a string cell.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The cell as a JSON value, for readers that take one.
    pub fn to_value(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Int(i) => Value::from(*i),
            Cell::UInt(u) => Value::from(*u),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::Text(text) => Value::String(text.to_string()),
            Cell::Nested(value) => value.as_ref().clone(),
        }
    }
}

/// Why the primary table of an answer could not be read.
#[derive(Debug)]
pub enum RowsError<E> {
    /// The body is not a v1 document.
    Invalid(serde_json::Error),
    /// The service failed part-way: the exception messages, in-band ones first, in document
    /// order, then the top-level ones (as [`V1Response::partial_failures`] orders them).
    PartialFailure(Vec<String>),
    /// The answer has no result table.
    NoTable,
    /// The sink refused a row or the columns.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for RowsError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowsError::Invalid(e) => write!(f, "not a v1 response: {e}"),
            RowsError::PartialFailure(exceptions) => {
                write!(f, "failed part-way: {}", exceptions.join("; "))
            }
            RowsError::NoTable => f.write_str("no result table"),
            RowsError::Sink(e) => e.fmt(f),
        }
    }
}

impl V1Answer {
    /// Reads the primary table into `sink`, row by row. An answer with a partial failure is an
    /// error even when every row reached the sink.
    pub fn read_primary<S: RowSink>(&self, sink: &mut S) -> Result<(), RowsError<S::Error>> {
        match self {
            V1Answer::Body(body) => read_body(body, sink),
            V1Answer::Parsed(response) => read_parsed(response, sink),
        }
    }
}

fn read_parsed<S: RowSink>(response: &V1Response, sink: &mut S) -> Result<(), RowsError<S::Error>> {
    let failures = response.partial_failures();
    if !failures.is_empty() {
        return Err(RowsError::PartialFailure(
            failures.into_iter().map(str::to_string).collect(),
        ));
    }
    let table = response.primary().ok_or(RowsError::NoTable)?;
    sink.columns(&table.columns).map_err(RowsError::Sink)?;
    let mut cells = Vec::new();
    for row in table.value_rows() {
        cells.clear();
        cells.extend(row.iter().map(Cell::of));
        sink.row(&cells).map_err(RowsError::Sink)?;
    }
    Ok(())
}

fn read_body<S: RowSink>(body: &[u8], sink: &mut S) -> Result<(), RowsError<S::Error>> {
    let mut reading = Reading {
        sink,
        tables: 0,
        in_band: Vec::new(),
        top_level: Vec::new(),
        refused: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    // Read to the end even after the sink refused a row: a partial failure reported after the
    // rows explains them, and is the answer's error as it is for a whole response.
    DocumentSeed(&mut reading)
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(RowsError::Invalid)?;
    let mut failures = reading.in_band;
    failures.append(&mut reading.top_level);
    if !failures.is_empty() {
        return Err(RowsError::PartialFailure(failures));
    }
    if let Some(e) = reading.refused {
        return Err(RowsError::Sink(e));
    }
    if reading.tables == 0 {
        return Err(RowsError::NoTable);
    }
    Ok(())
}

/// What a body's reading has met so far.
struct Reading<'s, S: RowSink> {
    sink: &'s mut S,
    /// Result tables seen; the first is the primary one.
    tables: usize,
    in_band: Vec<String>,
    top_level: Vec<String>,
    /// The sink's error, kept for [`read_body`] to report after the rest of the body is read
    /// for exceptions; no row reaches the sink after it.
    refused: Option<S::Error>,
}

impl<S: RowSink> Reading<'_, S> {
    /// Keeps the sink's error, the first one only.
    fn sink(&mut self, result: Result<(), S::Error>) {
        if let Err(e) = result {
            self.refused.get_or_insert(e);
        }
    }

    /// Whether rows still go to the sink.
    fn open(&self) -> bool {
        self.refused.is_none()
    }
}

/// `{"Tables":[...], "Exceptions":[...]}`, other fields skipped.
struct DocumentSeed<'r, 's, S: RowSink>(&'r mut Reading<'s, S>);

impl<'de, S: RowSink> DeserializeSeed<'de> for DocumentSeed<'_, '_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: RowSink> Visitor<'de> for DocumentSeed<'_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a v1 response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut tables_seen = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "Tables" => {
                    map.next_value_seed(TablesSeed(&mut *self.0))?;
                    tables_seen = true;
                }
                "Exceptions" => {
                    let exceptions: Vec<String> = map.next_value()?;
                    self.0.top_level.extend(exceptions);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if tables_seen {
            Ok(())
        } else {
            Err(de::Error::missing_field("Tables"))
        }
    }
}

/// The `Tables` array: the first table read into the sink, the others only for exceptions.
struct TablesSeed<'r, 's, S: RowSink>(&'r mut Reading<'s, S>);

impl<'de, S: RowSink> DeserializeSeed<'de> for TablesSeed<'_, '_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: RowSink> Visitor<'de> for TablesSeed<'_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of result tables")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let primary = self.0.tables == 0;
            let seed = TableSeed {
                reading: &mut *self.0,
                primary,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            self.0.tables += 1;
        }
    }
}

/// One result table. The primary one's columns go to the sink, then its rows; rows sent before
/// the columns (no service does) are kept until the columns come.
struct TableSeed<'r, 's, S: RowSink> {
    reading: &'r mut Reading<'s, S>,
    primary: bool,
}

impl<'de, S: RowSink> DeserializeSeed<'de> for TableSeed<'_, '_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: RowSink> Visitor<'de> for TableSeed<'_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a result table object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let reading = self.reading;
        let mut columns_seen = false;
        let mut early_rows: Option<Vec<V1Row>> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "Columns" if self.primary => {
                    let columns: Vec<V1Column> = map.next_value()?;
                    let told = reading.sink.columns(&columns);
                    reading.sink(told);
                    columns_seen = true;
                    if let Some(rows) = early_rows.take() {
                        let mut cells = Vec::new();
                        for row in &rows {
                            match row {
                                V1Row::Values(values) if reading.open() => {
                                    cells.clear();
                                    cells.extend(values.iter().map(Cell::of));
                                    let given = reading.sink.row(&cells);
                                    reading.sink(given);
                                }
                                V1Row::Values(_) => {}
                                V1Row::Exceptions { exceptions } => {
                                    reading.in_band.extend(exceptions.iter().cloned());
                                }
                            }
                        }
                    }
                }
                "Rows" if self.primary && !columns_seen => {
                    early_rows = Some(map.next_value()?);
                }
                "Rows" => map.next_value_seed(RowsSeed {
                    reading: &mut *reading,
                    to_sink: self.primary,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if self.primary && !columns_seen {
            return Err(de::Error::missing_field("Columns"));
        }
        Ok(())
    }
}

/// A table's `Rows`: value rows to the sink (the primary table's) or skipped, exception rows
/// kept.
struct RowsSeed<'r, 's, S: RowSink> {
    reading: &'r mut Reading<'s, S>,
    to_sink: bool,
}

impl<'de, S: RowSink> DeserializeSeed<'de> for RowsSeed<'_, '_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: RowSink> Visitor<'de> for RowsSeed<'_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // One buffer for every row's cells: a row costs no allocation unless a cell's text has
        // an escape.
        let mut cells: Vec<Cell<'de>> = Vec::new();
        loop {
            let keep = self.to_sink && self.reading.open();
            let seed = RowSeed {
                cells: &mut cells,
                keep,
            };
            match seq.next_element_seed(seed)? {
                None => return Ok(()),
                Some(RowRead::Values) if keep => {
                    let given = self.reading.sink.row(&cells);
                    self.reading.sink(given);
                }
                Some(RowRead::Values) => {}
                Some(RowRead::Exceptions(exceptions)) => self.reading.in_band.extend(exceptions),
            }
        }
    }
}

/// What one element of `Rows` was.
enum RowRead {
    /// A value row, its cells in the buffer (when kept).
    Values,
    /// `{"Exceptions":[...]}`.
    Exceptions(Vec<String>),
}

/// `{"Exceptions":[...]}`, other fields ignored.
#[derive(Deserialize)]
struct ExceptionsRow {
    #[serde(rename = "Exceptions")]
    exceptions: Vec<String>,
}

/// One row: an array of cells (into the buffer, when kept) or an exceptions object.
struct RowSeed<'c, 'de> {
    cells: &'c mut Vec<Cell<'de>>,
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, 'de> {
    type Value = RowRead;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RowRead, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = RowRead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row: an array of values or an {\"Exceptions\":[...]} object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RowRead, A::Error> {
        self.cells.clear();
        if self.keep {
            while let Some(cell) = seq.next_element::<Cell<'de>>()? {
                self.cells.push(cell);
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(RowRead::Values)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RowRead, A::Error> {
        let row = ExceptionsRow::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(RowRead::Exceptions(row.exceptions))
    }
}

impl<'de> Deserialize<'de> for Cell<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cell value")
    }

    fn visit_unit<E>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_none<E>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Cell<'de>, E> {
        Ok(Cell::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Cell<'de>, E> {
        Ok(Cell::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Cell<'de>, E> {
        Ok(i64::try_from(v).map_or(Cell::UInt(v), Cell::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Cell<'de>, E> {
        Ok(Cell::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cell<'de>, E> {
        Ok(Cell::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cell<'de>, E> {
        Ok(Cell::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Cell<'de>, E> {
        Ok(Cell::Text(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell<'de>, A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cell::Nested(Cow::Owned(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell<'de>, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Cell::Nested(Cow::Owned(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kusto::v1::V1Table;
    use crate::model::ColumnType;
    use proptest::prelude::*;
    use serde_json::json;
    use std::path::PathBuf;

    /// Keeps every row as JSON values, and whether each text cell borrowed from the body.
    #[derive(Debug, Default)]
    struct Collect {
        columns: Vec<V1Column>,
        rows: Vec<Vec<Value>>,
        borrowed: Vec<bool>,
        refuse_at: Option<usize>,
    }

    impl RowSink for Collect {
        type Error = String;

        fn columns(&mut self, columns: &[V1Column]) -> Result<(), String> {
            self.columns = columns.to_vec();
            Ok(())
        }

        fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), String> {
            if self.refuse_at == Some(self.rows.len()) {
                return Err(format!("row {} refused", self.rows.len()));
            }
            self.rows.push(cells.iter().map(Cell::to_value).collect());
            self.borrowed.extend(cells.iter().filter_map(|c| match c {
                Cell::Text(Cow::Borrowed(_)) => Some(true),
                Cell::Text(Cow::Owned(_)) => Some(false),
                _ => None,
            }));
            Ok(())
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kusto-v1")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    fn read(answer: &V1Answer) -> Result<Collect, RowsError<String>> {
        let mut sink = Collect::default();
        answer.read_primary(&mut sink).map(|()| sink)
    }

    /// The rows and columns [`V1Response`] gives for the same body.
    fn expected(body: &[u8]) -> (Vec<V1Column>, Vec<Vec<Value>>) {
        let response = V1Response::parse(body).expect("a v1 body");
        let table = response.primary().expect("a primary table");
        let rows = table.value_rows().map(<[Value]>::to_vec).collect();
        (table.columns.clone(), rows)
    }

    #[test]
    fn recorded_answers_read_as_the_whole_response_reads_them() {
        for name in [
            "go-success.json",
            "go-dataTypeOnly.json",
            "go-booleanInt.json",
            "python-versionshowcommandresult.json",
        ] {
            let body = fixture(name);
            let (columns, rows) = expected(&body);
            for answer in [
                V1Answer::Body(body.clone().into()),
                V1Answer::Parsed(V1Response::parse(&body).expect("parse")),
            ] {
                let read = read(&answer).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert_eq!(read.columns, columns, "{name}");
                assert_eq!(read.rows, rows, "{name}");
            }
        }
    }

    #[test]
    fn a_partial_failure_is_the_answer_whatever_the_rows_were() {
        let body = fixture("go-partialError.json");
        let whole = V1Response::parse(&body).expect("parse");
        let expected: Vec<String> = whole
            .partial_failures()
            .into_iter()
            .map(str::to_string)
            .collect();
        assert_eq!(expected.len(), 2);
        for answer in [V1Answer::Body(body.clone().into()), V1Answer::Parsed(whole)] {
            let Err(RowsError::PartialFailure(failures)) = read(&answer) else {
                panic!("expected a partial failure");
            };
            assert_eq!(failures, expected);
        }
        // In a later table and at the top, before the tables.
        let body = br#"{"Exceptions":["top"],"Tables":[
            {"TableName":"Table_0","Columns":[{"ColumnName":"a","DataType":"Int32"}],"Rows":[[1]]},
            {"TableName":"Table_1","Columns":[],"Rows":[[2,3],{"Exceptions":["late"]}]}]}"#;
        let Err(RowsError::PartialFailure(failures)) = read(&V1Answer::Body(body[..].into()))
        else {
            panic!("expected a partial failure");
        };
        assert_eq!(failures, ["late", "top"]);
        assert_eq!(
            RowsError::<String>::PartialFailure(failures).to_string(),
            "failed part-way: late; top"
        );
        // A sink that refused a row before the exceptions: the partial failure is the error.
        let mut sink = Collect {
            refuse_at: Some(0),
            ..Collect::default()
        };
        let result = V1Answer::Body(body[..].into()).read_primary(&mut sink);
        assert!(
            matches!(&result, Err(RowsError::PartialFailure(f)) if f == &["late", "top"]),
            "{result:?}"
        );
    }

    #[test]
    fn text_without_escapes_is_borrowed_from_the_body() {
        let body = br#"{"Tables":[{"TableName":"Table_0","Columns":[{"ColumnName":"a","DataType":"String"}],
            "Rows":[["plain"],["with \"quotes\""],[null]]}]}"#;
        let read = read(&V1Answer::Body(body[..].into())).expect("read");
        assert_eq!(
            read.rows,
            [
                vec![json!("plain")],
                vec![json!("with \"quotes\"")],
                vec![Value::Null]
            ]
        );
        assert_eq!(read.borrowed, [true, false]);
    }

    #[test]
    fn rows_before_columns_still_reach_the_sink_after_them() {
        let body = br#"{"Tables":[{"Rows":[["x",1],{"Exceptions":["boom"]}],"TableName":"Table_0",
            "Columns":[{"ColumnName":"a","DataType":"String"},{"ColumnName":"b","DataType":"Int32"}]}]}"#;
        let mut sink = Collect::default();
        let Err(RowsError::PartialFailure(failures)) =
            V1Answer::Body(body[..].into()).read_primary(&mut sink)
        else {
            panic!("expected a partial failure");
        };
        assert_eq!(failures, ["boom"]);
        assert_eq!(sink.columns.len(), 2);
        assert_eq!(sink.rows, [vec![json!("x"), json!(1)]]);
    }

    #[test]
    fn a_sink_error_a_bad_body_and_no_table_are_told_apart() {
        let body = br#"{"Tables":[{"TableName":"Table_0","Columns":[],"Rows":[[1],[2],[3]]}]}"#;
        let mut sink = Collect {
            refuse_at: Some(1),
            ..Collect::default()
        };
        let result = V1Answer::Body(body[..].into()).read_primary(&mut sink);
        assert!(
            matches!(&result, Err(RowsError::Sink(e)) if e == "row 1 refused"),
            "{result:?}"
        );
        assert_eq!(sink.rows, [vec![json!(1)]]);
        for bad in [
            &br#"{"Tables":[{"TableName":"T","Columns":[],"Rows":[1]}]}"#[..],
            br#"{"Tables":[{"TableName":"T","Columns":[],"Rows":[{"Other":1}]}]}"#,
            br#"{"Tables":[{"TableName":"T","Rows":[]}]}"#,
            br#"{"Exceptions":[]}"#,
            br#"{"Tables":[]} trailing"#,
            b"not json",
        ] {
            let result = read(&V1Answer::Body(bad.into()));
            assert!(matches!(result, Err(RowsError::Invalid(_))), "{result:?}");
        }
        let result = read(&V1Answer::Body(br#"{"Tables":[]}"#[..].into()));
        assert!(matches!(result, Err(RowsError::NoTable)), "{result:?}");
    }

    fn cell() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            prop::collection::vec(".{0,4}".prop_map(Value::String), 0..3).prop_map(Value::Array),
            (".{0,4}", any::<i32>()).prop_map(|(k, v)| json!({ k: v })),
        ]
    }

    proptest! {
        /// Any response the sandbox can write reads row by row as it reads whole.
        #[test]
        fn any_response_reads_as_the_whole_response_reads_it(
            rows in prop::collection::vec(prop::collection::vec(cell(), 0..4), 0..6),
            extra_table in any::<bool>(),
        ) {
            let mut primary = V1Table::new("Table_0", &[("a", ColumnType::String), ("b", ColumnType::Dynamic)]);
            for row in rows {
                primary.push(row);
            }
            let mut response = V1Response::single(primary);
            if extra_table {
                let mut other = V1Table::new("Table_1", &[("c", ColumnType::Long)]);
                other.push(vec![json!(7)]);
                response.tables.push(other);
            }
            let body = serde_json::to_vec(&response).expect("serialize");
            let (columns, rows) = expected(&body);
            let read = read(&V1Answer::Body(body.into())).expect("read");
            prop_assert_eq!(read.columns, columns);
            prop_assert_eq!(read.rows, rows);
        }
    }
}
