//! Reading ingested data: gzip bodies, and the `csv`, `json` and `multijson` formats, with the
//! documented error codes for data that cannot be read ("Ingestion behavior of invalid data"):
//! empty data is `BadRequest_NoRecordsOrWrongFormat`, malformed MultiJSON
//! `BadRequest_InvalidBlob`, CSV lines with different field counts
//! `Stream_WrongNumberOfFields`, an unclosed quote `Stream_ClosingQuoteMissing`; malformed
//! lines of the `json` format are skipped, as documented.

use std::io::Read;

use serde_json::Value;

use super::super::error::KustoError;

/// Largest uncompressed data one streaming request may carry ("The data size limitation per
/// ingestion request is 4MB").
pub const MAX_STREAM_BYTES: usize = 4 * 1024 * 1024;

/// The data formats the sandbox reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `csv`: comma-separated values, RFC 4180 quoting.
    Csv,
    /// `json`: one JSON object per line.
    Json,
    /// `multijson`: JSON objects (or arrays of objects) separated by whitespace.
    MultiJson,
}

/// Formats Kusto knows but the sandbox does not read (refused with a clear error).
const KNOWN_FORMATS: [&str; 14] = [
    "tsv",
    "tsve",
    "psv",
    "scsv",
    "sohsv",
    "txt",
    "raw",
    "avro",
    "apacheavro",
    "parquet",
    "orc",
    "w3clogfile",
    "singlejson",
    "azmonstream",
];

impl Format {
    /// Parses a format name as Kusto accepts it (any case).
    pub fn parse(name: &str) -> Result<Format, KustoError> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "multijson" => Ok(Format::MultiJson),
            other if KNOWN_FORMATS.contains(&other) => Err(KustoError::ingestion(
                "BadRequest_FormatNotSupported",
                format!(
                    "Format '{name}' is not supported by the kustoplan sandbox (it reads csv, json and multijson)."
                ),
            )),
            _ => Err(KustoError::ingestion(
                "BadRequest_FormatNotSupported",
                format!("'{name}' is not a known data format."),
            )),
        }
    }

    /// True for the formats whose mappings are CSV mappings (ordinals).
    pub fn is_csv(self) -> bool {
        self == Format::Csv
    }
}

/// Ungzips `body` when `gzip` is set, refusing data over [`MAX_STREAM_BYTES`] once
/// decompressed.
pub fn decode(body: &[u8], gzip: bool) -> Result<Vec<u8>, KustoError> {
    let too_large = || {
        KustoError::payload_too_large_detail(format!(
            "The streaming ingestion data is larger than {MAX_STREAM_BYTES} bytes once decompressed (the limit per request)."
        ))
    };
    if !gzip {
        if body.len() > MAX_STREAM_BYTES {
            return Err(too_large());
        }
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(MAX_STREAM_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            KustoError::ingestion(
                "BadRequest_InvalidBlob",
                format!("The request body is not valid gzip data: {e}."),
            )
        })?;
    if out.len() > MAX_STREAM_BYTES {
        return Err(too_large());
    }
    Ok(out)
}

/// The data as UTF-8 text, without a byte order mark.
pub fn text(data: &[u8]) -> Result<&str, KustoError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    std::str::from_utf8(data).map_err(|e| {
        KustoError::ingestion(
            "BadRequest_UnexpectedCharacterInInputStream",
            format!("The data is not valid UTF-8 text: {e}."),
        )
    })
}

fn no_records() -> KustoError {
    KustoError::ingestion(
        "BadRequest_NoRecordsOrWrongFormat",
        "The data is empty or does not match the ingestion format.",
    )
}

/// The records of `json` data: one object per non-blank line; other lines are skipped.
pub fn json_lines(text: &str) -> Result<Vec<Value>, KustoError> {
    let records: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect();
    if records.is_empty() {
        return Err(no_records());
    }
    Ok(records)
}

/// The records of `multijson` data: objects, or arrays of objects, separated by whitespace.
pub fn multi_json(text: &str) -> Result<Vec<Value>, KustoError> {
    let invalid = |why: String| {
        KustoError::ingestion(
            "BadRequest_InvalidBlob",
            format!("The MultiJSON data is invalid: {why}."),
        )
    };
    let mut records = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        match value.map_err(|e| invalid(e.to_string()))? {
            v @ Value::Object(_) => records.push(v),
            Value::Array(items) => {
                for item in items {
                    if !item.is_object() {
                        return Err(invalid(format!("array element {item} is not an object")));
                    }
                    records.push(item);
                }
            }
            other => return Err(invalid(format!("{other} is not an object"))),
        }
    }
    if records.is_empty() {
        return Err(no_records());
    }
    Ok(records)
}

