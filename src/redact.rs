//! The one redaction rule for what kustoplan shows of its input: a literal secret written in a
//! manifest never appears in a diagnostic, whichever rule reported the problem and wherever on
//! the line it sits.
//!
//! Secrets are found two ways, and both feed the same masking: lexically (a `key: value` whose key
//! names a credential, so files that do not even parse are covered) and from the parsed documents
//! (every value under such a key after variable substitution, so block scalars and values that
//! came from `${var.X}` are covered). Source snippets get every secret span replaced by
//! [`REDACTED`]; messages and hints get every occurrence of a secret value replaced.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// What a secret's value is shown as.
pub const REDACTED: &str = "<redacted>";

/// `key: value` on one line (block or flow style); group 1 is the key, group 2 the value token.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\s{,\[-])["']?([A-Za-z0-9_.-]+)["']?[ \t]*:[ \t]+("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?|(?:\$\{[^}\n]*\}|[^\s,}\]#\[{])(?:\$\{[^}\n]*\}|[^,}\]#\n])*)"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// Whether a manifest key holds a credential whose value must never be shown: the keys the
/// manifest requires to be references, and the sink's `app_key`. A key ending in `_file` names
/// where a secret is (a path), not the secret.
pub fn is_secret_field(key: &str) -> bool {
    !key.ends_with("_file")
        && (!key.is_ascii() || may_name_a_secret(key))
        && (key == "app_key" || crate::model::connect::must_be_reference(key))
}

/// Words one of which every secret field's name contains, ASCII case aside (`app_key`, and
/// every pattern of [`crate::model::connect::must_be_reference`]).
const SECRET_HINTS: [&str; 7] = [
    "key",
    "password",
    "secret",
    "token",
    "credential",
    "jaas",
    "user.info",
];

/// Whether ASCII `text` contains a word of [`SECRET_HINTS`]: text without one holds no secret
/// field, and the regexes need not run on it (most lines and keys of a large stack).
///
/// One pass over the bytes, comparing ASCII case-insensitively in place: it runs on every
/// line and every key of the manifests, where lowering a copy of each and searching it once
/// per hint was a visible share of a large plan's time. The hints are ASCII, so a match never
/// starts inside a multi-byte character, as with the lowered copy.
fn may_name_a_secret(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|at| {
        let rest = &bytes[at..];
        let first = rest[0].to_ascii_lowercase();
        // The first letters of the hints: most bytes start none, and are passed at once.
        if !matches!(first, b'k' | b'p' | b's' | b't' | b'c' | b'j' | b'u') {
            return false;
        }
        SECRET_HINTS.iter().any(|hint| {
            let hint = hint.as_bytes();
            hint[0] == first
                && rest.len() >= hint.len()
                && rest[..hint.len()].eq_ignore_ascii_case(hint)
        })
    })
}

/// Byte ranges of the values of secret keys in a YAML text, found line by line without parsing
/// (so a file with a syntax error is covered too). Placeholders (`${file:...}`) are not secrets.
pub fn lexical_secrets(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        // Keys are ASCII here (the regex's `[A-Za-z0-9_.-]+`): a line without a hint has none.
        if !may_name_a_secret(line) {
            offset += line.len();
            continue;
        }
        for caps in KEY_VALUE.captures_iter(line) {
            let (Some(key), Some(value)) = (caps.get(1), caps.get(2)) else {
                continue;
            };
            // In block style, a plain value runs to the end of the line (or a ` #` comment):
            // `,`, `}` and `]` end it only inside a flow collection.
            let flow = line[..key.start()].contains(['{', '[']);
            let quoted = value.as_str().starts_with(['"', '\'']);
            let token = if flow || quoted {
                value.as_str()
            } else {
                let rest = &line[value.start()..];
                rest.find(" #")
                    .or_else(|| rest.find("\t#"))
                    .map_or(rest, |end| &rest[..end])
            }
            .trim_end();
            if !is_secret_field(key.as_str())
                || token.is_empty()
                || matches!(token, "|" | ">" | "|-" | ">-" | "|+" | ">+")
                || crate::model::connect::is_placeholder(token.trim_matches(['"', '\'']))
            {
                continue;
            }
            out.push(offset + value.start()..offset + value.start() + token.len());
        }
        offset += line.len();
    }
    out
}

/// The pieces of a secret value to look for in text: the value, and each line of a multi-line
/// value (a block scalar is shown line by line in a snippet).
pub fn fragments(value: &str) -> Vec<&str> {
    let mut out = vec![value.trim()];
    if value.contains('\n') {
        out.extend(value.lines().map(str::trim));
    }
    out.retain(|f| !f.is_empty());
    out
}

/// Where `needle` occurs in `text` as a whole token: not glued to a letter or digit on a side
/// where the needle itself starts or ends with one (a secret `a1` is not found in `data1`).
pub fn occurrences(text: &str, needle: &str) -> Vec<Range<usize>> {
    if needle.is_empty() {
        return Vec::new();
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let starts_word = needle.chars().next().is_some_and(word);
    let ends_word = needle.chars().next_back().is_some_and(word);
    text.match_indices(needle)
        .map(|(at, _)| at..at + needle.len())
        .filter(|r| {
            let before = text[..r.start].chars().next_back();
            let after = text[r.end..].chars().next();
            let glued_before = starts_word && before.is_some_and(word);
            let glued_after = ends_word && after.is_some_and(word);
            !glued_before && !glued_after
        })
        .collect()
}

/// `text` with every occurrence of every secret value replaced by [`REDACTED`].
pub fn redact_text<'a>(text: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let ranges: Vec<Range<usize>> = values
        .into_iter()
        .flat_map(fragments)
        .flat_map(|f| occurrences(text, f))
        .collect();
    mask(text, ranges).text
}

