//! Colour decisions, made once: `--color`, NO_COLOR, and whether stderr is a terminal.

use std::io::IsTerminal;

use super::ColorArg;

/// Whether output on stdout and stderr gets ANSI styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorChoice {
    /// Colour stderr.
    pub stderr: bool,
    /// Colour stdout.
    pub stdout: bool,
}

impl ColorChoice {
    /// `always`/`never` win; `auto` colours a terminal unless NO_COLOR is set (no-color.org).
    pub fn resolve(arg: ColorArg) -> ColorChoice {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let pick = |is_tty: bool| match arg {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => !no_color && is_tty,
        };
        ColorChoice {
            stderr: pick(std::io::stderr().is_terminal()),
            stdout: pick(std::io::stdout().is_terminal()),
        }
    }
}
