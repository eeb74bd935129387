//! Words and colours every renderer shares (plans, status, verify, apply reports), so the same
//! thing reads and looks the same wherever it is printed. Whether to colour is decided once by
//! the caller (`cli::output`: `--color`, NO_COLOR, a terminal); these only apply the decision.

/// The ANSI styles kustoplan's output uses, each with one meaning: green for what is created
/// or healthy, yellow for what changes or waits, red for what is lost or failed, dim for what
/// did not run, bold for headings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Created, verified, running.
    Green,
    /// Changed, degraded, unknown.
    Yellow,
    /// Deleted, failed, refused.
    Red,
    /// Headings and totals.
    Bold,
    /// Not run, context.
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Green => "\x1b[32m",
            Style::Yellow => "\x1b[33m",
            Style::Red => "\x1b[31m",
            Style::Bold => "\x1b[1m",
            Style::Dim => "\x1b[2m",
        }
    }
}

/// `text` in `style` when `color`, else `text` unchanged (no escape codes in files, pipes or
/// under NO_COLOR).
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}\x1b[0m", style.code())
    } else {
        text.to_string()
    }
}

/// `one` when `n` is 1, `many` otherwise (`plural(n, "table", "tables")`,
/// `plural(n, "", "s")`).
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_only_when_asked_and_plural_by_count() {
        assert_eq!(paint(false, Style::Red, "x"), "x");
        assert_eq!(paint(true, Style::Red, "x"), "\x1b[31mx\x1b[0m");
        assert_eq!(paint(true, Style::Dim, "x"), "\x1b[2mx\x1b[0m");
        assert_eq!(plural(1, "table", "tables"), "table");
        assert_eq!(plural(0, "table", "tables"), "tables");
        assert_eq!(plural(2, "", "s"), "s");
    }
}