/// A text with some ranges replaced by [`REDACTED`], and how positions moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// The masked text.
    pub text: String,
    /// `(original range, start in the masked text)` of each replacement, in order.
    edits: Vec<(Range<usize>, usize)>,
}

impl Masked {
    /// Where an original byte range is in the masked text: a range touching a replaced secret
    /// grows to cover the whole [`REDACTED`] marker, never part of the secret.
    pub fn map(&self, range: Range<usize>) -> Range<usize> {
        let point = |pos: usize, end: bool| {
            let mut delta: isize = 0;
            for (orig, new_start) in &self.edits {
                if pos < orig.start || (end && pos == orig.start) {
                    break;
                }
                if pos < orig.end {
                    return if end {
                        new_start + REDACTED.len()
                    } else {
                        *new_start
                    };
                }
                delta = *new_start as isize + REDACTED.len() as isize - orig.end as isize;
            }
            pos.saturating_add_signed(delta)
        };
        let start = point(range.start, false);
        let end = point(range.end, true).max(start);
        start..end
    }
}

/// Replaces `ranges` of `text` (overlapping or not, in any order; ranges that do not fall on
/// character boundaries are widened to them) by [`REDACTED`].
pub fn mask(text: &str, mut ranges: Vec<Range<usize>>) -> Masked {
    ranges.retain(|r| r.start < r.end && r.end <= text.len());
    for r in &mut ranges {
        while !text.is_char_boundary(r.start) {
            r.start -= 1;
        }
        while !text.is_char_boundary(r.end) {
            r.end += 1;
        }
    }
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::with_capacity(merged.len());
    let mut at = 0;
    for r in merged {
        out.push_str(&text[at..r.start]);
        edits.push((r.clone(), out.len()));
        out.push_str(REDACTED);
        at = r.end;
    }
    out.push_str(&text[at..]);
    Masked { text: out, edits }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_scan_finds_secret_values_in_block_and_flow_style() {
        let text = "auth: {strategy: application, app_key: hunter2, bogus: 1}\n  password: \"p w\" # c\nurl: x\ntoken_file: /var/run/token\nclient_secret: ${file:/s:k}\napp_key: a,b}c#d # note\n";
        let found: Vec<&str> = lexical_secrets(text)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(found, ["hunter2", "\"p w\"", "a,b}c#d"]);
    }

    /// The hint words only skip the regexes: every key they skip is one the regexes reject.
    #[test]
    fn the_hint_words_cover_every_secret_field() {
        for key in [
            "app_key",
            "Password",
            "client_secret",
            "sasl.jaas.config",
            "SASL.JAAS.CONFIG",
            "ssl.private.key",
            "aad.auth.appkey",
            "my.app.key",
            "x.AccessKey",
            "ApiKey",
            "oauth.TOKEN",
            "credentials",
            "value.converter.basic.auth.user.info",
            "storage.sharedkey",
        ] {
            assert!(may_name_a_secret(key), "{key}");
            assert!(is_secret_field(key), "{key}");
        }
        // `key` is the manifest's converter of record keys, not a credential.
        for key in [
            "name",
            "topic",
            "aad.auth.authority",
            "token_file",
            "url",
            "key",
        ] {
            assert!(!is_secret_field(key), "{key}");
        }
        assert!(lexical_secrets("topic: t\nname: n\n").is_empty());
    }

    #[test]
    fn the_hint_scan_agrees_with_searching_a_lowered_copy() {
        let lowered = |text: &str| {
            let lower = text.to_ascii_lowercase();
            SECRET_HINTS.iter().any(|hint| lower.contains(hint))
        };
        for text in [
            "",
            "k",
            "ke",
            "KEY",
            "monkey",
            "  sasl.JAAS.config: x",
            "user.inf",
            "USER.INFO",
            "userinfo",
            "passwor",
            "a_PassWord_b",
            "créDENTIAL",
            "ſecret",
            "\u{212a}ey",
            "tokeN",
            "toke",
            "name: topic-1",
            "éé secret éé",
        ] {
            assert_eq!(may_name_a_secret(text), lowered(text), "{text}");
        }
    }

    #[test]
    fn masking_moves_positions_after_the_secret() {
        let text = "{app_key: hunter2, bogus: 1}";
        let secret = lexical_secrets(text);
        let masked = mask(text, secret);
        assert_eq!(masked.text, "{app_key: <redacted>, bogus: 1}");
        let bogus = text.find("bogus").expect("bogus");
        let moved = masked.map(bogus..bogus + 5);
        assert_eq!(&masked.text[moved], "bogus");
        let inside = text.find("nter").expect("inside");
        assert_eq!(&masked.text[masked.map(inside..inside + 2)], REDACTED);
        assert_eq!(&masked.text[masked.map(0..1)], "{");
    }

    #[test]
    fn values_are_replaced_as_whole_tokens() {
        assert_eq!(
            redact_text("found \"hunter2\" and hunter22", ["hunter2"]),
            "found \"<redacted>\" and hunter22"
        );
        assert_eq!(
            redact_text("line one\nline two", ["line one\n  line two\n"]),
            "<redacted>\n<redacted>"
        );
    }
}
