//! Escaping for the Markdown plan: names come from manifests and from the live systems (a table,
//! connector or topic named with `|`, `<`, backticks or newlines), and a pull-request comment must
//! show them as text, never let them end a table cell, a code span or fence, or open HTML.

/// An inline code span showing `text` literally: the backtick run is longer than any inside
/// `text`, padded with spaces when `text` starts or ends with a backtick. Line breaks become
/// spaces (a code span cannot hold one). In a table cell, use [`table_code`].
pub fn code_span(text: &str) -> String {
    let flat = one_line(text);
    let ticks = "`".repeat(longest_run(&flat, '`') + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') || flat.trim().is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{flat}{pad}{ticks}")
}

/// A code span inside a GFM table cell: as [`code_span`], with `|` escaped (GFM splits cells on
/// `|` even inside code spans; `\|` is how a table cell holds one).
pub fn table_code(text: &str) -> String {
    code_span(text).replace('|', "\\|")
}

/// Plain text inside a GFM table cell: Markdown punctuation and `|` backslash-escaped, `<` and
/// `&` as entities, so nothing becomes a link, emphasis, HTML or a new cell.
pub fn table_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text inside raw HTML (`<summary>`): `& < > " '` as entities, line breaks as `&#10;` (a blank
/// line would end the HTML block).
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block of `body` (ending with a newline or not) whose fence is longer than any
/// backtick run inside it, so a command holding ``` cannot close it early.
pub fn fenced(info: &str, body: &str) -> String {
    let fence = "`".repeat((longest_run(body, '`') + 1).max(3));
    let newline = if body.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{body}{newline}{fence}\n")
}

fn one_line(text: &str) -> String {
    text.replace("\r\n", " ").replace(['\n', '\r'], " ")
}

fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outlast_backticks_inside() {
        assert_eq!(code_span("kusto.db.table.T"), "`kusto.db.table.T`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(table_code("a|b"), "`a\\|b`");
        assert_eq!(code_span("a\nb"), "`a b`");
    }

    #[test]
    fn text_and_html_cannot_open_markup() {
        assert_eq!(
            table_text("create <img src=x> [l](u) a|b *e*"),
            "create &lt;img src=x&gt; \\[l\\](u) a\\|b \\*e\\*"
        );
        assert_eq!(
            html("<script>\"x\"\n\n</summary>"),
            "&lt;script&gt;&quot;x&quot;&#10;&#10;&lt;/summary&gt;"
        );
    }

    #[test]
    fn fences_outlast_fences_inside() {
        assert_eq!(
            fenced("kusto", ".create table T"),
            "```kusto\n.create table T\n```\n"
        );
        assert_eq!(
            fenced("kusto", "x ```` y\n"),
            "`````kusto\nx ```` y\n`````\n"
        );
    }
}