/// The records of `csv` data (blank lines skipped); every record must have the same number of
/// fields.
pub fn csv(text: &str) -> Result<Vec<Vec<String>>, KustoError> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut chars = text.chars().peekable();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1usize;
    let mut at_field_start = true;
    let mut record_has_text = false;
    loop {
        let Some(c) = chars.next() else {
            if record_has_text {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            break;
        };
        match c {
            '"' if at_field_start => {
                record_has_text = true;
                loop {
                    match chars.next() {
                        None => {
                            return Err(KustoError::ingestion(
                                "Stream_ClosingQuoteMissing",
                                format!(
                                    "Invalid CSV format: the quoted field on line {line} has no closing quote."
                                ),
                            ));
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                at_field_start = false;
                if !matches!(chars.peek(), None | Some(',' | '\n' | '\r')) {
                    return Err(KustoError::ingestion(
                        "BadRequest_UnexpectedCharacterInInputStream",
                        format!("Invalid CSV format: text follows a closing quote on line {line}."),
                    ));
                }
            }
            ',' => {
                record_has_text = true;
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if record_has_text {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                record_has_text = false;
                at_field_start = true;
                line += 1;
            }
            c => {
                record_has_text = true;
                at_field_start = false;
                field.push(c);
            }
        }
    }
    let Some(first) = records.first() else {
        return Err(no_records());
    };
    let expected = first.len();
    if let Some((i, r)) = records
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != expected)
    {
        return Err(KustoError::ingestion(
            "Stream_WrongNumberOfFields",
            format!(
                "Inconsistent number of fields in the input records: record {} has {} fields, record 1 has {expected}.",
                i + 1,
                r.len()
            ),
        ));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    #[test]
    fn csv_quotes_blank_lines_and_field_counts() {
        let rows = csv("a,\"b,\"\"c\"\"\"\r\n\n\"multi\nline\",\n").expect("csv");
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b,\"c\"".to_string()],
                vec!["multi\nline".to_string(), String::new()],
            ]
        );
        assert_eq!(csv("x").expect("no newline"), vec![vec!["x".to_string()]]);
        let code = |text| csv(text).expect_err("bad csv").code;
        assert_eq!(code("a,b\nc\n"), "Stream_WrongNumberOfFields");
        assert_eq!(code("a,\"b\n"), "Stream_ClosingQuoteMissing");
        assert_eq!(
            code("\"a\"b,c"),
            "BadRequest_UnexpectedCharacterInInputStream"
        );
        assert_eq!(code("\n\n"), "BadRequest_NoRecordsOrWrongFormat");
    }

    #[test]
    fn json_lines_skip_malformed_lines_multijson_refuses_them() {
        assert_eq!(
            json_lines("{\"a\":1}\nnot json\n\n{\"a\":2}\n[1]").expect("json"),
            vec![json!({"a": 1}), json!({"a": 2})]
        );
        assert_eq!(
            json_lines("oops").expect_err("nothing").code,
            "BadRequest_NoRecordsOrWrongFormat"
        );
        assert_eq!(
            multi_json("{\"a\":1}\n[{\"a\":2},{\"a\":3}]\n{\n \"a\": 4\n}").expect("multi"),
            vec![
                json!({"a": 1}),
                json!({"a": 2}),
                json!({"a": 3}),
                json!({"a": 4})
            ]
        );
        assert_eq!(
            multi_json("{\"a\":1} {oops").expect_err("bad").code,
            "BadRequest_InvalidBlob"
        );
        assert_eq!(
            multi_json("[1]").expect_err("bad").code,
            "BadRequest_InvalidBlob"
        );
    }

    #[test]
    fn gzip_is_decoded_and_sizes_are_capped() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{\"a\":1}\n").expect("write");
        let gz = enc.finish().expect("finish");
        assert_eq!(decode(&gz, true).expect("gunzip"), b"{\"a\":1}\n");
        assert_eq!(decode(b"plain", false).expect("plain"), b"plain");
        assert_eq!(
            decode(b"not gzip", true).expect_err("bad").code,
            "BadRequest_InvalidBlob"
        );
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&vec![b'x'; MAX_STREAM_BYTES + 1])
            .expect("write");
        let bomb = enc.finish().expect("finish");
        assert_eq!(decode(&bomb, true).expect_err("too large").status, 413);
        assert_eq!(text(b"\xEF\xBB\xBFabc").expect("bom"), "abc");
        assert_eq!(
            Format::parse("MultiJSON").expect("format"),
            Format::MultiJson
        );
        assert_eq!(
            Format::parse("parquet").expect_err("unsupported").code,
            "BadRequest_FormatNotSupported"
        );
    }
}
