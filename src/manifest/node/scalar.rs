//! Resolving a scalar's text to a typed value, as YAML 1.2's core schema does.
//!
//! Manifests are YAML 1.2: `yes`, `no`, `on` and `off` stay strings (a topic named `no` is a
//! name, not `false`), and so do numbers with a leading zero (`0123`, an identifier) or with
//! underscores (`1_000`). Quoted and block scalars are always strings. These are the rules
//! serde-saphyr applied with `strict_booleans`, `leading_zero_numbers_as_strings` and
//! `underscored_numbers_as_strings`, which the manifests were written against.

use granit_parser::{ScalarStyle, Tag};

use super::Value;

/// The namespace of the YAML tags (`!!str` resolves to `tag:yaml.org,2002:str`).
const YAML_TAGS: &str = "tag:yaml.org,2002:";

/// What an explicit tag asks for.
enum Wanted {
    /// No tag, or one kustoplan does not interpret (`!custom`): resolve as if untagged.
    Implicit,
    /// `!!str` or the non-specific `!`.
    Str,
    /// `!!null`.
    Null,
    /// `!!bool`.
    Bool,
    /// `!!int`.
    Int,
    /// `!!float`.
    Float,
    /// `!!binary`: base64 of UTF-8 text.
    Binary,
    /// A YAML type with no place in a manifest (`!!timestamp`).
    Unsupported,
}

fn wanted(tag: Option<&Tag>) -> Wanted {
    let Some(tag) = tag else {
        return Wanted::Implicit;
    };
    let name = match tag.suffix_in_namespace(YAML_TAGS) {
        Some(name) => name.into_owned(),
        None => match tag.suffix_in_namespace("!") {
            // `!` alone is the non-specific tag: "a string, whatever it looks like".
            Some(name) if name.is_empty() || name == "!" => return Wanted::Str,
            Some(name) => name.trim_start_matches('!').to_string(),
            None => return Wanted::Implicit,
        },
    };
    match name.as_str() {
        "str" => Wanted::Str,
        "null" => Wanted::Null,
        "bool" => Wanted::Bool,
        "int" => Wanted::Int,
        "float" => Wanted::Float,
        "binary" => Wanted::Binary,
        "timestamp" => Wanted::Unsupported,
        _ => Wanted::Implicit,
    }
}

/// The value of a scalar with its style and explicit tag; an error message for a scalar its
/// tag cannot describe (`!!int abc`) or a number that is not finite.
pub(super) fn resolve(
    text: std::borrow::Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, String> {
    let wanted = wanted(tag);
    if let Wanted::Implicit = wanted {
        return match style {
            ScalarStyle::Plain => plain(text),
            _ => Ok(Value::Str(text.into())),
        };
    }
    let trimmed = text.trim_matches([' ', '\t', '\r', '\n']);
    match wanted {
        Wanted::Implicit | Wanted::Str => Ok(Value::Str(text.into())),
        Wanted::Null => Ok(Value::Null),
        Wanted::Bool => core_bool(trimmed)
            .map(Value::Bool)
            .ok_or_else(|| format!("invalid boolean `{trimmed}` (expected true or false)")),
        Wanted::Int => integer(trimmed).ok_or_else(|| format!("invalid integer `{trimmed}`")),
        Wanted::Float => float(trimmed)?.ok_or_else(|| format!("invalid number `{trimmed}`")),
        Wanted::Binary => binary(&text).map(|s| Value::Str(s.into())),
        Wanted::Unsupported => Err(format!(
            "unsupported tag `{}`",
            tag.map(Tag::original).unwrap_or_default()
        )),
    }
}

/// An untagged plain scalar: null, boolean, integer, float, or else a string.
fn plain(text: std::borrow::Cow<'_, str>) -> Result<Value, String> {
    let t = text.as_ref();
    if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = core_bool(t) {
        return Ok(Value::Bool(b));
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let starts_numeric = unsigned
        .as_bytes()
        .first()
        .is_some_and(|c| c.is_ascii_digit() || *c == b'.');
    if !starts_numeric || leading_zero(t) || t.contains('_') {
        return Ok(Value::Str(text.into()));
    }
    if let Some(value) = integer(t) {
        return Ok(value);
    }
    // Short texts are held inline; a long one unescaped into a buffer keeps that buffer.
    Ok(float(t)?.unwrap_or_else(|| Value::Str(text.into())))
}

/// The text a `!!binary` scalar encodes (line breaks and blanks in the base64 are ignored).
fn binary(text: &str) -> Result<String, String> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| "invalid !!binary base64".to_string())?;
    String::from_utf8(bytes).map_err(|_| "!!binary value is not UTF-8 text".to_string())
}

fn core_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `0123`, `+01`, `-007`: a decimal with a redundant leading zero, kept as written.
fn leading_zero(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A decimal, `0x`, `0o` or `0b` integer with an optional sign. One that does not fit in 64 bits
/// becomes a float (as a JSON number would), a negative one beyond `i64::MIN` included.
fn integer(t: &str) -> Option<Value> {
    let (negative, rest) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = match rest.get(..2) {
        Some("0x" | "0X") => (16, &rest[2..]),
        Some("0o" | "0O") => (8, &rest[2..]),
        Some("0b" | "0B") => (2, &rest[2..]),
        _ if rest.len() > 1 && rest.starts_with('0') => return None,
        _ => (10, rest),
    };
    let magnitude = digits_value(digits, radix)?;
    let signed = if negative {
        0i128.checked_sub(i128::try_from(magnitude).ok()?)?
    } else {
        i128::try_from(magnitude).ok()?
    };
    Some(match i64::try_from(signed) {
        Ok(i) => Value::Int(i),
        // Beyond 64 bits: decimal spellings are numbers all the same, other radixes too large.
        Err(_) if radix == 10 => Value::Float(signed as f64),
        Err(_) if !negative && u64::try_from(signed).is_ok() => Value::Float(signed as f64),
        Err(_) => return None,
    })
}

/// Digits of one radix, with single underscores allowed between digits (`!!int 1_000`).
fn digits_value(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut seen = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let between =
                i > 0 && bytes[i - 1] != b'_' && bytes.get(i + 1).is_some_and(|n| *n != b'_');
            if !between {
                return None;
            }
            continue;
        }
        let digit = char::from(b).to_digit(radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
        seen = true;
    }
    seen.then_some(value)
}

/// A float, `Ok(None)` when the text is not one, an error when it is one that JSON cannot
/// carry (`.inf`, `.nan`, `1e999`).
fn float(t: &str) -> Result<Option<Value>, String> {
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let non_finite = matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    );
    // Rust also reads `inf`, `nan` and `infinity`, which YAML keeps as strings.
    let numeral = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    match t.parse::<f64>() {
        _ if non_finite => Err(format!(
            "non-finite number `{t}`: manifests take finite numbers only"
        )),
        Ok(f) if numeral && f.is_finite() => Ok(Some(Value::Float(f))),
        Ok(_) if numeral => Err(format!(
            "number `{t}` is too large: manifests take finite numbers only"
        )),
        _ => Ok(None),
    }
}
