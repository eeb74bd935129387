//! Colour decisions, made once: `--color`, NO_COLOR, and whether stderr is a terminal.

use std::io::IsTerminal;

use super::ColorArg;

/// Whether output on stderr gets ANSI styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorChoice {
    /// Colour stderr.
    pub stderr: bool,
}

impl ColorChoice {
    /// `always`/`never` win; `auto` colours a terminal unless NO_COLOR is set (no-color.org).
    pub fn resolve(arg: ColorArg) -> ColorChoice {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr = match arg {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => !no_color && std::io::stderr().is_terminal(),
        };
        ColorChoice { stderr }
    }
}
